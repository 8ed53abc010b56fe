"""netcost's fused bound and calibrated estimate against published, measured GPU figures
(issue 20 F). Targets: no row whose bound exceeds the measured time; the estimate within 15 % of
the measured time at the median and 30 % at the 90th percentile, on every workload kind.

    pip install 'netcost[gpu]'; python benchmarks/gpu_published.py [--rows N] [--csv FILE]

Sources, each row with its configuration:
1. aiconfigurator-core's `systems/silicon_sample.csv` (NVIDIA, Apache-2.0; read where the pinned
   package installs it, never copied here): serving measured at a fixed concurrency, one GPU
   (tp = pp = 1, aggregated), fp8 dense models netcost can build from their configs. Each row
   gives mean TTFT and TPOT at concurrency C:
   - the bound: TPOT against a decode step's floor at batch B, averaged over the steps from
     PROMPT + 1 to PROMPT + NEW − 1 cached positions (fp8 weights and an fp8 KV cache: the
     lower of the cache widths an engine may use, so that the bound holds either way). B is C,
     or fewer where C sequences at their mean context (PROMPT + NEW / 2) do not fit the KV
     cache an engine allocates: 90 % of the memory the weights leave (TensorRT-LLM's default
     kv_cache_free_gpu_mem_fraction), as netcost sizes weights and cache, the memory the
     datasheet's decimal GB — less than the card reports, so that B is no more than an engine
     whose cache loses CUDA's context and a workspace runs; TTFT against the
     floor of one request's prefill (batch 1), the only prefill every request waits for;
   - the estimate: netcost.serving's simulation of C closed-loop clients under the row's
     engine's documented defaults (netcost.serving.ENGINES: token budget, whether prompts
     share steps with decodes, how the cache admits requests and the memory it gets), its
     steps timed by the calibrated estimate, the KV cache at ENGINE_KV's width, the clients
     apart (netcost.serving.simulate_apart): its mean TTFT, TPOT and request latency, and the
     TTFT of clients in step beside it;
   - a request's latency, TTFT + (NEW − 1) · TPOT from the published means, against the
     simulation's mean latency (the bound: netcost.serving.served_floor — the request's own
     prefill and decode steps, or C requests' FLOPs, as their fused kernels count them, at the
     fp8 peak, whichever is longer: C clients finish C / latency requests a second).
2. TensorRT-LLM's docs/source/performance/perf-overview.md (NVIDIA/TensorRT-LLM at commit
   00f37686aa854010d68bcbd0f4ab000221541ca6): offline maximum throughput, one GPU, FP8 (the
   batch is not published): the bound on time per output token is the arithmetic of one
   request (its prefill and every decode step, as its fused kernels count it) at the fp8 peak,
   over its output tokens; the
   estimate is netcost.serving's simulation under TensorRT-LLM's defaults (max_batch_size
   2,048, 8,192 tokens a step, 90 % of the free memory for an fp8 KV cache) with twice as many
   clients as it runs whole requests at once, so that one always waits: one over its output
   tokens a second.
3. Megatron-Bridge's docs/performance-summary-archive.md (NVIDIA-NeMo/Megatron-Bridge at commit
   067f987df03b8355b03192d88d70f1709fedf51a, the 25.11 NeMo container): Llama 3 8B pre-training
   on 8 GPUs, FP8 with current scaling (Transformer Engine), 8,192 tokens a sequence, TP = PP =
   CP = 1: on the H100 1 sequence a micro-batch, FSDP over the 8, 16 micro-batches a step; on
   the B200 2 a micro-batch, DDP, 8 a step. A micro-batch on one GPU (its tokens over the
   published tokens per second per GPU) against netcost's training step at precision fp8-mixed
   with its optimizer's share: forward + backward + optimizer / (shards · micro-batches), the
   optimizer sharded 8 ways under FSDP and whole under DDP.
4. torchtitan's docs/performance.md (pytorch/torchtitan at commit
   eaea6f6a2fa940f03a10906be1df3489cf30af85): Llama 3.1 8B training on 8 H100 (96 GB, 2.4 TB/s,
   500 W) with FSDP, bf16, local batch 2 of 8,192 tokens, selective activation checkpointing:
   the step of one GPU's batch (tokens per second per GPU) against the bound on netcost's
   h100-sxm (faster memory and clocks than that card: the bound stays a bound; recomputation is
   not counted). No estimate: the measured tables are of the 80 GB, 700 W card.

Model shapes are the models' published config.json values (Hugging Face), built from configs
offline. A model's L decoder layers are identical, so every figure is read from analyses with
1 and 2 layers and extended linearly: f(L) = f(1) + (L − 1) · (f(2) − f(1)).
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import torch

#: model -> (transformers config class, keys): their config.json values
MODELS: dict[str, tuple[str, dict[str, Any]]] = {
    "Llama-3.1-8B": ("LlamaConfig", dict(hidden_size=4096, intermediate_size=14336,
                     num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
                     vocab_size=128256, tie_word_embeddings=False)),
    "Llama-3.1-70B": ("LlamaConfig", dict(hidden_size=8192, intermediate_size=28672,
                      num_hidden_layers=80, num_attention_heads=64, num_key_value_heads=8,
                      vocab_size=128256, tie_word_embeddings=False)),
    "Qwen3-32B": ("Qwen3Config", dict(hidden_size=5120, intermediate_size=25600,
                  num_hidden_layers=64, num_attention_heads=64, num_key_value_heads=8,
                  head_dim=128, vocab_size=151936, tie_word_embeddings=False)),
}  # fmt: skip
#: silicon_sample.csv's model paths -> MODELS
SILICON_MODELS = {
    "Qwen/Qwen3-32B": "Qwen3-32B",
    "meta-llama/Llama-3.1-70B": "Llama-3.1-70B",
    "meta-llama/Llama-3.1-8B-Instruct": "Llama-3.1-8B",
    "nvidia/Llama-3.1-8B-Instruct-FP8": "Llama-3.1-8B",
}
SYSTEMS = {"h100_sxm": "h100-sxm", "h200_sxm": "h200", "b200_sxm": "b200"}
TRTLLM_COMMIT = "00f37686aa854010d68bcbd0f4ab000221541ca6"
TORCHTITAN_COMMIT = "eaea6f6a2fa940f03a10906be1df3489cf30af85"
#: perf-overview.md: (model, GPU, ISL, OSL, total output tokens/s), TP1 FP8 columns
TRTLLM_THROUGHPUT = [
    *(("Llama-3.1-8B", "h200", i, o, t) for i, o, t in [
        (128, 128, 27911), (128, 2048, 26221), (128, 4096, 18027), (500, 2000, 20770),
        (1000, 1000, 17744), (1000, 2000, 16828), (2048, 128, 3538), (2048, 2048, 12194),
        (5000, 500, 3902), (20000, 2000, 1804)]),
    *(("Llama-3.1-8B", "h100-sxm", i, o, t) for i, o, t in [
        (128, 128, 28312), (128, 2048, 22714), (128, 4096, 14325), (500, 2000, 17660),
        (1000, 1000, 15220), (1000, 2000, 13899), (2048, 128, 3450), (2048, 2048, 9305),
        (5000, 500, 3459), (20000, 2000, 1351)]),
    *(("Llama-3.1-70B", "h200", i, o, t) for i, o, t in [  # Llama 3.3 70B: 3.1's shapes
        (128, 128, 3803), (128, 2048, 4336), (128, 4096, 2872), (500, 2000, 3666),
        (1000, 1000, 2909), (1000, 2000, 2994), (2048, 128, 442), (2048, 2048, 2003),
        (5000, 500, 566), (20000, 2000, 283)]),
]  # fmt: skip
#: torchtitan Table 1: (technique, tokens/s per GPU)
TORCHTITAN = [("FSDP", 5762), ("FSDP + torch.compile", 6667)]
MEGATRON_BRIDGE_COMMIT = "067f987df03b8355b03192d88d70f1709fedf51a"
#: docs/performance-summary-archive.md, "25.11 NeMo Container", LLAMA3_8B on 8 GPUs, FP8-CS,
#: GBS 128, sequence 8,192, TP = PP = CP = 1: (device, MBS, optimizer shards, GA, data
#: parallelism, tokens/s/GPU)
MEGATRON_BRIDGE = [
    ("h100-sxm", 1, 8, 16, "FSDP", 14451),
    ("b200", 2, 1, 8, "DDP", 30624),  # every GPU's optimizer over all the parameters
]


@dataclass
class Row:
    source: str
    model: str
    device: str
    engine: str
    config: str
    workload: str  # prefill, decode b<=8, decode b>=16, throughput, training
    measured_s: float
    bound_s: float
    estimate_s: float | None
    #: a TTFT row's estimates with the clients apart and in step (the estimate is the former)
    between: tuple[float, float] | None = None
    clients: int | None = None  # a serving run's concurrency

    @property
    def efficiency(self) -> float:
        return self.bound_s / self.measured_s

    @property
    def error(self) -> float | None:
        if self.estimate_s is None:
            return None
        return (self.estimate_s - self.measured_s) / self.measured_s


def _model(name: str, layers: int) -> torch.nn.Module:
    import transformers

    kind, keys = MODELS[name]
    config = getattr(transformers, kind)(**{**keys, "num_hidden_layers": layers})
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(config)
    return model.to(torch.bfloat16).eval()


@cache
def _generation(
    name: str, layers: int, prompt: int, new: int, batch: int, device: str, kv: str = "fp8"
) -> Any:
    from netcost.generation import generate

    return generate(_model(name, layers), prompt, new, batch, device=device,
                    weight_dtype="fp8", kv_dtype=kv)  # fmt: skip


def _extended(name: str, pick: Any, *args: Any) -> float | None:
    """f(L) from analyses at 1 and 2 layers (identical decoder layers)."""
    one, two = pick(_generation(name, 1, *args)), pick(_generation(name, 2, *args))
    if one is None or two is None:
        return None
    return one + (MODELS[name][1]["num_hidden_layers"] - 1) * (two - one)


def _datasheet_bytes(device: str) -> float:
    """The datasheet's memory in decimal GB (devices.toml's memory_gb), which the bound's decode
    batch is sized on: 5.1, 9.1 and 11.4 GiB below what an H100 SXM, H200 and B200 report
    (memory_mib), so that an engine whose cache loses CUDA's context and a workspace of up to
    that much runs no fewer sequences."""
    from importlib import resources

    import tomllib

    text = (resources.files("netcost") / "data" / "devices.toml").read_text(encoding="utf-8")
    return float(tomllib.loads(text)[device]["memory_gb"]) * 1e9


def _fitting(name: str, prompt: int, new: int, device: str) -> int:
    """Sequences at their mean context that fit 90 % of the memory the weights leave, the memory
    the datasheet's decimal GB (_datasheet_bytes): the fewest an engine's cache holds."""
    layers = MODELS[name][1]["num_hidden_layers"]

    def at(layers_: int) -> Any:
        return _generation(name, layers_, prompt, 2, 1, device)

    weights = _extended(name, lambda g: g.weight_bytes, prompt, 2, 1, device)
    per_token = at(1).kv_cache_bytes_per_token * layers
    free = 0.9 * (_datasheet_bytes(device) - weights)
    return max(1, int(free // (per_token * (prompt + new / 2))))


def silicon_rows(limit: int | None) -> list[Row]:
    from importlib import resources

    path = resources.files("aiconfigurator_core") / "systems" / "silicon_sample.csv"
    rows = []
    with path.open() as f:
        for r in csv.DictReader(f):
            one_gpu = r["tp_size"] == "1" and r["pp_size"] in ("1", "") and r["mode"] == "agg"
            name = SILICON_MODELS.get(r["model_path"])
            device = SYSTEMS.get(r["system"])
            if not (one_gpu and name and device and r["precision"] == "fp8"):
                continue
            if r["attention_dp_size"] not in ("", "1", "1.0"):
                continue
            prompt, new, batch = int(r["isl"]), int(r["osl"]), int(float(r["batch_size"]))
            source = f"aiconfigurator-core silicon_sample.csv {r['id']}"
            config = f"{prompt}:{new}, concurrency {batch}, {r['gemm_quant_mode']} weights"
            engine = f"{r['backend']} {r['backend_version']}".strip()

            def tpot(g: Any) -> float:
                return g.times["decode_s"] / (g.new_tokens - 1)

            def ttft(g: Any) -> float:
                return g.times["time_to_first_token_s"]

            running = min(batch, _fitting(name, prompt, new, device))
            kind = "decode b<=8" if running <= 8 else "decode b>=16"
            if running < batch:
                config += f" ({running} fit the KV cache)"
            served = _served(name, prompt, new, batch, device, r["backend"])
            tpot_row = Row(source, name, device, engine, config, kind,
                           float(r["silicon_tpot_ms"]) / 1e3,
                           _extended(name, tpot, prompt, new, running, device),
                           served.tpot_s if served else None)  # fmt: skip
            ttft_row = Row(source, name, device, engine, config, "prefill (TTFT)",
                           float(r["silicon_ttft_ms"]) / 1e3,
                           _extended(name, ttft, prompt, 2, 1, device),
                           served.ttft_s if served else None,
                           (served.ttft_s, served.ttft_in_step_s) if served else None,
                           batch)  # fmt: skip
            flops = _flops(name, prompt, new, device)
            rows += [tpot_row, ttft_row, _request(ttft_row, tpot_row, new, served, batch, flops)]
            if limit and len(rows) >= limit:
                break
    return rows


#: the KV cache's width the simulation gives each engine: the engine's default where the
#: measurements allow it, SGLang's "auto" (the model's bf16); fp8 for TensorRT-LLM (ModelOpt's
#: FP8 recipe quantises the cache too) and for vLLM, whose default bf16 the measurements rule
#: out: 64 requests of 1,024 + 8,192 tokens need 193 GB of bf16 cache on a B200, where vLLM's
#: defaults leave 91 GB, yet it measured 382 ms to the first token and 24.7 ms a token there
ENGINE_KV = {"trtllm": "fp8", "vllm": "fp8", "sglang": "bf16"}


def _served(name: str, prompt: int, new: int, clients: int | None, device: str, engine: str) -> Any:
    """netcost.serving's simulation of `clients` at fixed concurrency under the engine's
    documented defaults (netcost.serving.ENGINES; nothing fitted to a row), the steps timed by
    the estimate at 1 and at the requests the cache holds at their mean context, the clients
    apart (simulate_apart). `clients` None: an offline run at maximum throughput, which submits
    every request at once: twice as many clients as the engine runs whole requests at once, so
    that one always waits, all starting together (simulate)."""
    from netcost.devices import load
    from netcost.serving import (
        ENGINES,
        StepTimes,
        analysed_batch,
        positions,
        simulate,
        simulate_apart,
    )

    chosen, kv = ENGINES[engine], ENGINE_KV[engine]

    def est(key: str, new_: int, batch: int) -> float | None:
        return _extended(name, lambda g: g.estimate.get(key), prompt, new_, batch, device, kv)

    layers = MODELS[name][1]["num_hidden_layers"]
    weights = _extended(name, lambda g: g.weight_bytes, prompt, 2, 1, device)
    per_token = _generation(name, 1, prompt, 2, 1, device, kv).kv_cache_bytes_per_token * layers
    capacity = positions(chosen.cache_bytes(load(device).memory_bytes, weights), per_token)
    if capacity < prompt + new:
        return None
    rounds, run = 6, simulate_apart
    if clients is None:
        run = simulate
        whole = capacity // (prompt + new)
        clients, rounds = 2 * min(chosen.max_running or whole, whole), 3
    running = analysed_batch(clients, capacity, prompt, new, chosen)
    first, last = "time_per_output_token_first_s", "time_per_output_token_last_s"
    values = (est("time_to_first_token_s", 2, 1), est(first, new, 1), est(last, new, 1),
              est(first, new, running), est(last, new, running))  # fmt: skip
    if any(v is None for v in values):
        return None
    prefill, one_first, one_last, many_first, many_last = values
    steps = StepTimes(prompt, new, prefill, (one_first, one_last), (many_first, many_last),
                      running)  # type: ignore[arg-type]  # fmt: skip
    return run(clients, steps, capacity, chosen, rounds=rounds)


def _flops(name: str, prompt: int, new: int, device: str) -> float:
    """One request's FLOPs as its fused kernels count them (fp8 weights and KV cache)."""
    return _extended(name, lambda g: g.kernel_flops["prefill"] + g.kernel_flops["decode_total"],
                     prompt, new, 1, device)  # fmt: skip


