"""Generation, step by step: the prefill and the decode steps of a causal language model (or a
text encoder-decoder: the encoder once, then decoder steps), run through the model's own KV cache
on fake tensors.

Two analyses of a small wrapper that calls the model twice, as `generate` does:
- the prompt (PROMPT tokens, logits for the last position only, as `generate` computes them),
  then one decode step fed new token 1: the prefill's cost and `decode_first`'s (it attends to
  PROMPT + 1 positions);
- a prompt of PROMPT + NEW − 2 tokens, only to fill the cache, then one decode step: `decode_last`
  (it attends to PROMPT + NEW − 1 positions).
A decode step's cost is affine in its context (the attention grows by one position per step, the
rest is constant), so the NEW − 1 steps sum exactly to (NEW − 1) · first + (last − first) ·
(NEW − 1) / 2; the tests check the law against every step analysed one by one. A model that
attends through a sliding window shorter than the context is summed piecewise: affine below the
window, the step at the window analysed on its own, level past it.
The KV cache's bytes are those of the cache object's tensors in the same analyses.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import torch
from torch import nn

from netcost.analysis.fusion import Serving
from netcost.analysis.timing import Timing
from netcost.cost import Cost
from netcost.errors import ModelError, UnsupportedError, UsageError
from netcost.report import Report
from netcost.shown import ShownAsText

T = TypeVar("T")


@dataclass(frozen=True)
class Generation(ShownAsText):
    model: str
    prompt_tokens: int
    new_tokens: int
    batch: int
    prefill: Cost
    decode_first: Cost
    decode_last: Cost
    decode_total: Cost
    kv_cache_bytes_per_token: int | None  # per sequence
    kv_cache_bytes: int | None  # the whole batch's, when the last token has been fed
    params: int
    weight_bytes: int
    prefill_peak_bytes: int | None  # the prefill analysis's inference peak (weights included)
    notes: tuple[str, ...] = ()
    times: dict[str, float] = field(default_factory=dict)  # with a device: roofline seconds
    device: str | None = None
    active_params: int | None = None  # mixture of experts: per token, shared layers + top-k
    expert_bytes_touched: int | None = None  # by one decode step, under balanced routing
    encoder_decoder: bool = False  # the prompt is encoded once; the decoder's cache starts at 1
    kv_cache_bytes_first: int | None = None  # the batch's, after the first decode step
    kernels: str | None = None  # with a device: how its ops run ("eager" or "fused")
    weight_dtype: str | None = None  # quantised serving: matrix weights' width (None: model's)
    kv_dtype: str | None = None  # the KV cache's width (None: the model's)
    estimate: dict[str, float] = field(default_factory=dict)  # the calibrated estimate, as times
    estimate_source: str = ""  # what the estimate read
    estimate_missing: str = ""  # with a device and no estimate: why (its note among `notes`)
    #: with a device: bytes its kernels move as `kernels` run them (prefill, decode first, last
    #: and all steps); the rows' own bytes are the eager ops', each op its own kernel
    moved: dict[str, int] = field(default_factory=dict)
    #: with a device: the FLOPs its kernels count, the same keys (fused: causal attention over
    #: the pairs it computes; the floor a server's throughput cannot beat is read from these)
    kernel_flops: dict[str, int] = field(default_factory=dict)

    @property
    def serving_peak_bytes(self) -> int | None:
        """Weights, the prefill's activations and the KV cache grown to its end."""
        if self.prefill_peak_bytes is None or self.kv_cache_bytes is None:
            return None
        grown = self.kv_cache_bytes - (self.kv_cache_bytes_first or 0)
        return self.prefill_peak_bytes + max(grown, 0)

    @property
    def first_context(self) -> int:
        """Positions the first decode step attends to (an encoder-decoder's decoder: its start
        token and new token 1)."""
        return (1 if self.encoder_decoder else self.prompt_tokens) + 1

    @property
    def last_context(self) -> int:
        return self.first_context + self.new_tokens - 2

    def __repr__(self) -> str:
        return (
            f"<Generation {self.model} {self.prompt_tokens}:{self.new_tokens} × {self.batch}: "
            f"prefill {self.prefill.macs:,} MACs, decode {self.decode_total.macs:,} MACs>"
        )

    def to_dict(self) -> dict[str, Any]:
        def cost(c: Cost) -> dict[str, int]:
            return c.to_dict()

        return {
            "prompt_tokens": self.prompt_tokens,
            "new_tokens": self.new_tokens,
            "encoder_decoder": self.encoder_decoder,
            "batch": self.batch,
            "prefill": cost(self.prefill),
            "decode_total": cost(self.decode_total),
            "decode_first": cost(self.decode_first),
            "decode_last": cost(self.decode_last),
            "kv_cache_bytes_per_token": self.kv_cache_bytes_per_token,
            "kv_cache_bytes": self.kv_cache_bytes,
            "params": self.params,
            "active_params": self.active_params,
            "expert_bytes_touched_per_step": self.expert_bytes_touched,
            "serving_peak_bytes": self.serving_peak_bytes,
            "device": self.device,
            "kernels": self.kernels,
            "weight_dtype": self.weight_dtype,
            "kv_dtype": self.kv_dtype,
            "times_s": dict(self.times) or None,
            "estimate_s": dict(self.estimate) or None,
            "kernel_bytes": dict(self.moved) or None,
            "kernel_flops": dict(self.kernel_flops) or None,
            "notes": list(self.notes),
        }


