"""Markdown: a GitHub table of the visible module calls, then the totals."""

from __future__ import annotations

from netcost.render import rows
from netcost.report import Report


def render_markdown(report: Report, depth: int | None = None) -> str:
    aligns = ["---" if i < rows.FIRST_NUMBER else "---:" for i in range(len(rows.COLUMNS))]
    lines = [
        f"### {report.model}",
        "",
        "| " + " | ".join(rows.COLUMNS) + " |",
        "| " + " | ".join(aligns) + " |",
    ]
    for m in rows.visible(report, depth):
        cells = [
            c.replace("|", "\\|") for c in rows.cells(m, indent=False, total_macs=report.total.macs)
        ]
        cells[0] = f"`{cells[0]}`"
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += [f"- {line}" for line in rows.summary_lines(report)]
    lines += [f"- {line}" for line in rows.diagnostic_lines(report)]
    return "\n".join(lines) + "\n"