def _fp8_peak(device: str) -> float:
    from netcost.analysis.timing import peak
    from netcost.devices import load

    return peak(load(device), True, "float8_e4m3fn", "aten.mm.default", False)[0]


def _request(ttft: Row, tpot: Row, new: int, served: Any, clients: int, flops: float) -> Row:
    """A request's latency: measured TTFT + (NEW − 1) · TPOT (the published means); the bound
    netcost.serving.served_floor's — the request's own prefill and decode steps, or the
    clients' arithmetic at the fp8 peak, whichever is longer; the estimate the simulation's
    mean latency."""
    from netcost.serving import served_floor

    measured = ttft.measured_s + (new - 1) * tpot.measured_s
    bound = served_floor(clients, new, ttft.bound_s, (new - 1) * tpot.bound_s, flops,
                         _fp8_peak(ttft.device))["request_s"]  # fmt: skip
    estimate = served.request_s if served else None
    return Row(ttft.source, ttft.model, ttft.device, ttft.engine, ttft.config,
               "request (served)", measured, bound, estimate)  # fmt: skip


def throughput_rows() -> list[Row]:
    rows = []
    for name, device, prompt, new, tokens_per_s in TRTLLM_THROUGHPUT:
        rate, per_request = _fp8_peak(device), _flops(name, prompt, new, device)
        served = _served(name, prompt, new, None, device, "trtllm")
        rows.append(Row(
            f"TensorRT-LLM perf-overview.md@{TRTLLM_COMMIT[:10]}", name, device,
            "TensorRT-LLM (PyTorch backend)", f"{prompt}:{new}, max throughput, FP8",
            "throughput", 1 / tokens_per_s, per_request / rate / new,
            1 / served.output_tokens_per_s if served else None,
        ))  # fmt: skip
    return rows