#: id(_TwoCalls) -> (cache bytes after the prompt, after the step, and of a static cache's key
#: and value tensors alone) of its last forward
CACHE_BYTES: dict[int, tuple[int, int, int]] = {}


class _TwoCalls(nn.Module):
    """The model on a prompt, then on one new token through the cache the prompt filled. An
    encoder-decoder runs its encoder on the prompt and its decoder on `decoder_ids` first (the
    decoder's start token, for the prefill), then the decoder alone on the new token, through its
    self-attention cache and the cross-attention cache of the encoded prompt."""

    def __init__(self, lm: nn.Module, static_positions: int | None = None) -> None:
        super().__init__()
        self.lm = lm
        self.static_positions = static_positions  # a StaticCache of that many positions
        params = inspect.signature(lm.forward).parameters
        self.cache_name = "cache" if "cache" in params else "past_key_values"
        self.keep = {"logits_to_keep": 1} if "logits_to_keep" in params else {}
        self.seq2seq = bool(getattr(getattr(lm, "config", None), "is_encoder_decoder", False))

    def forward(
        self,
        input_ids: torch.Tensor,
        next_ids: torch.Tensor,
        decoder_ids: torch.Tensor | None = None,
    ) -> Any:
        if self.seq2seq:
            out = self.lm(input_ids=input_ids, decoder_input_ids=decoder_ids, use_cache=True)
            feed: dict[str, Any] = {
                "encoder_outputs": (out.encoder_last_hidden_state,),
                "decoder_input_ids": next_ids,
            }
        else:
            given = {}
            if self.static_positions is not None:
                from transformers import StaticCache

                lm: Any = self.lm  # a transformers model: its config
                given[self.cache_name] = StaticCache(
                    config=lm.config, max_cache_len=self.static_positions
                )
            out = self.lm(input_ids=input_ids, use_cache=True, **self.keep, **given)
            feed = {"input_ids": next_ids, **self.keep}
        cache = _cache_of(out)
        filled = _cache_bytes(cache)  # before the step updates the cache in place
        step = self.lm(use_cache=True, **{self.cache_name: cache}, **feed)
        # the cache's bytes after the prompt and after the step, kept outside the module (an
        # analysis leaves the module's attributes as they were)
        after = _cache_of(step)
        held = _cache_bytes(after, self.static_positions) if self.static_positions else 0
        CACHE_BYTES[id(self)] = (filled, _cache_bytes(after), held)
        return step.logits if hasattr(step, "logits") else step[0]

    def inputs(self, batch: int, prompt_tokens: int, fed: int) -> dict[str, torch.Tensor]:
        """An analysis's inputs: the cache holds `fed` positions when one more token is fed (a
        causal LM's prompt is those positions; an encoder-decoder's prompt is encoded apart)."""
        if self.seq2seq:
            return {
                "input_ids": _ids(batch, prompt_tokens),
                "decoder_ids": _ids(batch, fed),
                "next_ids": _ids(batch, 1),
            }
        return {"input_ids": _ids(batch, fed), "next_ids": _ids(batch, 1)}

    def start(self, prompt_tokens: int) -> int:
        """Positions the self-attention cache holds when the prefill has run: the prompt, or an
        encoder-decoder's decoder start token."""
        return 1 if self.seq2seq else prompt_tokens


