"""CSV: one row per visible module call, exact integers."""

from __future__ import annotations

import csv
import io

from netcost import text as fmt
from netcost.render import rows
from netcost.report import Report

HEADER = (
    "path", "type", "depth", "call", "output_shapes", "params", "trainable_params",
    "macs", "flops", "bytes_read", "bytes_written", "activation_bytes",
    "receptive_field", "rf_jump",
)  # fmt: skip


def render_csv(report: Report, depth: int | None = None) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header, records = to_records(report, depth)
    writer.writerow(header)
    writer.writerows(records)
    return buffer.getvalue()


def to_records(report: Report, depth: int | None = None) -> tuple[tuple[str, ...], list[tuple]]:
    """The header and one tuple per visible module call: what CSV and to_pandas() hold."""
    records = []
    for m in rows.visible(report, depth):
        records.append(
            (
                m.path,
                m.type,
                m.depth,
                m.call_number,
                fmt.shapes(m.output_shapes),
                m.params,
                m.trainable_params,
                m.cost.macs,
                report.shown(m.cost).flops,
                m.cost.bytes_read,
                m.cost.bytes_written,
                m.activation_bytes,
                "x".join(map(str, f.size)) if (f := m.receptive_field) else "",
                "x".join(map(str, f.jump)) if f else "",
            )
        )
    return HEADER, records