def _step(device: str, batch: int, precision: str) -> tuple[dict[str, float], dict[str, float]]:
    """A Llama-3.1-8B training step of `batch` × 8,192 tokens on `device`: the bound's and the
    estimate's seconds by phase (forward, backward, optimizer), extended to 32 layers."""
    import netcost
    from netcost.inputs import shape_only

    ids = {"input_ids": shape_only((batch, 8192), torch.int64)}
    bounds, estimates = [], []
    for layers in (1, 2):
        model = _model("Llama-3.1-8B", layers).float()
        time = netcost.analyze(model, ids, train=True, precision=precision, device=device).time
        bounds.append(dict(time.phases))
        estimates.append(dict(time.phase_estimates))
    layers = MODELS["Llama-3.1-8B"][1]["num_hidden_layers"]

    def extended(pair: list[dict[str, float]]) -> dict[str, float]:
        one, two = pair
        return {k: one[k] + (layers - 1) * (two[k] - one[k]) for k in one} if one else {}

    return extended(bounds), extended(estimates)


def _micro_batch(phases: dict[str, float], shards: int, accumulation: int) -> float:
    """One micro-batch's seconds on one GPU: its forward and backward, and its share of the
    optimizer step — run once every `accumulation` micro-batches over 1 / `shards` of the
    parameters (a distributed optimizer or FSDP)."""
    return phases["forward"] + phases["backward"] + phases["optimizer"] / (shards * accumulation)