def _cache_of(out: Any) -> Any:
    for name in ("cache", "past_key_values"):
        cache = getattr(out, name, None)
        if cache is not None:
            return cache
    raise ModelError("the model returned no cache with use_cache=True: not a causal LM")


def _cache_bytes(cache: Any, positions: int | None = None) -> int:
    """Bytes of every tensor a cache object holds (each storage once); with `positions`, only
    those of tensors that hold that many positions (dimension −2: keys and values)."""
    seen: set[int] = set()
    total = 0

    def walk(obj: Any, depth: int) -> None:
        nonlocal total
        if depth > 6 or obj is None:
            return
        if isinstance(obj, torch.Tensor):
            key = id(obj)
            if key not in seen and (
                positions is None or (obj.dim() >= 2 and obj.shape[-2] == positions)
            ):
                seen.add(key)
                total += obj.numel() * obj.element_size()
            return
        if isinstance(obj, (list, tuple)):
            for item in obj:
                walk(item, depth + 1)
        elif isinstance(obj, dict):
            for item in obj.values():
                walk(item, depth + 1)
        elif hasattr(obj, "__dict__") and not isinstance(obj, (nn.Module, type)):
            for item in vars(obj).values():
                walk(item, depth + 1)

    walk(cache, 0)
    return total


def _two_calls(report: Report) -> tuple[Cost, Cost]:
    calls = [m for m in report.modules if m.path == "lm"]
    if len(calls) != 2:
        raise ModelError("generation: the model did not run twice (prompt, then one token)")
    return calls[0].cost, calls[1].cost


def _ids(batch: int, length: int, device: str = "meta") -> torch.Tensor:
    return torch.zeros(batch, length, dtype=torch.int64, device=device)


