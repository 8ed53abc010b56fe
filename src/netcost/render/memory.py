"""Memory as text: inference peak, a training step's phases and breakdown, per-GPU shares and
batch plans. Formatting only: every number comes from the Report (or analysis results)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from netcost import text as fmt
from netcost.conventions import under
from netcost.cost import Cost

if TYPE_CHECKING:
    from netcost.analysis.economics import Economics
    from netcost.analysis.sharding import PerGpu
    from netcost.analysis.training_compute import TrainingCompute
    from netcost.report import Memory, Report, TrainingMemory


def economics_lines(e: Economics) -> list[str]:
    """FLOPs per token against 6·N (and its attention term), MFU and a run's duration."""
    lines = [
        f"Training FLOPs per token (forward + backward, {fmt.count(e.tokens)} tokens a step): "
        f"{fmt.count(e.flops_per_token)}; 6·N = {fmt.count(e.six_n)} "
        f"(ratio {e.flops_per_token / e.six_n:.3f})"
        + (
            f"; 6·N + 12·L·H·Q·T = {fmt.count(e.with_attention)} "
            f"(ratio {e.flops_per_token / e.with_attention:.3f})"
            if e.with_attention
            else ""
        )
    ]
    if e.mfu is not None and e.peak is not None:
        lines.append(f"MFU of the measured step: {100 * e.mfu:.1f} % of {e.peak / 1e12:g} TFLOP/s")
    if e.run_seconds is not None and e.run_tokens and e.run_mfu:
        days = e.run_seconds / 86_400
        lines.append(
            f"{e.run_tokens:,.0f} tokens on {e.devices} device{'s' * (e.devices != 1)} at "
            f"{100 * e.run_mfu:.0f} % MFU: {days:,.2f} days, "
            f"{e.run_seconds * e.devices / 3600:,.0f} device-hours"
        )
    return lines


def render_memory(
    report: Report, per_gpu: PerGpu | None = None, economics: Economics | None = None
) -> str:
    inputs = ", ".join(f"{t.name} {fmt.shape(t.shape)} {t.dtype}" for t in report.inputs)
    lines = [f"Memory of {report.model} for {inputs} (binary units: KiB, MiB, GiB)", ""]
    m = report.memory
    if m is not None:
        lines += [*inference_lines(m), ""]
    if report.training is not None:
        lines += training_lines(report.training)
    if report.training_compute is not None:
        lines += [*compute_lines(report.training_compute), ""]
    if economics is not None:
        lines += [*economics_lines(economics), ""]
    if report.time is not None:
        from netcost.render.timing import timing_lines

        lines += [*timing_lines(report.time, report), ""]
    if per_gpu is not None:
        lines += [
            f"Per GPU, {per_gpu.gpus} GPUs with {per_gpu.sharding}, this batch on each: peak "
            f"{fmt.binary_size(per_gpu.peak_bytes)} in the {per_gpu.phase}",
            *_parts(list(per_gpu.breakdown)),
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def inference_lines(m: Memory) -> list[str]:
    return [
        f"Inference (no_grad): peak {fmt.binary_size(m.peak_bytes)} in {m.peak_layer} "
        f"({m.peak_op})",
        *_parts(
            [
                ("parameters", m.params_bytes),
                ("buffers", m.buffers_bytes),
                ("inputs", m.inputs_bytes),
                ("activations", m.activation_peak_bytes),
                ("weight copies", m.weight_copies_bytes),
            ]
        ),
    ]


def training_lines(t: TrainingMemory) -> list[str]:
    peak = t.peak
    where = f" in {peak.layer}" if peak.layer else ""
    lines = [
        f"Training step ({t.optimizer}, {t.precision}): peak {fmt.binary_size(peak.peak_bytes)} "
        f"in the {peak.phase}{where} ({peak.op})",
        *_parts(list(peak.breakdown)),
        "  peak of each phase: "
        + " · ".join(
            f"{p.phase} {fmt.binary_size(p.peak_bytes)}" + (f" ({p.layer})" if p.layer else "")
            for p in t.phases
        ),
        f"  activations alive when forward ends (saved for backward, outputs, loss): "
        f"{fmt.binary_size(t.saved_bytes)}",
    ]
    lines += [f"  ! {note}" for note in t.notes]
    return [*lines, ""]


def compute_lines(c: TrainingCompute) -> list[str]:
    """The step's arithmetic by phase, its FLOPs in the step's convention."""
    ratio = f" ({c.backward_ratio:.2f} × forward)" if c.forward.macs else ""

    def flops(cost: Cost) -> str:
        return f"{fmt.count(under(cost, c.convention).flops)} FLOPs"

    rows = [
        ("forward", f"{fmt.count(c.forward.macs)} MACs, {flops(c.forward)}"),
        ("backward", f"{fmt.count(c.backward.macs)} MACs{ratio}, {flops(c.backward)}"),
        ("optimizer step", flops(c.optimizer)),
        ("total", f"{fmt.count(c.total.macs)} MACs, {flops(c.total)}"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = ["Training step compute:", *(f"  {name:<{width}}  {text}" for name, text in rows)]
    failed = dict(c.failed)
    for op, calls in c.uncounted:
        why = f"could not be costed ({failed[op]})" if op in failed else "has no formula"
        lines.append(f"  ! {op} {why}: {calls} calls not counted (a lower bound)")
    return lines


def _parts(parts: list[tuple[str, int]]) -> list[str]:
    """The parts that hold bytes, names aligned."""
    shown = [(name, nbytes) for name, nbytes in parts if nbytes]
    width = max((len(name) for name, _ in shown), default=0)
    return [f"  {name:<{width}}  {fmt.binary_size(nbytes):>12}" for name, nbytes in shown]