def training_rows() -> list[Row]:
    rows = []
    for device, batch, shards, accumulation, sharding, tps in MEGATRON_BRIDGE:
        bound, estimate = _step(device, batch, "fp8-mixed")
        rows.append(Row(
            f"Megatron-Bridge performance-summary-archive.md@{MEGATRON_BRIDGE_COMMIT[:10]}",
            "Llama-3.1-8B", device, "Megatron-Bridge (NeMo 25.11)",
            f"{batch}x8192 per GPU, FP8 (current scaling), {sharding} on 8 GPUs, "
            f"{accumulation} micro-batches a step", "training", batch * 8192 / tps,
            _micro_batch(bound, shards, accumulation),
            _micro_batch(estimate, shards, accumulation) if estimate else None,
        ))  # fmt: skip
    bound, _ = _step("h100-sxm", 2, "bf16-mixed")
    for technique, tps in TORCHTITAN:
        # another card than the tables': the bound of the faster h100-sxm holds, no estimate
        rows.append(Row(
            f"torchtitan performance.md@{TORCHTITAN_COMMIT[:10]}", "Llama-3.1-8B",
            "h100-sxm", technique,
            "2x8192 per GPU, bf16, FSDP on 8 GPUs (H100 96 GB, 2.4 TB/s, 500 W: no tables)",
            "training", 2 * 8192 / tps, _micro_batch(bound, 8, 1), None,
        ))  # fmt: skip
    return rows