def generate(
    model: nn.Module,
    prompt_tokens: int,
    new_tokens: int,
    batch: int = 1,
    *,
    device: str | None = None,
    name: str | None = None,
    static_cache: bool | None = None,
    kernels: str | None = None,
    weight_dtype: str | None = None,
    kv_dtype: str | None = None,
) -> Generation:
    """The cost of generating `new_tokens` after a `prompt_tokens` prompt, for `batch` sequences,
    through `model`'s own cache (a transformers causal LM or text encoder-decoder, or any module
    whose forward takes input_ids, use_cache and a cache and returns one). With `device`,
    roofline times. `static_cache` (default: the model's generation config says "static"): a
    causal LM's cache allocated for PROMPT + NEW − 1 positions up front (the last token is never
    fed), as `generate` allocates it;
    every step then attends over all of them, masked. `kernels`: "eager" or "fused" (the
    default on accelerators: attention fused, the cache written in place and read once, and a
    static cache's attention over its valid positions only; analysis/timing.py).
    `weight_dtype` ("bf16", "fp16", "fp8", "int8", "int4") and `kv_dtype` ("bf16", "fp16",
    "fp8"): quantised serving — every matrix product's weight and the KV cache stored at that
    width (the output head, embedding tables and norms stay at the model's: ModelOpt's, vLLM's
    and AWQ/GPTQ's recipes leave the head unquantised); fp8 weights
    run their products on fp8 units (W8A8), int8 and int4 ones at the activations' rate
    (weight-only); an fp8 cache's attention on fp8 units. The weights', the cache's and the
    serving peak's bytes follow, and with a device the fused view's times."""
    from netcost.api import analyze, output_head

    if prompt_tokens < 1 or new_tokens < 1 or batch < 1:
        raise UsageError("generation needs a prompt of 1 token or more, 1 new token or more")
    serving = _serving(weight_dtype, kv_dtype, device, kernels)
    if serving is not None:  # the wrapper below holds the model at "lm"
        serving = replace(serving, kept=tuple(f"lm.{p}" for p in output_head(model)))
    if static_cache is None:
        configured = getattr(
            getattr(model, "generation_config", None), "cache_implementation", None
        )
        static_cache = configured == "static"
    seq2seq = bool(getattr(getattr(model, "config", None), "is_encoder_decoder", False))
    if static_cache and seq2seq:
        raise UsageError("a static cache is costed for causal LMs only, not encoder-decoders")
    wrapper = _TwoCalls(model, prompt_tokens + new_tokens - 1 if static_cache else None)
    begin = wrapper.start(prompt_tokens)
    first_report = analyze(wrapper, wrapper.inputs(batch, prompt_tokens, begin))
    valid = (begin, begin + 1) if static_cache else None
    first_report = _timed(first_report, device, kernels, valid, serving)
    prefill, decode_first = _two_calls(first_report)
    first_bytes = last_bytes = CACHE_BYTES.pop(id(wrapper), None)
    last_report = first_report
    decode_last = decode_first
    if new_tokens > 2:
        fill = wrapper.inputs(batch, prompt_tokens, begin + new_tokens - 2)
        last_report = analyze(wrapper, fill)
        valid = (begin + new_tokens - 2, begin + new_tokens - 1) if static_cache else None
        last_report = _timed(last_report, device, kernels, valid, serving)
        _, decode_last = _two_calls(last_report)
        last_bytes = CACHE_BYTES.pop(id(wrapper), None)
    steps = new_tokens - 1
    total = _affine_sum(decode_first, decode_last, steps)
    notes: list[str] = []
    window = getattr(getattr(model, "config", None), "sliding_window", None)
    first_ctx, last_ctx = begin + 1, begin + new_tokens - 1
    if isinstance(window, int) and 0 < window <= last_ctx and steps > 1:
        total = _windowed_sum(wrapper, batch, prompt_tokens, window, first_ctx, last_ctx,
                              decode_first, decode_last, device)  # fmt: skip
        notes.append(
            f"sliding window of {window} positions: decode steps grow with the context up to "
            f"it and stay level past it; summed piecewise from steps analysed at "
            f"{window - 1} and {window} positions"
        )
    active, touched, expert_notes = _experts(model, batch, first_report)
    notes += expert_notes
    per_token, end = _kv_bytes(first_bytes, last_bytes, batch, new_tokens, notes)
    if static_cache and end is not None and first_bytes is not None:
        per_token = first_bytes[2] // batch // (prompt_tokens + new_tokens - 1)
        notes.append(
            f"static cache allocated for {prompt_tokens + new_tokens - 1} positions up front: its "
            "bytes do not grow, and every step attends over all of them (masked)"
        )
    times: dict[str, float] = {}
    estimate: dict[str, float] = {}
    missing = ""  # with a device and no estimate: why
    moved: dict[str, int] = {}
    kernel_flops: dict[str, int] = {}
    if device is not None:
        times = _times(first_report, last_report, steps, batch)
        moved = _kernel_sums(first_report, last_report, steps, "bytes_moved")
        kernel_flops = _kernel_sums(first_report, last_report, steps, "flops")
        if _timing(first_report).estimates and _timing(last_report).estimates:
            estimate = _times(first_report, last_report, steps, batch, estimate=True)
        elif _timing(first_report).estimate_missing:
            missing = _timing(first_report).estimate_missing
            notes.append(_timing(first_report).missing_note)
    memory = first_report.memory
    weight_bytes = first_report.total.param_bytes
    prefill_peak = memory.peak_bytes if memory is not None else None
    kv_first = first_bytes[1] if first_bytes else None
    if serving is not None:
        weight_bytes, prefill_peak, per_token, end, kv_first = _narrowed(
            model, first_report, serving, weight_bytes, prefill_peak, (per_token, end, kv_first),
            notes,
        )  # fmt: skip
    return Generation(
        model=name or type(model).__name__,
        prompt_tokens=prompt_tokens,
        new_tokens=new_tokens,
        batch=batch,
        prefill=prefill,
        decode_first=decode_first if steps else Cost(),
        decode_last=decode_last if steps else Cost(),
        decode_total=total,
        kv_cache_bytes_per_token=per_token,
        kv_cache_bytes=end,
        params=first_report.total.params,
        weight_bytes=weight_bytes,
        prefill_peak_bytes=prefill_peak,
        notes=tuple(notes),
        times=times,
        device=first_report.time.device.key if first_report.time is not None else None,
        active_params=active,
        expert_bytes_touched=touched,
        encoder_decoder=wrapper.seq2seq,
        kv_cache_bytes_first=kv_first,
        kernels=first_report.time.kernels if first_report.time is not None else None,
        weight_dtype=weight_dtype,
        kv_dtype=kv_dtype,
        estimate=estimate,
        estimate_source=first_report.time.estimate_source if first_report.time else "",
        estimate_missing=missing,
        moved=moved,
        kernel_flops=kernel_flops,
    )


