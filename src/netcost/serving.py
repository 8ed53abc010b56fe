"""Serving at concurrency: C clients in a closed loop (each sends its next request the moment
its last one returns, as a benchmark at fixed concurrency does), served by iteration-level
("in-flight", "continuous") batching, simulated step by step on netcost's step times.

The scheduler (`Scheduler`), each step:
1. admits waiting requests, first come first served, up to `max_running` in flight, while the
   KV cache has room: with `reserve_whole`, PROMPT + NEW positions for each (no request is
   ever evicted: TensorRT-LLM); else the positions it needs now, and when the running
   requests' next tokens do not fit, the latest admitted is pre-empted and later computes
   again all it had (vLLM, SGLang);
2. gives every request past its prefill one decode token, and the rest of `token_budget` to
   prompts in arrival order, the last one chunked where the budget ends (with `mixed` False a
   step that prefills decodes nothing: prefill first);
3. takes `StepTimes.step` seconds; a prompt's last chunk makes its first token, a decode step
   one more, and the NEW-th ends the request and sends that client's next one.

A step's time (`StepTimes.step`), from the model's own analyses: p prompt tokens cost p / PROMPT
of one prompt's prefill (its products are compute-bound); d decoding sequences at mean context
L cost the decode step at (d, L), linear in the batch between 1 and the analysed batch and in
the context between the first and last step (both affine in the analyses); a step doing both
reads the weights once, so it costs the prefill plus what the decode step adds to one
sequence's first step: prefill + max(decode(d, L) − decode(1, PROMPT + 1), 0).

What it reports (`Served`) are the means a benchmark reports: time to first token, time per
output token after it ((end − first token) / (NEW − 1)) and the request's latency, over the
requests that finish after the first `warmup` rounds, and the output tokens per second over
that window.

Beside the simulation, the bound (`served_floor`): what no server of these kernels beats,
whatever its schedule — a request's own prefill and decode steps at their floors, and, because C
clients in a closed loop finish C / latency requests a second (Little's law) while the device
computes at most its peak, a request's latency ≥ C · FLOPs(request) / peak.

Clients apart (`simulate_apart`, what `serve` reports): identical clients that start at once
stay in step for good — their requests finish together, so every round's prompts queue behind
each other — an artefact of a simulation without jitter, where real clients drift apart. So the
clients' first requests are spread evenly over one request's latency in step, and the means are
those of that steady state; the in-step time to first token is kept beside it
(`ttft_in_step_s`): what clients that arrive together, as a benchmark's burst, wait.

What it leaves out, so that the figures are the kernels' and the schedule's: an engine's own
time between steps (its scheduler, its Python, its HTTP server), prefix caching and speculative
decoding (benchmarks/RESULTS.md).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from statistics import mean
from typing import Any

from netcost.errors import UnsupportedError, UsageError
from netcost.shown import ShownAsText


@dataclass(frozen=True)
class Scheduler:
    """An iteration-level batching scheduler and the memory its KV cache gets: `cache_fraction`
    of the memory the weights leave, or (`of_total`) of all memory, less the weights. Defaults:
    TensorRT-LLM's (ENGINES["trtllm"])."""

    token_budget: int = 8192
    reserve_whole: bool = True
    mixed: bool = True
    cache_fraction: float = 0.9
    of_total: bool = False
    engine: str = "trtllm"
    max_running: int | None = 2048  # requests in flight at most (None: as many as fit)

    def cache_bytes(self, memory: float, weights: float) -> float:
        """Bytes the KV cache gets on a device of `memory` bytes beside `weights`."""
        if self.of_total:
            return self.cache_fraction * memory - weights
        return self.cache_fraction * (memory - weights)


