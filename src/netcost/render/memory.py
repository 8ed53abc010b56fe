"""Memory as text: inference peak, a training step's phases and breakdown, per-GPU shares and
batch plans. Formatting only: every number comes from the Report (or analysis results)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from netcost import text as fmt

if TYPE_CHECKING:
    from netcost.analysis.sharding import PerGpu
    from netcost.report import Memory, Report, TrainingMemory


def render_memory(report: Report, per_gpu: PerGpu | None = None) -> str:
    inputs = ", ".join(f"{t.name} {fmt.shape(t.shape)} {t.dtype}" for t in report.inputs)
    lines = [f"Memory of {report.model} for {inputs} (binary units: KiB, MiB, GiB)", ""]
    m = report.memory
    if m is not None:
        lines += [*inference_lines(m), ""]
    if report.training is not None:
        lines += training_lines(report.training)
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


def _parts(parts: list[tuple[str, int]]) -> list[str]:
    """The parts that hold bytes, names aligned."""
    shown = [(name, nbytes) for name, nbytes in parts if nbytes]
    width = max((len(name) for name, _ in shown), default=0)
    return [f"  {name:<{width}}  {fmt.binary_size(nbytes):>12}" for name, nbytes in shown]