def _serving(
    weight_dtype: str | None, kv_dtype: str | None, device: str | None, kernels: str | None
) -> Serving | None:
    """The quantised-serving widths, checked (one-line errors)."""
    from netcost.capture.precision import check_choice
    from netcost.devices import KV_DTYPES, WEIGHT_DTYPES

    if weight_dtype is None and kv_dtype is None:
        return None
    if weight_dtype is not None:
        check_choice("weight dtype", weight_dtype, WEIGHT_DTYPES)
    if kv_dtype is not None:
        check_choice("KV dtype", kv_dtype, KV_DTYPES)
    if device is not None and kernels == "eager":
        raise UsageError(
            "quantised serving is timed as engines run it: --kernels fused (the default)"
        )
    return Serving(weight_dtype, kv_dtype)


def _narrowed(
    model: nn.Module,
    report: Report,
    serving: Serving,
    weight_bytes: int,
    prefill_peak: int | None,
    kv: tuple[int | None, int | None, int | None],
    notes: list[str],
) -> tuple[int, int | None, int | None, int | None, int | None]:
    """Weights, the prefill's peak and the KV cache's bytes at the serving widths: each matrix
    product's weight (as the fused view finds them) at `serving.weight`'s width, the cache's
    bytes scaled by `serving.kv`'s width over the model's."""
    from netcost.analysis.fusion import WIDTHS, flat_ops, weight_specs
    from netcost.text import binary_size

    said = []
    change = 0
    if serving.weight:
        specs = weight_specs(flat_ops(report), report.aliases or {}, serving.kept).values()
        before = sum(t.numel * t.itemsize for t in specs)
        after = int(sum(t.numel for t in specs) * WIDTHS[serving.weight])
        change = after - before
        said.append(
            f"matrix weights at {serving.weight} ({binary_size(after)} of the "
            f"{binary_size(before)} they take at the model's width; "
            + ("products on fp8 units" if serving.weight == "fp8" else "weight-only: products at "
               "the activations' rate, dequantisation not counted" if serving.weight in
               ("int8", "int4") else "products at that dtype")
            + ")" + ("; the output head at the model's width" if serving.kept else "")
        )  # fmt: skip
    per_token, end, first = kv
    if serving.kv:
        width = WIDTHS[serving.kv]
        model_width = next(model.parameters()).element_size()
        scale = width / model_width

        def scaled(n: int | None) -> int | None:
            return None if n is None else int(n * scale)

        per_token, end, first = scaled(per_token), scaled(end), scaled(first)
        said.append(f"KV cache at {serving.kv} ({width:g} byte{'s' * (width != 1)} an element)")
    notes.append(
        "quantised serving: " + "; ".join(said) + "; the model itself ran at its own width"
    )
    peak = None if prefill_peak is None else prefill_peak + change
    return weight_bytes + change, peak, per_token, end, first


