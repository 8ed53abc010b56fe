"""Training-step memory: netcost's analysis time and answer, next to torchinfo's and accelerate's
estimates for the same models (issue 4's benchmark).

    python benchmarks/memory.py

Workloads: resnet50 at batch 64 and the LLaMA-7B shape at 2048 tokens, one training step with
AdamW in bf16-mixed. Each tool runs in a fresh process; the peak RSS above the built model shows
that nothing of the model's size is allocated. netcost's time is the memory analysis alone
(capture of the step and its breakdown), median of 3 runs after a warm-up. torchinfo needs real
weights and a real input (resnet50 only); accelerate's estimate-memory arithmetic
(estimate_training_usage on calculate_maximum_sizes) needs only the meta model.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from run import build

WORKLOADS = {
    "resnet50 b64 224px": ("resnet50", (64, 3, 224, 224)),
    "LLaMA-7B shape, 2048 tokens": ("llama7b", (1, 2048)),
}
TOOLS = ("netcost", "torchinfo", "accelerate")


def one(tool: str, workload: str) -> dict[str, Any]:
    name, shape = WORKLOADS[workload]
    model, x = build(name, shape, "cpu" if tool == "torchinfo" else "meta")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if tool == "netcost":
        from netcost.analysis.memory import step_memory
        from netcost.capture.training import capture_step

        def run() -> Any:
            return step_memory(
                capture_step(model, (x,), {}, optimizer="adamw", precision="bf16-mixed")
            )

        result = run()
        times = []
        for _ in range(3):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        peak = result.peak
        answer = {
            "bytes": peak.peak_bytes,
            "where": f"{peak.phase}, {peak.layer or peak.op}",
            "time_s": statistics.median(times),
        }
    elif tool == "torchinfo":
        import torchinfo

        start = time.perf_counter()
        stats = torchinfo.summary(model, input_data=x, verbose=0, mode="train")
        total = stats.total_input + stats.total_output_bytes + stats.total_param_bytes
        answer = {"bytes": total, "where": "Estimated Total Size",
                  "time_s": time.perf_counter() - start}  # fmt: skip
    else:
        from accelerate.commands.estimate import estimate_training_usage
        from accelerate.utils import calculate_maximum_sizes

        start = time.perf_counter()
        size, _ = calculate_maximum_sizes(model)
        usage = estimate_training_usage(size, "bfloat16")
        answer = {"bytes": max(usage.values()), "where": "Training using Adam (peak vRAM)",
                  "time_s": time.perf_counter() - start}  # fmt: skip
    answer["rss_mib"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    return answer


def measure(tool: str, workload: str) -> dict[str, Any]:
    if tool == "torchinfo" and "LLaMA" in workload:
        return {"skip": "needs 25 GiB of real weights"}
    proc = subprocess.run(
        [sys.executable, __file__, "--one", tool, workload],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if proc.returncode != 0:
        return {"skip": f"failed: {(proc.stderr.strip().splitlines() or ['?'])[-1][:60]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cell(r: dict[str, Any]) -> str:
    if "skip" in r:
        return r["skip"]
    return (
        f"{r['bytes'] / 2**30:.2f} GiB ({r['where']}); {r['time_s']:.2f} s, "
        f"{r['rss_mib']:,.0f} MiB RSS"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--one", nargs=2, metavar=("TOOL", "WORKLOAD"))
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(*args.one)))
        return
    print("| workload | " + " | ".join(TOOLS) + " |")
    print("|---" * (len(TOOLS) + 1) + "|")
    for w in WORKLOADS:
        print(f"| {w} | " + " | ".join(cell(measure(t, w)) for t in TOOLS) + " |")
    print("\nAdamW, bf16-mixed; cells: peak estimate (what it is), time, peak RSS above the model")


if __name__ == "__main__":
    main()
