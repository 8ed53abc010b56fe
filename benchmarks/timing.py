"""Predicted against measured time on this machine (issue 11): the calibrated estimate and the
roofline bound on `--device local` against `--profile`, over models the calibration never saw.

    python benchmarks/timing.py [PASSES] [--threads N] [--save DIR]   # kept in RESULTS.md
    python benchmarks/timing.py --load DIR [DIR ...]   # the table of passes kept before

Each pass runs in a fresh process: it calibrates this machine (`netcost calibrate`, into a
temporary file), then analyses and profiles every model. A shared machine's speed drifts by tens
of per cent over seconds to minutes, and some kernels' speed differs from process to process;
PASSES passes spread both over estimate and measurement alike. Estimated and measured: each
model's (and each layer's) median over the passes. `--threads N`: every process runs torch on N
threads (calibration and profiles alike).
End-to-end error: the model's calibrated estimate against its measured forward (median of 20,
no hooks). Per-layer error: the median over leaf layers of |estimate − measured| / measured
(measured less the hooks' own cost). Bound violations: leaf layers over 100 µs whose roofline
bound exceeds their measured time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
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


def one_pass(out: Path) -> None:
    """One pass, in its own process: calibrate this machine into a temporary file, then analyse
    and profile every model; each model's layers (estimate, roofline bound, measured time less
    the hooks' cost), its estimate, bound and measured forward, written to `out` as JSON."""
    built = [build(source, spec) for source, spec in MODELS]
    found = []
    with tempfile.TemporaryDirectory() as folder:
        path, _ = calibrate(Path(folder) / "local.toml")
        for model, inputs in built:
            with torch.no_grad():
                r = netcost.analyze(model, inputs, device=str(path))
            p = netcost.profile(model, inputs, warmup=3, repeats=20)
            seconds = p.layer_seconds()
            layers = [
                {"path": m.path, "type": m.type, "estimate": r.time.estimates[m.index],
                 "bound": r.time.layers[m.index].seconds,
                 "measured": seconds.get((m.path, m.call_number))}
                for m in r.layers
            ]  # fmt: skip
            found.append({"forward_s": p.forward_s, "estimate_s": r.time.estimates[0],
                          "bound_s": r.time.inference_s, "layers": layers})  # fmt: skip
    out.write_text(json.dumps({"device": p.device, "models": found}))


def errors(model: dict) -> tuple[float, float, int]:
    """(end-to-end error, median per-layer error, bound violations) of one model's estimates
    against its measured times: per layer |estimate − measured| / measured over the leaf layers
    measured; violations: layers over 100 µs whose bound exceeds their measured time."""
    per_layer, violations = [], 0
    for m in model["layers"]:
        got = m["measured"]
        if not got:
            continue
        per_layer.append(abs(m["estimate"] - got) / got)
        violations += got > 100e-6 and m["bound"] > got
    whole = model["forward_s"]
    return (model["estimate_s"] - whole) / whole, statistics.median(per_layer), violations


def median_model(runs: list[dict]) -> dict:
    """One model over the passes: each figure (and each layer's) its median over them."""
    med = lambda xs: statistics.median(xs) if all(x is not None for x in xs) else None  # noqa: E731
    keys = ("estimate", "bound", "measured")
    layers = [
        {"type": ls[0]["type"], **{k: med([m[k] for m in ls]) for k in keys}}
        for ls in zip(*(r["layers"] for r in runs), strict=True)
    ]
    return {k: med([r[k] for r in runs]) for k in ("forward_s", "estimate_s", "bound_s")} | {
        "layers": layers
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("passes", nargs="?", type=int, default=PASSES)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own)")
    parser.add_argument("--save", type=Path, help="keep each pass's JSON in this folder")
    parser.add_argument(
        "--load", type=Path, nargs="+", help="tabulate the passes kept in these folders, run none"
    )
    parser.add_argument("--one-pass", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.one_pass:
        one_pass(args.one_pass)
        return
    passes = [json.loads(f.read_text()) for d in args.load or () for f in sorted(d.glob("*.json"))]
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.save or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for k in range(0 if args.load else args.passes):  # each a fresh process: speeds vary
            out = folder / f"pass{k}.json"
            threads = ["--threads", str(args.threads)] if args.threads else []
            subprocess.run([sys.executable, __file__, "--one-pass", str(out), *threads], check=True)
            passes.append(json.loads(out.read_text()))
    print(f"{len(passes)} passes on {passes[0]['device']}\n")
    print("| model | measured | calibrated | error | roofline bound | per-layer median error |"
          " bound > measured (layers > 100 µs) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    rows = []
    kinds: dict[str, list[float]] = {}  # leaf type -> estimate ÷ measured, every model's
    for i, (source, _) in enumerate(MODELS):
        model = median_model([p["models"][i] for p in passes])
        error, per_layer, violations = errors(model)
        rows.append((error, per_layer, violations))
        for m in model["layers"]:
            if m["measured"]:
                kinds.setdefault(m["type"], []).append(m["estimate"] / m["measured"])
        ms = {k: f"{model[k] * 1e3:.2f} ms" for k in ("forward_s", "estimate_s", "bound_s")}
        cells = (source, ms["forward_s"], ms["estimate_s"], f"{100 * error:+.1f} %", ms["bound_s"],
                 f"{100 * per_layer:.0f} %", str(violations))  # fmt: skip
        print("| " + " | ".join(cells) + " |", flush=True)
    end = 100 * statistics.median(abs(r[0]) for r in rows)
    layer = 100 * statistics.median(r[1] for r in rows)
    print(
        f"\nmedians over {len(passes)} passes: end-to-end error {end:.1f} %, per-layer error "
        f"{layer:.0f} %, bound violations {sum(r[2] for r in rows)}"
    )
    print("\n| leaf type | layers | median estimate ÷ measured | within 25 % |")
    print("|---|---|---|---|")
    for kind, ratios in sorted(kinds.items(), key=lambda kv: -len(kv[1])):
        within = sum(abs(r - 1) <= 0.25 for r in ratios) / len(ratios)
        print(
            f"| {kind} | {len(ratios)} | {statistics.median(ratios):.2f} | {100 * within:.0f} % |"
        )
    for k, p in enumerate(passes):
        found = [errors(m) for m in p["models"]]
        end = 100 * statistics.median(abs(r[0]) for r in found)
        print(f"pass {k + 1} alone: end-to-end {end:.1f} %, "
              f"per-layer {100 * statistics.median(r[1] for r in found):.0f} %, "
              f"bound violations {sum(r[2] for r in found)}")  # fmt: skip


if __name__ == "__main__":
    main()