def _timed(
    report: Report,
    device: str | None,
    kernels: str | None,
    valid: tuple[int, int] | None,
    serving: Serving | None = None,
) -> Report:
    """The analysis timed on `device`; with a static cache, the (prompt, step) calls' valid key
    positions, so that the fused view attends over those only."""
    if device is None:
        if kernels is not None:
            raise UsageError("kernels= chooses how ops run on a device: give device= too")
        return report
    caps = None
    if valid is not None:
        calls = [m.index for m in report.modules if m.path == "lm"]
        caps = dict(zip(calls, valid, strict=False))
    return report.on(device, kernels=kernels, valid_keys=caps, serving=serving)


def _affine_sum(first: Cost, last: Cost, steps: int) -> Cost:
    """Σ over `steps` steps whose cost grows by the same amount each step, from first to last:
    steps · first + (last − first) · steps / 2 (exact: (last − first) is (steps − 1) · d)."""
    if steps <= 0:
        return Cost()

    def part(a: int, b: int) -> int:
        return steps * a + (b - a) * steps // 2

    return Cost(
        macs=part(first.macs, last.macs),
        flops=part(first.flops, last.flops),
        bytes_read=part(first.bytes_read, last.bytes_read),
        bytes_written=part(first.bytes_written, last.bytes_written),
    )


def _experts(
    model: nn.Module, batch: int, report: Report
) -> tuple[int | None, int | None, list[str]]:
    """Mixture of experts: active parameters, the expert weight bytes a decode step of `batch`
    tokens touches under balanced routing (min(E, batch · k) of each layer's E), and the note
    that says so; (None, None, []) for a dense model."""
    from netcost.capture.experts import find_experts
    from netcost.text import binary_size, count

    experts = find_experts(model)
    if experts is None or experts.top_k is None:
        return None, None, []
    itemsize = next(model.parameters()).element_size()
    every = sum(layer.params for layer in experts.layers) * itemsize
    used = (
        sum(
            layer.params // layer.experts * min(layer.experts, batch * experts.top_k)
            for layer in experts.layers
        )
        * itemsize
    )
    counts = "/".join(str(n) for n in sorted({layer.experts for layer in experts.layers}))
    active = report.total.active_params
    return (
        active,
        used,
        [
            f"mixture of experts (top-{experts.top_k} of {counts}): {count(active or 0)} of "
            f"{count(report.total.params)} parameters active per token; a decode step of {batch} "
            f"token{'s' * (batch != 1)} touches min(E, {batch}·{experts.top_k}) experts per layer "
            f"under balanced routing: {binary_size(used)} of the experts' {binary_size(every)} "
            "(the bytes moved above read these experts' weights only)"
        ],
    )


def _step_at(
    wrapper: _TwoCalls, batch: int, prompt_tokens: int, context: int, device: str | None
) -> Cost:
    """One decode step attending to `context` positions (a cache of context − 1, then one)."""
    from netcost.api import analyze

    report = analyze(wrapper, wrapper.inputs(batch, prompt_tokens, context - 1), device=device)
    CACHE_BYTES.pop(id(wrapper), None)
    return _two_calls(report)[1]


