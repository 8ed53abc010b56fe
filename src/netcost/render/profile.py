"""A profile as text: measured time per layer beside netcost's predictions. Formatting only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from netcost.render.console import fitted_table, render_text
from netcost.render.timing import seconds

if TYPE_CHECKING:
    from netcost.measure.profile import Profile
    from netcost.report import Report


def profile_lines(p: Profile) -> list[str]:
    lines = [
        f"Measured on {p.device}, median of {p.repeats} runs after {p.warmup} warm-up: forward "
        f"{seconds(p.forward_s)} ({p.method} add {seconds(max(p.hooked_s - p.forward_s, 0))}; "
        f"taken out of each layer: {seconds(p.hook_inside_s)} a call, "
        f"{seconds(p.hook_call_s)} for each call inside it)"
    ]
    if p.training_s is not None:
        lines.append(f"Training step (forward, backward, AdamW step): {seconds(p.training_s)}")
    return lines


def render_profile(report: Report, p: Profile, depth: int | None, width: int = 120) -> str:
    """Each call down to `depth`: MACs, the roofline bound and the calibrated estimate on the
    report's device, the measured time, and efficiency = roofline ÷ measured."""
    from netcost import text as fmt
    from netcost.render.rows import visible

    measured = p.layer_seconds()
    t = report.time
    headers = ["Layer", "MACs", "Measured"]
    if t is not None:
        headers += ["Roofline", "Efficiency"]
    estimates = getattr(t, "estimates", None)
    if estimates:
        headers += ["Calibrated", "Error"]
    rows = []
    for m in visible(report, depth):
        got = measured.get((m.path, m.call_number))
        row = ["  " * max(m.depth - 1, 0) + m.name, fmt.count(m.cost.macs)]
        row.append(seconds(got) if got else "-")
        if t is not None:
            bound = t.layers[m.index].seconds
            row += [seconds(bound) if bound else "0", f"{100 * bound / got:.0f} %" if got else "-"]
        if estimates:
            guess = estimates[m.index]
            row += [seconds(guess), f"{100 * (guess - got) / got:+.0f} %" if got else "-"]
        rows.append(row)
    table = fitted_table(f"{report.model}: measured and predicted", headers, rows)
    lines = profile_lines(p)
    if t is not None:
        total = f"roofline bound {seconds(t.inference_s)} on {t.device.key}"
        if estimates:
            total += f", calibrated estimate {seconds(estimates[0])}"
        lines.append(f"Predicted: {total}; efficiency = roofline ÷ measured")
    return render_text([table, *lines], width)
