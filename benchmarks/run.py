"""netcost against the usual tools: analysis time, peak memory and the MACs each reports.

    python benchmarks/run.py            # the whole table (a few minutes)
    python benchmarks/run.py --quick    # netcost and FlopCounterMode only

Each (tool, workload) runs in a fresh process, so its peak memory is its own: the peak resident
set size during the analysis minus the peak before it (the model already built). netcost and
FlopCounterMode get a model on the meta device; torchinfo, fvcore, ptflops and thop need real
tensors, so they get a real model and input. Time is the median of several runs after a warm-up.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

WORKLOADS = {
    "resnet50 224px b1": ("resnet50", (1, 3, 224, 224)),
    "resnet50 224px b64": ("resnet50", (64, 3, 224, 224)),
    "resnet50 224px b256": ("resnet50", (256, 3, 224, 224)),
    "resnet50 1024px b1": ("resnet50", (1, 3, 1024, 1024)),
    "vit_b_16 224px b1": ("vit_b_16", (1, 3, 224, 224)),
    "llama-7b shape 2048 tok": ("llama7b", (1, 2048)),
}
REAL_TOOLS = ("torchinfo", "fvcore", "ptflops", "thop")
TOOLS = ("netcost", "flopcounter", *REAL_TOOLS)
# Workloads the real-tensor tools run: the list (batch 256 and 1024 px test flatness only)
REAL_WORKLOADS = ("resnet50 224px b1", "resnet50 224px b64", "vit_b_16 224px b1")
LLAMA = dict(
    hidden_size=4096,
    num_hidden_layers=32,
    intermediate_size=11008,
    num_attention_heads=32,
    num_key_value_heads=32,
    vocab_size=32000,
    max_position_embeddings=4096,
)


def build(name: str, shape: tuple[int, ...], device: str) -> tuple[Any, Any]:
    import torch

    if name == "llama7b":
        import transformers

        config = transformers.LlamaConfig(**LLAMA)
        with torch.device(device):
            model = transformers.LlamaModel(config).eval()
        ids = torch.zeros(shape, dtype=torch.long, device=device)
        return model, ids
    from torchvision import models

    with torch.device(device):
        model = models.get_model(name).eval()
    return model, torch.randn(shape, device=device) if device != "meta" else torch.empty(
        shape, device="meta"
    )


def analyse(tool: str, model: Any, x: Any) -> float:
    """Run one tool once; return the MACs it reports (FlopCounterMode: its FLOPs / 2)."""
    import torch

    if tool == "netcost":
        import netcost

        return netcost.analyze(model, x).total.macs
    if tool == "flopcounter":
        from torch.utils.flop_counter import FlopCounterMode

        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(x)
        return counter.get_total_flops() / 2
    if tool == "torchinfo":
        import torchinfo

        return torchinfo.summary(model, input_data=x, verbose=0).total_mult_adds
    if tool == "fvcore":
        from fvcore.nn import FlopCountAnalysis

        analysis = FlopCountAnalysis(model, x)
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        return analysis.total()
    if tool == "ptflops":
        from ptflops import get_model_complexity_info

        macs, _ = get_model_complexity_info(
            model,
            tuple(x.shape[1:]),
            as_strings=False,
            print_per_layer_stat=False,
            verbose=False,
            input_constructor=lambda _: x,
        )
        return macs
    if tool == "thop":
        import thop

        macs, _ = thop.profile(model, inputs=(x,), verbose=False)
        return macs
    raise ValueError(tool)


def one(tool: str, workload: str, repeats: int) -> dict[str, Any]:
    """Measure in this process; called in a fresh subprocess by main()."""
    import torch

    name, shape = WORKLOADS[workload]
    device = "meta" if tool in ("netcost", "flopcounter") else "cpu"
    model, x = build(name, shape, device)
    torch.set_grad_enabled(False)  # an inference analysis, for every tool alike
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    macs = analyse(tool, model, x)  # warm-up, and the peak
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        analyse(tool, model, x)
        times.append(time.perf_counter() - start)
    return {"time_s": statistics.median(times), "peak_mib": (peak - before) / 1024, "macs": macs}


def measure(tool: str, workload: str, repeats: int) -> dict[str, Any]:
    if tool in REAL_TOOLS and "llama" in workload:
        return {"skip": "needs 25 GiB of real weights"}
    if tool in REAL_TOOLS and workload not in REAL_WORKLOADS:
        return {"skip": "-"}
    proc = subprocess.run(
        [sys.executable, __file__, "--one", tool, workload, "--repeats", str(repeats)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        return {"skip": f"failed: {last[:60]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cell(result: dict[str, Any]) -> str:
    if "skip" in result:
        return result["skip"]
    return f"{result['time_s']:.3f} s, {result['peak_mib']:,.0f} MiB, {result['macs'] / 1e9:.3f} G"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--one", nargs=2, metavar=("TOOL", "WORKLOAD"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(*args.one, args.repeats)))
        return
    tools = TOOLS[:2] if args.quick else TOOLS
    results = {
        (t, w): measure(t, w, args.repeats if t not in REAL_TOOLS else 3)
        for w in WORKLOADS
        for t in tools
    }
    print("| workload | " + " | ".join(tools) + " |")
    print("|---" * (len(tools) + 1) + "|")
    for w in WORKLOADS:
        print(f"| {w} | " + " | ".join(cell(results[t, w]) for t in tools) + " |")
    print("\ncells: median analysis time, peak memory above the built model, reported GMACs")
    net = {w: results["netcost", w] for w in WORKLOADS}
    flop = results["flopcounter", "resnet50 224px b1"]
    base = net["resnet50 224px b1"]["time_s"]
    print(
        f"netcost / FlopCounterMode on resnet50 b1: {base / flop['time_s']:.2f}x (target <= 1.5x)"
    )
    for w in ("resnet50 224px b256", "resnet50 1024px b1"):
        print(f"{w} / resnet50 224px b1: {net[w]['time_s'] / base:.2f}x (target 0.8x - 1.2x)")
    llama = net["llama-7b shape 2048 tok"]["time_s"]
    print(f"llama-7b shape at 2048 tokens: {llama:.3f} s (target < 1 s)")


if __name__ == "__main__":
    main()