def _windowed_sum(
    wrapper: _TwoCalls,
    batch: int,
    prompt_tokens: int,
    window: int,
    first_ctx: int,
    last_ctx: int,
    first: Cost,
    last: Cost,
    device: str | None,
) -> Cost:
    """Steps at contexts first_ctx…last_ctx of a model attending through `window` positions:
    affine below the window, the step at the window itself on its own (its masks differ), level
    from there on."""
    if window <= first_ctx:
        return _affine_sum(first, first, last_ctx - first_ctx + 1)
    prompt = prompt_tokens
    below = (
        first if window - 1 == first_ctx else _step_at(wrapper, batch, prompt, window - 1, device)
    )
    at = last if window == last_ctx else _step_at(wrapper, batch, prompt, window, device)
    total = _affine_sum(first, below, window - first_ctx) if window - 1 >= first_ctx else Cost()
    level = last_ctx - window + 1
    return total + Cost(
        macs=at.macs * level,
        flops=at.flops * level,
        bytes_read=at.bytes_read * level,
        bytes_written=at.bytes_written * level,
    )


def _kv_bytes(
    first: tuple[int, int, int] | None,
    last: tuple[int, int, int] | None,
    batch: int,
    new_tokens: int,
    notes: list[str],
) -> tuple[int | None, int | None]:
    """Per sequence and token (the first step's growth), and at the end: the cache after the last
    step fed (PROMPT + NEW − 1 positions; the prompt's alone when NEW is 1), as the analyses'
    cache objects held them."""
    if first is None or last is None or not first[1]:
        notes.append("KV cache bytes not measured: the model's cache held no tensors")
        return None, None
    per_token = (first[1] - first[0]) // batch
    end = first[0] if new_tokens == 1 else last[1]
    return per_token, end


def _times(
    first: Report, last: Report, steps: int, batch: int, estimate: bool = False
) -> dict[str, float]:
    """Roofline seconds (or, with `estimate`, the calibrated estimate's): the prefill (time to
    first token), the first and last decode steps and the decode steps' sum (affine, as the
    costs), and tokens per second over the decode."""

    def at(report: Report, index: int) -> float:
        t = _timing(report)
        return t.estimates[index] if estimate else t.layers[index].seconds

    prefill, step_first, step_last = _steps(first, last, at)
    decode = steps * (step_first + step_last) / 2
    times = {
        "time_to_first_token_s": prefill,
        "time_per_output_token_first_s": step_first,
        "time_per_output_token_last_s": step_last,
        "decode_s": decode,
    }
    if decode:
        times["decode_tokens_per_s"] = batch * steps / decode
    return times


def _timing(report: Report) -> Timing:
    """The timing of a report analysed on a device."""
    assert report.time is not None, "timed on a device"
    return report.time


def _steps(first: Report, last: Report, read: Callable[[Report, int], T]) -> tuple[T, T, T]:
    """`read` of the prefill and the first decode step (the first analysis' two calls of the
    model) and of the last decode step (the last analysis' second call)."""
    calls_first = [m.index for m in first.modules if m.path == "lm"]
    calls_last = [m.index for m in last.modules if m.path == "lm"]
    return read(first, calls_first[0]), read(first, calls_first[1]), read(last, calls_last[1])


def _kernel_sums(first: Report, last: Report, steps: int, what: str) -> dict[str, int]:
    """`what` ("bytes_moved", "flops") of the timed kernels (fused: a region's inputs and
    outputs only, attention's pairs as computed): the prefill, the first and last decode steps,
    and the steps' sum (affine, as the costs)."""
    prefill, step_first, step_last = _steps(
        first, last, lambda report, index: getattr(_timing(report).layers[index], what)
    )
    return {
        "prefill": prefill,
        "decode_first": step_first,
        "decode_last": step_last,
        "decode_total": steps * step_first + (step_last - step_first) * steps // 2,
    }