def _ms(s: float | None) -> str:
    if s is None:
        return "–"
    ms = s * 1e3
    return f"{ms:,.0f}" if ms >= 100 else f"{ms:.3g}"


def report(rows: list[Row]) -> str:
    lines = [
        "| source | model | GPU | engine | configuration | workload | measured ms | bound ms | "
        "bound ÷ measured | estimate ms | estimate error |",
        "|---|---|---|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        error = "–" if r.error is None else f"{100 * r.error:+.0f} %"
        lines.append(
            f"| {r.source} | {r.model} | {r.device} | {r.engine} | {r.config} | {r.workload} | "
            f"{_ms(r.measured_s)} | {_ms(r.bound_s)} | {r.efficiency:.2f} | {_ms(r.estimate_s)} "
            f"| {error} |"
        )
    lines += ["", "| workload | rows | bound > measured | bound ÷ measured (min / median / max) "
              "| estimate error median | p90 |", "|---|---:|---:|---|---:|---:|"]  # fmt: skip
    for kind in dict.fromkeys(r.workload for r in rows):
        some = [r for r in rows if r.workload == kind]
        eff = sorted(r.efficiency for r in some)
        errors = sorted(abs(r.error) for r in some if r.error is not None)
        over = sum(r.bound_s > r.measured_s for r in some)
        med = f"{100 * statistics.median(errors):.0f} %" if errors else "–"
        p90 = f"{100 * errors[math.ceil(0.9 * len(errors)) - 1]:.0f} %" if errors else "–"
        lines.append(
            f"| {kind} | {len(some)} | {over} | {eff[0]:.2f} / {statistics.median(eff):.2f} / "
            f"{eff[-1]:.2f} | {med} | {p90} |"
        )
    ranged = [(r.measured_s, sorted(r.between)) for r in rows if r.between]
    if ranged:
        inside = sum(lo <= m <= hi for m, (lo, hi) in ranged)
        above = sum(m > hi for m, (_, hi) in ranged)
        lines += ["", f"Time to first token measured between the clients apart and in step: "
                  f"{inside} of {len(ranged)} rows ({above} above both, "
                  f"{len(ranged) - inside - above} below both)."]  # fmt: skip
        lines.append(_ttft_limits(rows))
    return "\n".join(lines)


def _ttft_limits(rows: list[Row]) -> str:
    """What no choice between the two simulations reaches: each run's measured TTFT against
    the nearer end of [apart, in step] (0 inside), and, at the fewest clients the rows have,
    where a prompt waits for little but the step it joins, measured ÷ the estimate."""
    nearest = sorted(max(lo - r.measured_s, r.measured_s - hi, 0.0) / r.measured_s
                     for r in rows if r.between for lo, hi in [sorted(r.between)])  # fmt: skip
    fewest = min(r.clients for r in rows if r.between and r.clients)
    ratios = sorted(r.measured_s / r.between[0] for r in rows if r.between and r.clients == fewest)
    p90 = nearest[math.ceil(0.9 * len(nearest)) - 1]
    return (f"The nearer of the two for every run (what an estimate that knew each run's arrivals "
            f"could say at best): median {100 * statistics.median(nearest):.0f} %, p90 "
            f"{100 * p90:.0f} %. At {fewest} clients, measured ÷ estimate "
            f"{ratios[0]:.2f}–{ratios[-1]:.2f} (median {statistics.median(ratios):.2f}) on "
            f"{len(ratios)} runs.")  # fmt: skip


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, help="at most this many silicon rows (a quick run)")
    parser.add_argument("--csv", type=Path, help="also write every row here")
    args = parser.parse_args(argv)
    from netcost.gpu_tables import available

    if not available():
        sys.exit("needs the pinned aiconfigurator-core: pip install 'netcost[gpu]'")
    rows = silicon_rows(args.rows) + throughput_rows() + training_rows()
    print(report(rows))
    if args.csv:
        with args.csv.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["source", "model", "device", "engine", "config", "workload",
                        "measured_s", "bound_s", "estimate_s", "ttft_in_step_s"])  # fmt: skip
            for r in rows:
                in_step = r.between[1] if r.between else ""
                w.writerow([r.source, r.model, r.device, r.engine, r.config, r.workload,
                            r.measured_s, r.bound_s, r.estimate_s, in_step])  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:])
