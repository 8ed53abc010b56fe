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
    writer.writerow(HEADER)
    for m in rows.visible(report, depth):
        writer.writerow(
            (
                m.path,
                m.type,
                m.depth,
                m.call_number,
                fmt.shapes(m.output_shapes),
                m.params,
                m.trainable_params,
                m.cost.macs,
                m.cost.flops,
                m.cost.bytes_read,
                m.cost.bytes_written,
                m.activation_bytes,
                "x".join(map(str, f.size)) if (f := m.receptive_field) else "",
                "x".join(map(str, f.jump)) if f else "",
            )
        )
    return buffer.getvalue()