@dataclass(frozen=True)
class ServingPlan(ShownAsText):
    """The largest batch whose serving memory fits a budget, and where decode turns
    compute-bound on a device."""

    budget: int
    batch: int  # 0: not even one sequence fits
    peak: int  # serving peak at `batch`
    next_peak: int | None  # at batch + 1
    analyses: int
    compute_bound_batch: int | None = None  # the smallest batch whose first decode step is
    device: str | None = None  # compute-bound on `device` (None: never up to the search's end)


def serving_plan(
    model: nn.Module,
    prompt_tokens: int,
    new_tokens: int,
    budget: int | None = None,
    *,
    device: str | None = None,
    static_cache: bool | None = None,
    weight_dtype: str | None = None,
    kv_dtype: str | None = None,
) -> ServingPlan:
    """The largest batch whose serving peak (weights, the prefill's activations, the KV cache at
    its end) fits `budget` (default: `device`'s memory), found by planning.largest_batch; with a
    device, the batch from which a decode step's arithmetic outlasts its memory traffic."""
    from netcost.devices import load
    from netcost.planning import largest_batch

    chosen = load(device) if device is not None else None
    if budget is None:
        if chosen is None:
            raise UsageError("a serving plan needs --memory-budget or --device")
        budget = chosen.memory_bytes

    def at(batch: int) -> int:
        g = generate(
            model, prompt_tokens, new_tokens, batch, static_cache=static_cache,
            weight_dtype=weight_dtype, kv_dtype=kv_dtype,
        )  # fmt: skip
        if g.serving_peak_bytes is None:
            raise UnsupportedError("serving memory unknown: " + "; ".join(g.notes))
        return g.serving_peak_bytes

    plan = largest_batch(at, budget, limit=1 << 16)
    crossing = None
    if chosen is not None:
        crossing = _compute_bound_batch(model, prompt_tokens, chosen, weight_dtype, kv_dtype)
    return ServingPlan(
        budget, plan.batch, plan.peak, plan.next_peak, plan.analyses, crossing,
        chosen.key if chosen else None,
    )  # fmt: skip


def _compute_bound_batch(
    model: nn.Module,
    prompt_tokens: int,
    device: Any,
    weight_dtype: str | None = None,
    kv_dtype: str | None = None,
) -> int | None:
    """Decode's arithmetic and bytes are affine in the batch: from batches 1 and 2, the smallest
    batch b with FLOPs(b) / peak ≥ bytes(b) / bandwidth, the bytes those the device's kernels
    move (fused on an accelerator: weights and cache read once, at the serving widths) and the
    peak that of the step's matrix products (fp8 units for fp8 weights, else the model's dtype)."""

    def step(batch: int) -> tuple[int, int]:
        g = generate(model, prompt_tokens, 2, batch, device=device, weight_dtype=weight_dtype,
                     kv_dtype=kv_dtype)  # fmt: skip
        return g.decode_first.flops, g.moved["decode_first"]

    (f1, m1), (f2, m2) = step(1), step(2)
    rate, _ = matrix_peak(model, device, weight_dtype)
    if not rate:
        return None
    flops, moved = (f1, f2 - f1), (m1, m2 - m1)
    for batch in range(1, 4097):
        f = flops[0] + (batch - 1) * flops[1]
        m = moved[0] + (batch - 1) * moved[1]
        if f / rate >= m / device.bandwidth:
            return batch
    return None


def matrix_peak(
    model: nn.Module, device: Any, weight_dtype: str | None = None
) -> tuple[float, str]:
    """(FLOP/s, unit) of the units a generation's matrix products run on: fp8's for fp8 weights
    (W8A8), else the model's dtype's (weight-only int8 and int4 compute at the activations'
    width)."""
    from netcost.analysis.timing import peak

    dtype = str(next(model.parameters()).dtype).removeprefix("torch.")
    if weight_dtype == "fp8":
        dtype = "float8_e4m3fn"
    return peak(device, True, dtype, "aten.mm.default", False)
