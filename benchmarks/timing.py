"""Predicted against measured time on this machine (issue 11): the calibrated estimate and the
roofline bound on `--device local` against `--profile`, over models the calibration never saw.

    netcost calibrate                  # once: this machine's peaks and efficiencies
    python benchmarks/timing.py        # the table; results kept in benchmarks/RESULTS.md

End-to-end error: the model's calibrated estimate against its measured forward (median of 20,
no hooks). Per-layer error: the median over leaf layers of |estimate − measured| / measured
(measured less the hooks' own share). Bound violations: leaf layers over 100 µs whose roofline
bound exceeds their measured time.
"""

from __future__ import annotations

import statistics
import sys

import torch

import netcost
from netcost.sources import resolve

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


def row(source: str, spec: str | None) -> tuple[str, float, float, float, float, float, int]:
    model, inputs = build(source, spec)
    with torch.no_grad():
        report = netcost.analyze(model, inputs, device="local")
    measured = netcost.profile(model, inputs, warmup=3, repeats=20)
    seconds = measured.layer_seconds()
    t = report.time
    errors, violations = [], 0
    for m in report.layers:
        got = seconds.get((m.path, m.call_number))
        if not got:
            continue
        errors.append(abs(t.estimates[m.index] - got) / got)
        if got > 100e-6 and t.layers[m.index].seconds > got:
            violations += 1
    whole = measured.forward_s
    estimate = t.estimates[0]
    return (source, whole, estimate, (estimate - whole) / whole, t.inference_s,
            statistics.median(errors) if errors else 0.0, violations)  # fmt: skip


def main() -> None:
    rows = []
    print("| model | measured | calibrated | error | roofline bound | per-layer median error |"
          " bound > measured (layers > 100 µs) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for source, spec in MODELS:
        r = row(source, spec)
        rows.append(r)
        name, whole, estimate, error, bound, per_layer, violations = r
        cells = (name, f"{whole * 1e3:.2f} ms", f"{estimate * 1e3:.2f} ms", f"{100 * error:+.1f} %",
                 f"{bound * 1e3:.2f} ms", f"{100 * per_layer:.0f} %", str(violations))  # fmt: skip
        print("| " + " | ".join(cells) + " |", flush=True)
    ends = [abs(r[3]) for r in rows]
    layers = [r[5] for r in rows]
    end, layer = 100 * statistics.median(ends), 100 * statistics.median(layers)
    violations = sum(r[6] for r in rows)
    print(f"\nmedian end-to-end error {end:.1f} %, median per-layer error {layer:.0f} %, "
          f"bound violations {violations}", file=sys.stdout)  # fmt: skip


if __name__ == "__main__":
    main()