#: engines' documented defaults on one GPU, each read from the engine's own source or docs
ENGINES = {
    # TensorRT-LLM: max_num_tokens 8,192, max_batch_size 2,048, kv_cache_free_gpu_mem_fraction
    # 0.9 (of the memory the weights leave), the capacity scheduler's GUARANTEED_NO_EVICT
    # policy, context and generation requests in one step
    "trtllm": Scheduler(),
    # vLLM (vllm/engine/arg_utils.py): max_num_batched_tokens 8,192 and max_num_seqs 1,024 for
    # the API server on GPUs of 70 GiB or more but A100 (2,048 and 256 there and on smaller
    # ones); chunked prefill beside decodes; gpu_memory_utilization 0.9 of all memory;
    # pre-empts when the cache is full
    "vllm": Scheduler(8192, reserve_whole=False, mixed=True, cache_fraction=0.9, of_total=True,
                      engine="vllm", max_running=1024),
    # SGLang (sglang/srt/server_args.py): chunked_prefill_size 8,192 under 160 GB (16,384 from
    # there); a prefill batch runs alone (enable_mixed_chunk off); mem_fraction_static 0.88
    # (its fallback) of all memory; as many requests as the cache holds; retracts requests
    # when the cache is full
    "sglang": Scheduler(8192, reserve_whole=False, mixed=False, cache_fraction=0.88,
                        of_total=True, engine="sglang", max_running=None),
}  # fmt: skip


@dataclass(frozen=True)
class StepTimes:
    """Seconds of one server step, from analyses of the model: one prompt's prefill alone, and
    decode steps of 1 and of `batch` sequences at their first (PROMPT + 1 positions) and last
    (PROMPT + NEW − 1) step."""

    prompt: int
    new: int
    prefill_s: float
    decode_one: tuple[float, float]  # (first step, last step), batch 1
    decode_many: tuple[float, float]  # the same at `batch`
    batch: int

    def decode(self, sequences: int, context: float) -> float:
        """A decode step of `sequences` at mean `context` positions (bilinear, see above)."""
        span = self.new - 2
        x = (context - self.prompt - 1) / span if span > 0 else 0.0
        one = self.decode_one[0] + (self.decode_one[1] - self.decode_one[0]) * x
        many = self.decode_many[0] + (self.decode_many[1] - self.decode_many[0]) * x
        if self.batch == 1:
            return one
        return one + (many - one) * (sequences - 1) / (self.batch - 1)

    def step(self, prompt_tokens: int, contexts: list[int]) -> float:
        """A step of `prompt_tokens` prefill tokens and one decode token for each context."""
        prefill = self.prefill_s * prompt_tokens / self.prompt
        if not contexts:
            return prefill
        decode = self.decode(len(contexts), sum(contexts) / len(contexts))
        if not prompt_tokens:
            return decode
        return prefill + max(decode - self.decode_one[0], 0.0)


@dataclass(frozen=True)
class Served(ShownAsText):
    """Means over the measured requests (seconds; tokens per second)."""

    clients: int
    prompt: int
    new: int
    running: int  # the most requests in flight at once
    ttft_s: float
    tpot_s: float
    request_s: float
    output_tokens_per_s: float
    requests: int  # measured
    scheduler: Scheduler = field(default_factory=Scheduler)
    device: str = ""
    source: str = ""  # what timed the steps
    #: the bound (served_floor): TTFT, TPOT and request floors, the output tokens/s ceiling
    bound: dict[str, float] = field(default_factory=dict)
    bound_source: str = ""  # the peak the closed loop's floor takes every FLOP at
    #: time to first token when the clients start at once and stay in step (None: not run)
    ttft_in_step_s: float | None = None

    def __repr__(self) -> str:
        return (
            f"<Served {self.prompt}:{self.new} to {self.clients} clients: TTFT "
            f"{self.ttft_s:.4g} s, TPOT {self.tpot_s:.4g} s>"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "clients": self.clients, "prompt_tokens": self.prompt, "new_tokens": self.new,
            "running": self.running, "time_to_first_token_s": self.ttft_s,
            "time_per_output_token_s": self.tpot_s, "request_s": self.request_s,
            "output_tokens_per_s": self.output_tokens_per_s, "requests": self.requests,
            "token_budget": self.scheduler.token_budget,
            "reserve_whole": self.scheduler.reserve_whole, "mixed": self.scheduler.mixed,
            "engine": self.scheduler.engine, "cache_fraction": self.scheduler.cache_fraction,
            "max_running": self.scheduler.max_running,
            "cache_of_total": self.scheduler.of_total,
            "time_to_first_token_in_step_s": self.ttft_in_step_s,
            "device": self.device or None, "source": self.source or None,
            "bound": dict(self.bound) or None, "bound_source": self.bound_source or None,
        }  # fmt: skip


