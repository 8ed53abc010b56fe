"""The terminal table (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from netcost.render import rows
from netcost.report import Report


def build(report: Report, depth: int | None = None) -> Table:
    table = Table(title=f"{report.model}", title_justify="left", show_lines=False)
    shown = [rows.cells(m, indent=True) for m in rows.visible(report, depth)]
    widest = max((len(cells[0]) for cells in shown), default=5)
    for i, name in enumerate(rows.COLUMNS):
        table.add_column(
            name,
            justify="right" if i >= 3 else "left",
            no_wrap=True,
            min_width=min(widest, 40) if i == 0 else None,
        )
    for m, cells in zip(rows.visible(report, depth), shown, strict=True):
        table.add_row(*cells, style="dim" if not m.is_leaf else None)
    return table


def render_table(report: Report, depth: int | None = None, width: int = 120) -> str:
    console = Console(width=width, record=True, file=_Null(), color_system=None)
    print_table(report, depth, console)
    return console.export_text()


def print_table(report: Report, depth: int | None, console: Console) -> None:
    console.print(build(report, depth))
    for line in rows.summary_lines(report):
        console.print(line, highlight=False, markup=False)
    for line in rows.diagnostic_lines(report):
        console.print(line, style="yellow", highlight=False, markup=False)


class _Null:
    def write(self, _: str) -> int:
        return 0

    def flush(self) -> None:
        pass
