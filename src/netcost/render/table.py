"""The terminal table (rich)."""

from __future__ import annotations

from rich.table import Table

from netcost.render import rows
from netcost.render.console import exported, measuring_console, recording_console
from netcost.report import Report

TEXT_MIN_WIDTH = {"Layer": 24, "Type": 12, "Output shape": 14, "RF/jump": 7, "Trainable": 5}


def build(report: Report, depth: int | None = None, drop: tuple[str, ...] = ()) -> Table:
    table = Table(title=f"{report.model}", title_justify="left", show_lines=False)
    names = rows.columns(report)
    keep = [i for i, name in enumerate(names) if name not in drop]
    shown = [rows.row(m, report, indent=True) for m in rows.visible(report, depth)]
    for i in keep:
        name = names[i]
        widest = max([len(name)] + [len(cells[i]) for cells in shown])
        numeric = i >= rows.FIRST_NUMBER  # numbers are never cut; text folds past a readable width
        table.add_column(
            name,
            justify="right" if numeric else "left",
            no_wrap=numeric,
            min_width=widest if numeric else min(widest, TEXT_MIN_WIDTH.get(name, 12)),
            overflow="fold",
        )
    for m, cells in zip(rows.visible(report, depth), shown, strict=True):
        table.add_row(*(cells[i] for i in keep), style="dim" if not m.is_leaf else None)
    return table


def render_table(report: Report, depth: int | None = None, width: int = 120) -> str:
    """The table as text, `width` columns wide, or wider when its numbers need it: a number is
    never cut."""
    measure = measuring_console()
    drop: tuple[str, ...] = ()
    table = build(report, depth)
    for name in rows.OPTIONAL:  # narrow terminal: drop the optional columns one by one
        if measure.measure(table).minimum <= width:
            break
        drop += (name,)
        table = build(report, depth, drop)
    needed = measure.measure(table).minimum
    console = recording_console(max(width, needed))
    console.print(table)
    for line in rows.summary_lines(report):
        console.print(line, highlight=False, markup=False)
    for line in rows.diagnostic_lines(report):
        console.print(line, highlight=False, markup=False)
    return exported(console)
