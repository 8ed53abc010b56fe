"""Several reports side by side: totals and per-stage figures, with ratios and differences
against the first."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from netcost.analysis.stages import MEASURES, stages
from netcost.conventions import under
from netcost.errors import UsageError
from netcost.report import Report
from netcost.shown import ShownAsText

#: (label, how to read it from a report and the FLOP convention shown, bytes?) for the totals
#: compared: every report keeps netcost's FLOPs, and all are shown in the first report's
#: convention, so that a comparison never mixes two.
TOTALS: tuple[tuple[str, Callable[[Report, str], int | None], bool], ...] = (
    ("parameters", lambda r, _: r.total.params, False),
    ("MACs", lambda r, _: r.total.macs, False),
    ("FLOPs", lambda r, convention: under(r.total.cost, convention).flops, False),
    ("bytes moved", lambda r, _: r.total.cost.bytes_moved, True),
    ("activations written", lambda r, _: r.total.activation_bytes, True),
    ("inference peak memory", lambda r, _: r.memory.peak_bytes if r.memory else None, True),
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

    def __repr__(self) -> str:
        return f"<Comparison of {', '.join(self.labels)} by {self.measure}>"


def compare(
    reports: list[Report], labels: list[str] | None = None, depth: int = 1, measure: str = "macs"
) -> Comparison:
    """Reports side by side (labels default to their models' names); the stages at `depth`
    compared by `measure`: macs, params, activation_bytes or bytes_moved."""
    if not reports:
        raise UsageError("compare needs one report or more")
    if labels is not None and len(labels) != len(reports):
        raise UsageError(f"compare: {len(labels)} labels for {len(reports)} reports")
    if measure not in MEASURES:
        raise UsageError(f"unknown measure {measure!r}; choose one of: {', '.join(MEASURES)}")
    if labels is None:
        labels = [r.model for r in reports]
    convention = reports[0].convention
    totals = tuple(
        Row(
            f"{label} ({convention} convention)"
            if label == "FLOPs" and convention != "netcost"
            else label,
            tuple(read(r, convention) for r in reports),
            is_bytes,
        )
        for label, read, is_bytes in TOTALS
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
