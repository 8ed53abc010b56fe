"""Which module calls a tabular view shows, and their cells as text: shared by table, csv and
markdown so the three never disagree."""

from __future__ import annotations

from netcost import text as fmt
from netcost.report import Layer, Report, Totals

COLUMNS = ("Layer", "Type", "Output shape", "RF/jump", "Trainable", "Params", "MACs", "% MACs",
           "FLOPs", "Activations", "Bytes moved")  # fmt: skip
FIRST_NUMBER = 5  # columns from here on are right-aligned numbers
#: Dropped in this order, one at a time, while a table is wider than the terminal.
OPTIONAL = ("Trainable", "RF/jump", "Bytes moved", "FLOPs", "Type")


TIME_COLUMNS = ("Time", "% time", "Bound")
ESTIMATE_COLUMN = "Estimate"


def columns(report: Report) -> tuple[str, ...]:
    """The columns of this report's tables: the time columns when it was timed on a device,
    and the estimate beside the bound where there is one."""
    if report.time is None:
        return COLUMNS
    return COLUMNS + TIME_COLUMNS + ((ESTIMATE_COLUMN,) if report.time.estimates else ())


def row(m: Layer, report: Report, *, indent: bool) -> tuple[str, ...]:
    """cells() and, for a timed report, the layer's time, its share and its bound."""
    base = cells(m, indent=indent, total_macs=report.total.macs, flops=report.shown(m.cost).flops)
    t = report.time
    if t is None:
        return base
    from netcost.render.timing import seconds

    layer = t.layers[m.index]
    share = f"{100 * layer.seconds / t.inference_s:.1f}" if t.inference_s else "-"
    estimate = (
        (seconds(t.estimates[m.index]) if t.estimates[m.index] else "0",) if t.estimates else ()
    )
    return (*base, seconds(layer.seconds) if layer.seconds else "0", share,
            layer.bound if layer.seconds else "-", *estimate)  # fmt: skip


def visible(report: Report, depth: int | None) -> list[Layer]:
    """Calls down to `depth` (1 = the model's children); the model itself only when it is a
    single layer."""
    if len(report.modules) == 1:
        return list(report.modules)
    return [m for m in report.modules if m.depth >= 1 and (depth is None or m.depth <= depth)]


def cells(m: Layer, *, indent: bool, total_macs: int, flops: int) -> tuple[str, ...]:
    """A layer's text cells; `flops` as the report shows them (its convention)."""
    name = m.name
    if m.call_number:
        name += f" (call {m.call_number + 1})"
    if m.warnings:
        name += " !"  # its window arithmetic is explained under the table
    return (
        ("  " * max(m.depth - 1, 0) + name) if indent else name,
        m.type,
        fmt.shapes(m.output_shapes),
        _field(m),
        _trainable(m),
        fmt.count(m.params),
        fmt.count(m.cost.macs),
        f"{100 * m.cost.macs / total_macs:.1f}" if total_macs else "-",
        fmt.count(flops),
        fmt.binary_size(m.activation_bytes),
        fmt.binary_size(m.cost.bytes_moved),
    )


def sort_values(m: Layer, report: Report) -> tuple[int | float | None, ...]:
    """The numbers behind row(): what an interactive table sorts by (None: sort as text)."""
    flops = report.shown(m.cost).flops
    values: tuple[int | float | None, ...] = (
        None, None, None, None, None,
        m.params, m.cost.macs, m.cost.macs, flops, m.activation_bytes, m.cost.bytes_moved,
    )  # fmt: skip
    if report.time is not None:
        seconds = report.time.layers[m.index].seconds
        values += (seconds, seconds, None)
        if report.time.estimates:
            values += (report.time.estimates[m.index],)
    return values


def _trainable(m: Layer) -> str:
    """yes, no, part (some of its parameters are frozen), or - (it has none)."""
    if not m.params:
        return "-"
    if m.trainable_params == m.params:
        return "yes"
    return "part" if m.trainable_params else "no"


def _field(m: Layer) -> str:
    f = m.receptive_field
    return "-" if f is None else fmt.field(f.size, f.jump, f.exact)


def _active(t: Totals) -> list[str]:
    """Mixture of experts: the parameters one token uses, and the routing that says so."""
    if not t.routing:
        return []
    if t.active_params is None:
        return [f"Active params per token: unknown ({t.routing})"]
    return [f"Active params per token: {fmt.count(t.active_params)} ({t.routing})"]


def summary_lines(report: Report) -> list[str]:
    t = report.total
    inputs = ", ".join(
        f"{i.name} {fmt.shape(i.shape)} {i.dtype}"
        + (f" {i.layout} ({fmt.count(i.nnz or 0)} stored)" if i.layout != "strided" else "")
        for i in report.inputs
    )
    lines = [
        f"Input: {inputs or '-'}",
        f"Params: {fmt.count(t.params)} ({fmt.count(t.trainable_params)} trainable, "
        f"{fmt.count(t.params - t.trainable_params)} frozen), {fmt.binary_size(t.param_bytes)}",
        *_active(t),
        f"Activations written: {fmt.binary_size(t.activation_bytes)} (every layer's outputs)",
        f"MACs: {fmt.count(t.cost.macs)}",
        f"FLOPs: {fmt.count(report.shown(t.cost).flops)}  ({report.convention} convention)",
        f"Bytes moved: {fmt.binary_size(t.cost.bytes_moved)} "
        f"(read {fmt.binary_size(t.cost.bytes_read)}, "
        f"written {fmt.binary_size(t.cost.bytes_written)})",
    ]
    m = report.memory
    if m is not None:
        lines.append(
            f"Inference memory: {fmt.binary_size(m.peak_bytes)} at the peak = params "
            f"{fmt.binary_size(m.params_bytes)} + buffers {fmt.binary_size(m.buffers_bytes)} + "
            f"inputs {fmt.binary_size(m.inputs_bytes)} + activations "
            f"{fmt.binary_size(m.activation_peak_bytes)}"
            + (
                f" + weight copies {fmt.binary_size(m.weight_copies_bytes)}"
                if m.weight_copies_bytes
                else ""
            )
            + f" (in {m.peak_layer}, {m.peak_op})"
        )
    if report.time is not None:
        from netcost.render.timing import timing_lines

        lines += timing_lines(report.time, report)
    if report.execution != "fake":
        lines.append(f"Executed: on {report.execution} tensors")
    return lines


def diagnostic_lines(report: Report) -> list[str]:
    """Every diagnostic, one line each: layers marked ! in the table are explained here."""
    lines = [f"! {d.message}" for d in report.diagnostics]
    if not report.complete:
        lines.append("! the report is INCOMPLETE: some ops were not counted")
    return lines
