"""A comparison as text: one column per model, then ratios and differences against the first."""

from __future__ import annotations

from rich.table import Table

from netcost import text as fmt
from netcost.analysis.compare import Comparison, Row
from netcost.render.console import fitted_table, render_text

_TITLES = {
    "macs": "MACs",
    "params": "Parameters",
    "activation_bytes": "Activations written",
    "bytes_moved": "Bytes moved",
}


def render_compare(c: Comparison, width: int = 120) -> str:
    letters = [chr(ord("A") + i) for i in range(len(c.labels))]
    parts: list[Table | str] = [
        f"{letter}: {label}" for letter, label in zip(letters, c.labels, strict=True)
    ]
    parts.append(_table("Totals", c.totals, letters))
    title = f"{_TITLES[c.measure]} per stage (calls at depth {c.depth})"
    parts.append(_table(title, c.stage_rows, letters))
    return render_text(parts, width)


def _table(title: str, rows: tuple[Row, ...], letters: list[str]) -> Table:
    headers = ["", *letters]
    for letter in letters[1:]:
        headers += [f"{letter}/A", f"{letter}−A"]
    cells = []
    for row in rows:
        line = [row.measure, *(_amount(v, row.is_bytes) for v in row.values)]
        for i in range(1, len(letters)):
            ratio, diff = row.ratio(i), row.difference(i)
            line.append("-" if ratio is None else f"{ratio:.3f}×")
            line.append(_amount(diff, row.is_bytes, signed=True))
        cells.append(line)
    return fitted_table(title, headers, cells)


def _amount(value: int | None, is_bytes: bool, signed: bool = False) -> str:
    if value is None:
        return "-"
    sign = "+" if signed and value > 0 else ("−" if signed and value < 0 else "")
    magnitude = abs(value) if signed else value
    text = fmt.binary_size(magnitude) if is_bytes else fmt.count(magnitude)
    return sign + text
