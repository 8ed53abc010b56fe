"""One self-contained HTML page: summary, sortable layer table, stage summary, plots (inline SVG)
and diagnostics. No network is needed to open it: styles and the sorting script are inline.
Formatting only: numbers come from the Report and analysis results."""

from __future__ import annotations

from html import escape

from netcost.analysis.stages import Breakdown
from netcost.render import rows
from netcost.render.stages import stage_cells
from netcost.report import Report

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 13px; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; white-space: nowrap; }
th { background: #f3f3f3; text-align: left; }
table.sortable th { cursor: pointer; }
table.sortable th[aria-sort=ascending]::after { content: " \\25B2"; }
table.sortable th[aria-sort=descending]::after { content: " \\25BC"; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.container td { color: #777; }
ul.diagnostics li { color: #a33; }
.plot svg { max-width: 100%; height: auto; }
"""

# Sorts a table by the clicked column, by each cell's data-value (numbers) or its text.
_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, column) {
    th.addEventListener("click", function () {
      var descending = th.getAttribute("aria-sort") !== "descending";
      table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", descending ? "descending" : "ascending");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[column], y = b.cells[column];
        var u = x.dataset.value, v = y.dataset.value;
        var order = (u !== undefined && v !== undefined)
          ? Number(u) - Number(v)
          : x.textContent.localeCompare(y.textContent);
        return descending ? -order : order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def _layer_table(report: Report) -> str:
    head = "".join(
        f'<th class="{"num" if i >= rows.FIRST_NUMBER else ""}">{escape(name)}</th>'
        for i, name in enumerate(rows.columns(report))
    )
    body = []
    for m in rows.visible(report, None):
        cells = rows.row(m, report, indent=False)
        values = rows.sort_values(m, report)
        tds = []
        for i, (cell, value) in enumerate(zip(cells, values, strict=True)):
            attr = f' data-value="{value}"' if value is not None else ""
            css = ' class="num"' if i >= rows.FIRST_NUMBER else ""
            tds.append(f"<td{css}{attr}>{escape(cell)}</td>")
        css = "" if m.is_leaf else ' class="container"'
        body.append(f"<tr{css}>{''.join(tds)}</tr>")
    return (
        f'<table class="sortable" id="layers"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _stage_table(b: Breakdown) -> str:
    headers = ("Stage", "Type", "MACs", "% MACs", "Params", "% params", "Activations",
               "% activations", "Bytes moved", "% bytes", "FLOP/B")  # fmt: skip
    head = "".join(f'<th class="{"num" if i >= 2 else ""}">{h}</th>' for i, h in enumerate(headers))
    body = []
    for s in (*b.stages, b.total):  # the total goes in the footer: sorting leaves it last
        values = (
            None, None, s.macs, s.share("macs", b.total), s.params, s.share("params", b.total),
            s.activation_bytes, s.share("activation_bytes", b.total), s.bytes_moved,
            s.share("bytes_moved", b.total), s.intensity,
        )  # fmt: skip
        tds = "".join(
            f'<td class="{"num" if i >= 2 else ""}"'
            + (f' data-value="{v}"' if v is not None else "")
            + f">{escape(text)}</td>"
            for i, (text, v) in enumerate(zip(stage_cells(s, b.total), values, strict=True))
        )
        body.append(f"<tr>{tds}</tr>")
    return (
        f'<table class="sortable" id="stages"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body[:-1])}</tbody><tfoot>{body[-1]}</tfoot></table>"
    )


def render_html_fragment(report: Report, breakdown: Breakdown, plot_svg: str | None = None) -> str:
    """The report's body: what a notebook shows (Report._repr_html_) and the page wraps, with
    the stages at depth 1 the caller worked out (`breakdown`: renderers never compute)."""
    summary = "".join(f"<li>{escape(line)}</li>" for line in rows.summary_lines(report))
    diagnostics = "".join(f"<li>{escape(line)}</li>" for line in rows.diagnostic_lines(report))
    parts = [
        f"<h2>{escape(report.model)}</h2>",
        f"<ul>{summary}</ul>",
        "<h3>Layers</h3>",
        "<p>Click a column to sort by it.</p>",
        _layer_table(report),
        "<h3>Where the compute goes (calls at depth 1)</h3>",
        _stage_table(breakdown),
    ]
    if report.training is not None:
        from netcost.render.memory import compute_lines, training_lines

        shown = training_lines(report.training)
        if report.training_compute is not None:
            shown += compute_lines(report.training_compute)
        lines = "".join(f"{escape(line)}\n" for line in shown)
        parts += ["<h3>A training step's memory</h3>", f"<pre>{lines}</pre>"]
    if plot_svg:
        start = plot_svg.find("<svg")  # drop the XML prologue: the SVG sits inside the page
        parts += ["<h3>Per layer</h3>", f'<div class="plot">{plot_svg[start:]}</div>']
    parts += [
        "<h3>Diagnostics</h3>",
        f'<ul class="diagnostics">{diagnostics or "<li>none</li>"}</ul>',
    ]
    return "\n".join(parts)


def render_html(report: Report, breakdown: Breakdown, plot_svg: str | None = None) -> str:
    """The whole page: one file, nothing fetched."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>netcost: {escape(report.model)}</title><style>{_STYLE}</style></head>\n"
        f"<body>\n{render_html_fragment(report, breakdown, plot_svg)}\n<script>{_SCRIPT}</script>\n"
        "</body></html>\n"
    )