def served_floor(
    clients: int, new: int, ttft_s: float, decode_s: float, flops: float, rate: float
) -> dict[str, float]:
    """The bound beside a simulation of `clients` (the keys of Served's means), from one
    request's own floors — its prefill `ttft_s` and its NEW − 1 decode steps `decode_s`, each
    step at any batch at least as long — and its `flops` at `rate` FLOP/s (a peak no op beats):
    request ≥ max(ttft_s + decode_s, clients · flops / rate), since the server finishes
    clients / request requests a second and computes at most `rate`; output tokens/s ≤
    clients · NEW / that. A `rate` of 0 (no peak): the request's own floors alone."""
    request = max(ttft_s + decode_s, clients * flops / rate if rate else 0.0)
    return {
        "time_to_first_token_s": ttft_s,
        "time_per_output_token_s": decode_s / (new - 1),
        "request_s": request,
        "output_tokens_per_s": clients * new / request,
    }


def positions(cache_bytes: float, bytes_per_token: float) -> int:
    """Token positions a KV cache of `cache_bytes` holds (all layers' K and V per position)."""
    return int(cache_bytes // bytes_per_token)


def analysed_batch(clients: int, capacity: int, prompt: int, new: int, scheduler: Scheduler) -> int:
    """The batch a decode step is analysed at (StepTimes.batch): the requests in flight when
    the cache holds them at their mean context, PROMPT + NEW / 2 positions each — no more than
    the clients or the scheduler runs, and 1 at least."""
    held = int(capacity // (prompt + new / 2))
    return max(1, min(clients, scheduler.max_running or clients, held))


@dataclass
class _Request:
    arrival: float
    need: int  # positions to prefill: the prompt, or after a pre-emption all it had computed
    prefilled: int = 0
    held: int = 0  # positions it holds in the cache
    tokens: int = 0  # tokens it has produced
    first: float = 0.0


def simulate(
    clients: int,
    steps: StepTimes,
    capacity: int,
    scheduler: Scheduler | None = None,
    rounds: int = 6,
    warmup: int = 1,
    start: float = 0.0,
) -> Served:
    """`clients` closed-loop clients served by `scheduler` from a KV cache of `capacity`
    positions, until clients · `rounds` requests have finished; the means over those after the
    first clients · `warmup`. Client i sends its first request at i · `start` / clients seconds
    (0: all at once). With `reserve_whole` a request is admitted when PROMPT + NEW
    positions are free for it and is never evicted; without, when its prompt's are, and when
    the running requests' next tokens do not fit, the latest admitted is pre-empted: its
    positions freed, it waits at the head of the queue and computes again all it had
    (PROMPT + tokens − 1 positions, a prefill that makes no token) before it decodes on."""
    scheduler = scheduler or Scheduler()
    prompt, new = steps.prompt, steps.new
    whole = prompt + new
    if clients < 1:
        raise UsageError(f"serving needs 1 client or more, not {clients}")
    if capacity < (whole if scheduler.reserve_whole else prompt + 1):
        raise UsageError(f"a request of {prompt} + {new} tokens does not fit a KV cache of "
                         f"{capacity:,} positions")  # fmt: skip
    if not 0 <= warmup < rounds:
        raise UsageError(f"warm-up rounds must be fewer than rounds: {warmup} of {rounds}")
    if scheduler.token_budget < 1:
        raise UsageError(f"a step's token budget must be 1 or more, not {scheduler.token_budget}")
    if start < 0:
        raise UsageError(f"the clients' first requests start over 0 seconds or more, not {start}")

    def reserved(r: _Request) -> int:
        return whole if scheduler.reserve_whole else max(r.held, r.need)

    limit = scheduler.max_running or clients
    now = 0.0
    arriving = deque(i * start / clients for i in range(clients))  # first requests, in order
    waiting: deque[_Request] = deque()
    active: list[_Request] = []
    done: list[tuple[_Request, float]] = []
    most = 0
    while len(done) < clients * rounds:
        if not active and not waiting and arriving[0] > now:
            now = arriving[0]  # an idle server waits for the next client
        while arriving and arriving[0] <= now:
            waiting.append(_Request(arriving.popleft(), prompt))
        used = sum(reserved(r) for r in active)
        while waiting and len(active) < limit and used + reserved(waiting[0]) <= capacity:
            used += reserved(waiting[0])
            active.append(waiting.popleft())
        decoding = [r for r in active if r.prefilled == r.need]
        while not scheduler.reserve_whole and used + len(decoding) > capacity:
            latest = active.pop()  # pre-empted: computed again from the start
            used -= reserved(latest)
            # all it had: the prompt and the tokens fed back (a prompt cut short: the prompt)
            latest.need = prompt + max(latest.tokens - 1, 0)
            latest.prefilled = latest.held = 0
            waiting.appendleft(latest)
            decoding = [r for r in active if r.prefilled == r.need]
        most = max(most, len(active))
        filling = [r for r in active if r.prefilled < r.need]
        if filling and not scheduler.mixed:
            decoding = []
        decoding = decoding[: scheduler.token_budget]
        budget = scheduler.token_budget - len(decoding)
        chunks = []
        for r in filling:
            take = min(r.need - r.prefilled, budget)
            if take <= 0:
                break
            chunks.append((r, take))
            budget -= take
        now += steps.step(sum(t for _, t in chunks), [r.held + 1 for r in decoding])
        for r, take in chunks:
            r.prefilled += take
            r.held = max(r.held, r.prefilled)
            if r.prefilled == r.need and r.tokens == 0:
                r.first, r.tokens = now, 1
        for r in decoding:
            r.tokens += 1
            r.held += 1
        for r in [r for r in active if r.prefilled == r.need and r.tokens >= new]:
            active.remove(r)
            done.append((r, now))
            waiting.append(_Request(now, prompt))
    measured = done[clients * warmup :]
    opened = done[clients * warmup - 1][1] if warmup else 0.0  # the measured window
    tpot = mean((end - r.first) / (new - 1) for r, end in measured) if new > 1 else 0.0
    return Served(
        clients, prompt, new, most,
        ttft_s=mean(r.first - r.arrival for r, _ in measured),
        tpot_s=tpot,
        request_s=mean(end - r.arrival for r, end in measured),
        output_tokens_per_s=len(measured) * new / (measured[-1][1] - opened),
        requests=len(measured),
        scheduler=scheduler,
    )  # fmt: skip


def simulate_apart(
    clients: int,
    steps: StepTimes,
    capacity: int,
    scheduler: Scheduler | None = None,
    rounds: int = 6,
    warmup: int = 1,
) -> Served:
    """`simulate` with the clients apart: first with every client at once (in step), then
    with their first requests spread evenly over that run's mean request latency; the latter's
    means, with the former's time to first token as `ttft_in_step_s`."""
    together = simulate(clients, steps, capacity, scheduler, rounds, warmup)
    apart = simulate(clients, steps, capacity, scheduler, rounds, warmup, together.request_s)
    return replace(apart, ttft_in_step_s=together.ttft_s)


def serve(
    model: Any,
    prompt_tokens: int,
    new_tokens: int,
    clients: int,
    *,
    device: str,
    scheduler: Scheduler | None = None,
    weight_dtype: str | None = None,
    kv_dtype: str | None = None,
    single: Any = None,
) -> Served:
    """`clients` at fixed concurrency on one `device` under `scheduler` (default: TensorRT-LLM's;
    ENGINES has others), the steps timed by the calibrated estimate (generation.generate at
    batch 1 and at `analysed_batch`), the cache's positions its bytes over a token's, the
    clients apart (`simulate_apart`). `single`:
    the batch-1 Generation on the same device and widths, where the caller has it already."""
    from netcost.devices import load
    from netcost.generation import generate

    if prompt_tokens < 1 or new_tokens < 2:
        raise UsageError("serving needs a prompt of 1 token or more and 2 new tokens or more")
    scheduler = scheduler or Scheduler()
    if not 0 < scheduler.cache_fraction <= 1:
        raise UsageError(f"the KV cache's fraction of memory must be in (0, 1], not "
                         f"{scheduler.cache_fraction}")  # fmt: skip

    def at(batch: int) -> Any:
        return generate(model, prompt_tokens, new_tokens, batch, device=device,
                        weight_dtype=weight_dtype, kv_dtype=kv_dtype)  # fmt: skip

    one = single if single is not None else at(1)
    if not one.estimate:
        raise UnsupportedError(f"serving at concurrency is timed by the calibrated estimate, "
                               f"and {device} has none: {one.estimate_missing}")  # fmt: skip
    if one.encoder_decoder:
        raise UnsupportedError("serving at concurrency is simulated for causal LMs: an "
                               "encoder-decoder's caches grow by other rules")  # fmt: skip
    if one.kv_cache_bytes_per_token is None:
        raise UnsupportedError("serving at concurrency needs the KV cache's bytes: "
                               + "; ".join(one.notes))  # fmt: skip
    chosen = load(device)
    memory = chosen.memory_bytes
    capacity = positions(scheduler.cache_bytes(memory, one.weight_bytes),
                         one.kv_cache_bytes_per_token)  # fmt: skip
    if capacity < prompt_tokens + new_tokens:
        raise UnsupportedError(
            f"one request of {prompt_tokens} + {new_tokens} tokens does not fit the KV cache "
            f"{device}'s {memory / 2**30:.0f} GiB leave beside {one.weight_bytes / 2**30:.1f} "
            f"GiB of weights ({max(capacity, 0):,} positions)"
        )
    running = analysed_batch(clients, capacity, prompt_tokens, new_tokens, scheduler)
    many = at(running) if running > 1 else one

    def pair(g: Any) -> tuple[float, float]:
        return (g.estimate["time_per_output_token_first_s"],
                g.estimate["time_per_output_token_last_s"])  # fmt: skip

    steps = StepTimes(prompt_tokens, new_tokens, one.estimate["time_to_first_token_s"],
                      pair(one), pair(many), running)  # fmt: skip
    served = simulate_apart(clients, steps, capacity, scheduler)
    rate, unit = _fastest(model, chosen, weight_dtype, kv_dtype)
    flops = one.kernel_flops["prefill"] + one.kernel_flops["decode_total"]
    bound = served_floor(clients, new_tokens, one.times["time_to_first_token_s"],
                         one.times["decode_s"], flops, rate)  # fmt: skip
    where = f"{unit} peak, {rate / 1e12:,.0f} TFLOP/s" if rate else ""
    return replace(served, device=device, source=one.estimate_source, bound=bound,
                   bound_source=where)  # fmt: skip


def _fastest(
    model: Any, device: Any, weight_dtype: str | None, kv_dtype: str | None
) -> tuple[float, str]:
    """The fastest units a step's arithmetic may run on: its matrix products' (fp8 for fp8
    weights, else the model's dtype) or, with an fp8 KV cache, fp8 attention's. No op of the
    step runs faster: a floor that takes every FLOP at this rate holds."""
    from netcost.analysis.fusion import WIDTH_DTYPES
    from netcost.analysis.timing import peak
    from netcost.generation import matrix_peak

    best = matrix_peak(model, device, weight_dtype)
    if kv_dtype is not None:
        kv = peak(device, True, WIDTH_DTYPES[kv_dtype], "aten.mm.default", False)
        best = max(best, kv)
    return best
