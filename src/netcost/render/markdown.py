"""Markdown: a GitHub table of the visible module calls, then the totals."""

from __future__ import annotations

from netcost.render import rows
from netcost.report import Report


def render_markdown(report: Report, depth: int | None = None) -> str:
    names = rows.columns(report)
    aligns = ["---" if i < rows.FIRST_NUMBER else "---:" for i in range(len(names))]
    lines = [
        f"### {report.model}",
        "",
        "| " + " | ".join(names) + " |",
        "| " + " | ".join(aligns) + " |",
    ]
    for m in rows.visible(report, depth):
        cells = [c.replace("|", "\\|") for c in rows.row(m, report, indent=False)]
        cells[0] = f"`{cells[0]}`"
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += [f"- {line}" for line in rows.summary_lines(report)]
    lines += [f"- {line}" for line in rows.diagnostic_lines(report)]
    return "\n".join(lines) + "\n"
