"""Time on a device as text: the summary lines under the table. Formatting only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from netcost import text as fmt

if TYPE_CHECKING:
    from netcost.analysis.timing import Timing
    from netcost.report import Report


def seconds(s: float) -> str:
    """0.00123 -> '1.23 ms'."""
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s * 1e9:.3g} ns"


#: what each kernel view means, said beside every time shown in it
KERNEL_WORDS = {
    "fused": "fused, as engines run the model (attention one kernel with no score matrix in "
    "memory, the KV cache written in place and read once, point-wise chains fused)",
    "eager": "eager, one kernel per op, as PyTorch eager runs the model's code",
}


def timing_lines(t: Timing, report: Report | None = None) -> list[str]:
    d = t.device
    root = max(t.layers, key=lambda layer: layer.seconds) if t.layers else None
    rate = root.flops_per_s if root else 0.0
    memory_share = root.memory_share if root else 0.0
    tf32 = "TF32" if t.tf32_matmul else "FP32"
    lines = [
        f"Time on {d.key} ({d.name}), roofline lower bound: {seconds(t.inference_s)} for "
        f"inference = {rate / 1e12:.4g} TFLOP/s; {100 * memory_share:.0f} % of it in "
        f"memory-bound ops (dense datasheet peaks, `netcost devices`; fp32 products as {tf32})",
        f"Kernels: {KERNEL_WORDS[t.kernels]} ({fmt.count(t.kernel_count)} kernels; "
        f"--kernels {'eager' if t.kernels == 'fused' else 'fused'} for the other view)",
    ]
    if t.estimate_s is not None and t.estimate_source:
        lines.append(
            f"Calibrated estimate on {d.key}: {seconds(t.estimate_s)} for inference "
            f"({t.estimate_source})"
        )
    if t.phases:
        parts = " + ".join(f"{name} {seconds(s)}" for name, s in t.phases)
        lines.append(f"Training step on {d.key} (bound): {parts} = {seconds(t.training_s or 0.0)}")
    if t.phase_estimates:
        parts = " + ".join(f"{name} {seconds(s)}" for name, s in t.phase_estimates)
        total = sum(s for _, s in t.phase_estimates)
        lines.append(f"Training step on {d.key} (estimate): {parts} = {seconds(total)}")
    if report is not None:
        lines += _fits(t, report)
    lines += [f"! {note}" for note in t.notes]
    return lines


def _fits(t: Timing, report: Report) -> list[str]:
    capacity = t.device.memory_bytes
    peaks = []
    if report.memory is not None:
        peaks.append(("inference", report.memory.peak_bytes))
    if report.training is not None:
        peaks.append(("the training step", report.training.peak_bytes))
    return [
        f"Memory on {t.device.key}: {what} peaks at {fmt.binary_size(peak)} of its "
        f"{fmt.binary_size(capacity)} ({'fits' if peak <= capacity else 'does not fit'})"
        for what, peak in peaks
    ]
