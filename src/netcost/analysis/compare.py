"""Several reports side by side: totals and per-stage figures, with ratios and differences
against the first."""

from __future__ import annotations

from dataclasses import dataclass

from netcost.analysis.stages import MEASURES, stages
from netcost.errors import NetcostError
from netcost.report import Report
from netcost.shown import ShownAsText

#: (label, how to read it from a report, bytes?) for the totals compared.
TOTALS = (
    ("parameters", lambda r: r.total.params, False),
    ("MACs", lambda r: r.total.macs, False),
    ("FLOPs", lambda r: r.total.flops, False),
    ("bytes moved", lambda r: r.total.cost.bytes_moved, True),
    ("activations written", lambda r: r.total.activation_bytes, True),
    ("inference peak memory", lambda r: r.memory.peak_bytes if r.memory else None, True),
)


@dataclass(frozen=True)
class Row:
    measure: str
    values: tuple[int | None, ...]  # one per report; None where it has no such figure
    is_bytes: bool

    def ratio(self, i: int) -> float | None:
        """values[i] / values[0]."""
        base, v = self.values[0], self.values[i]
        return v / base if base and v is not None else None

    def difference(self, i: int) -> int | None:
        """values[i] − values[0]."""
        base, v = self.values[0], self.values[i]
        return v - base if base is not None and v is not None else None


@dataclass(frozen=True)
class Comparison(ShownAsText):
    labels: tuple[str, ...]
    totals: tuple[Row, ...]
    stage_rows: tuple[Row, ...]  # one measure of the stages (calls at `depth`), by name
    depth: int
    measure: str = "macs"  # which: analysis/stages.py MEASURES

    def table(self, width: int = 120) -> str:
        from netcost.render.compare import render_compare

        return render_compare(self, width)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return f"<Comparison of {', '.join(self.labels)} by {self.measure}>"


def compare(
    reports: list[Report], labels: list[str] | None = None, depth: int = 1, measure: str = "macs"
) -> Comparison:
    """Reports side by side (labels default to their models' names); the stages at `depth`
    compared by `measure`: macs, params, activation_bytes or bytes_moved."""
    if not reports:
        raise NetcostError("compare needs one report or more")
    if labels is not None and len(labels) != len(reports):
        raise NetcostError(f"compare: {len(labels)} labels for {len(reports)} reports")
    if measure not in MEASURES:
        raise NetcostError(f"unknown measure {measure!r}; choose one of: {', '.join(MEASURES)}")
    if labels is None:
        labels = [r.model for r in reports]
    totals = tuple(
        Row(label, tuple(read(r) for r in reports), is_bytes) for label, read, is_bytes in TOTALS
    )
    per_report = [
        {s.name: getattr(s, measure) for s in stages(r, depth, top=0).stages} for r in reports
    ]
    names = list(dict.fromkeys(name for rows in per_report for name in rows))
    is_bytes = measure in ("activation_bytes", "bytes_moved")
    stage_rows = tuple(
        Row(name, tuple(rows.get(name) for rows in per_report), is_bytes) for name in names
    )
    return Comparison(tuple(labels), totals, stage_rows, depth, measure)
