"""Predicted against measured time on this machine (issue 11): the calibrated estimate and the
roofline bound on `--device local` against `--profile`, over models the calibration never saw.

    python benchmarks/timing.py [PASSES]   # the table; results kept in benchmarks/RESULTS.md

Each pass calibrates this machine (`netcost calibrate`, into a temporary file) and then analyses
and profiles every model: a shared machine's speed drifts by tens of per cent over seconds to
minutes, and PASSES passes spread that drift over both sides alike. Estimated and measured: each
model's (and each layer's) median over the passes.
End-to-end error: the model's calibrated estimate against its measured forward (median of 20,
no hooks). Per-layer error: the median over leaf layers of |estimate − measured| / measured
(measured less the hooks' own cost). Bound violations: leaf layers over 100 µs whose roofline
bound exceeds their measured time.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

import torch

import netcost
from netcost.measure.calibrate import calibrate
from netcost.sources import resolve

PASSES = 3

MODELS = (
    ("torchvision:resnet18", None),
    ("torchvision:resnet50", None),
    ("torchvision:mobilenet_v3_small", None),
    ("torchvision:efficientnet_b0", None),
    ("torchvision:densenet121", None),
    ("torchvision:convnext_tiny", None),
    ("torchvision:vit_b_16", None),
    ("torchvision:squeezenet1_0", None),
    ("hf:bert:num_hidden_layers=4", "1x128:int64"),
    ("examples:simple_cnn", None),
    ("lstm", None),
    ("mlp", None),
)


def build(source: str, spec: str | None):  # type: ignore[no-untyped-def]
    from netcost.inputs import parse_input

    if source == "lstm":
        return torch.nn.LSTM(256, 512, num_layers=2, batch_first=True), torch.randn(8, 64, 256)
    if source == "mlp":
        model = torch.nn.Sequential(
            torch.nn.Linear(1024, 4096), torch.nn.GELU(), torch.nn.Linear(4096, 1024)
        )
        return model, torch.randn(64, 1024)
    resolved = resolve(source)
    specs = (spec,) if spec else resolved.inputs
    return resolved.model, resolved.example_inputs([parse_input(s) for s in specs])


def errors(report, estimates: list[float], whole: float, seconds: dict):  # type: ignore[no-untyped-def]
    """(end-to-end error, median per-layer error, bound violations) of estimates (by module
    index) against one set of measured times."""
    per_layer, violations = [], 0
    for m in report.layers:
        got = seconds.get((m.path, m.call_number))
        if not got:
            continue
        per_layer.append(abs(estimates[m.index] - got) / got)
        if got > 100e-6 and report.time.layers[m.index].seconds > got:
            violations += 1
    return (estimates[0] - whole) / whole, statistics.median(per_layer), violations


def main() -> None:
    passes = int(sys.argv[1]) if len(sys.argv) > 1 else PASSES
    built = [build(source, spec) for source, spec in MODELS]
    reports: list[list] = [[] for _ in MODELS]
    runs: list[list] = [[] for _ in MODELS]
    with tempfile.TemporaryDirectory() as folder:
        for k in range(passes):  # a calibration, then every model: drift spreads over all
            path, _ = calibrate(Path(folder) / f"pass{k}.toml")
            for i, (model, inputs) in enumerate(built):
                with torch.no_grad():
                    reports[i].append(netcost.analyze(model, inputs, device=str(path)))
                runs[i].append(netcost.profile(model, inputs, warmup=3, repeats=20))
    print("| model | measured | calibrated | error | roofline bound | per-layer median error |"
          " bound > measured (layers > 100 µs) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    rows, by_pass = [], [[] for _ in range(passes)]
    kinds: dict[str, list[float]] = {}  # leaf type -> estimate ÷ measured, every model's
    for (source, _), made, profiles in zip(MODELS, reports, runs, strict=True):
        for k, (r, p) in enumerate(zip(made, profiles, strict=True)):
            by_pass[k].append(errors(r, r.time.estimates, p.forward_s, p.layer_seconds()))
        whole = statistics.median(p.forward_s for p in profiles)
        measured = [p.layer_seconds() for p in profiles]
        seconds = {k: statistics.median(m[k] for m in measured) for k in measured[0]}
        columns = zip(*(r.time.estimates for r in made), strict=True)
        estimates = [statistics.median(column) for column in columns]
        error, per_layer, violations = errors(made[0], estimates, whole, seconds)
        rows.append((error, per_layer, violations))
        for m in made[0].layers:
            if seconds.get((m.path, m.call_number)):
                ratio = estimates[m.index] / seconds[(m.path, m.call_number)]
                kinds.setdefault(m.type, []).append(ratio)
        cells = (source, f"{whole * 1e3:.2f} ms", f"{estimates[0] * 1e3:.2f} ms",
                 f"{100 * error:+.1f} %", f"{made[0].time.inference_s * 1e3:.2f} ms",
                 f"{100 * per_layer:.0f} %", str(violations))  # fmt: skip
        print("| " + " | ".join(cells) + " |", flush=True)
    end = 100 * statistics.median(abs(r[0]) for r in rows)
    layer = 100 * statistics.median(r[1] for r in rows)
    print(
        f"\nmedians over {passes} passes: end-to-end error {end:.1f} %, per-layer error "
        f"{layer:.0f} %, bound violations {sum(r[2] for r in rows)}"
    )
    print("\n| leaf type | layers | median estimate ÷ measured | within 25 % |")
    print("|---|---|---|---|")
    for kind, ratios in sorted(kinds.items(), key=lambda kv: -len(kv[1])):
        within = sum(abs(r - 1) <= 0.25 for r in ratios) / len(ratios)
        print(
            f"| {kind} | {len(ratios)} | {statistics.median(ratios):.2f} | {100 * within:.0f} % |"
        )
    for k, found in enumerate(by_pass):
        end = 100 * statistics.median(abs(r[0]) for r in found)
        print(f"pass {k + 1} alone: end-to-end {end:.1f} %, "
              f"per-layer {100 * statistics.median(r[1] for r in found):.0f} %, "
              f"bound violations {sum(r[2] for r in found)}")  # fmt: skip


if __name__ == "__main__":
    main()
