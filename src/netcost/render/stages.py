"""The stage breakdown as text: a rich table of shares, then the heaviest layers by each measure."""

from __future__ import annotations

from rich.table import Table

from netcost import text as fmt
from netcost.analysis.stages import Breakdown, Stage, value_of
from netcost.render.console import fitted_table, render_text
from netcost.report import Layer

_TITLES = {
    "macs": "MACs",
    "params": "parameters",
    "activation_bytes": "activation bytes",
    "bytes_moved": "bytes moved",
}


def render_stages(breakdown: Breakdown, model: str, width: int = 120) -> str:
    total = breakdown.total
    headers = ("Stage", "Type", "MACs", "%", "Params", "%", "Activations", "%", "Bytes moved",
               "%", "FLOP/B")  # fmt: skip
    rows = [stage_cells(s, total) for s in (*breakdown.stages, total)]
    title = f"{model}: where the compute goes (calls at depth {breakdown.depth})"
    parts: list[Table | str] = [fitted_table(title, headers, rows, left=2, bold_last=True)]
    for measure, layers in breakdown.top:
        parts.append(f"Heaviest layers by {_TITLES[measure]}:")
        parts += ["  " + _top_line(layer, measure, total) for layer in layers]
    return render_text(parts, width)


def stage_cells(s: Stage, total: Stage) -> tuple[str, ...]:
    def pct(measure: str) -> str:
        return f"{100 * s.share(measure, total):.1f}"

    intensity = s.intensity
    return (
        s.name,
        s.type,
        fmt.count(s.macs),
        pct("macs"),
        fmt.count(s.params),
        pct("params"),
        fmt.binary_size(s.activation_bytes),
        pct("activation_bytes"),
        fmt.binary_size(s.bytes_moved),
        pct("bytes_moved"),
        "-" if intensity is None else f"{intensity:.1f}",
    )


def _top_line(layer: Layer, measure: str, total: Stage) -> str:
    value = value_of(layer, measure)
    whole = getattr(total, measure)
    shown = fmt.count(value) if measure in ("macs", "params") else fmt.binary_size(value)
    share = f"{100 * value / whole:.1f} %" if whole else "-"
    return f"{layer.name:<28} {layer.type:<18} {shown:>16}  {share}"
