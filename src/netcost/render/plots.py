"""Per-layer bars of MACs, parameters and activation bytes, and their cumulative shares, as PNG
or SVG (matplotlib, the `plot` extra). Drawing only: every number comes from the Report."""

from __future__ import annotations

import io
from pathlib import Path

from netcost import text as fmt
from netcost.errors import UnsupportedError, UsageError
from netcost.report import Report

FORMATS = {".png": "png", ".svg": "svg"}


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise UnsupportedError("plots need matplotlib: pip install 'netcost[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _ticks(is_bytes: bool):
    """Axis labels in binary units for bytes, k/M/G for counts (never an offset like 1e8)."""
    from matplotlib.ticker import FuncFormatter

    def label(value: float, _: int) -> str:
        if is_bytes:
            return fmt.binary_size(int(value)).replace(".00", "")
        for size, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
            if abs(value) >= size:
                return f"{value / size:g}{suffix}"
        return f"{value:g}"

    return FuncFormatter(label)


def figure(report: Report):
    """The figure: three bar panels sharing the layer axis, cumulative shares underneath."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator, MultipleLocator

    layers = list(report.layers)
    names = [m.name + (f" ({m.call_number + 1})" if m.call_number else "") for m in layers]
    t = report.total
    totals = (t.cost.macs, t.params, t.activation_bytes)  # the report's, whatever the bars hold
    columns = [
        [m.cost.macs for m in layers],
        [m.params for m in layers],
        [m.activation_bytes for m in layers],
    ]
    rest = [total - sum(values) for total, values in zip(totals, columns, strict=True)]
    if any(rest):  # ops and parameters of parent modules themselves (a ViT's cls token)
        names.append("(outside the leaf layers)")
        for values, extra in zip(columns, rest, strict=True):
            values.append(extra)
    n = len(names)
    bar_height = max(3.0, 0.17 * n + 1.0)
    timed = report.time is not None
    fig = plt.figure(figsize=(13, bar_height + 3.6 + (5.0 if timed else 0)), layout="constrained")
    grid = fig.add_gridspec(
        3 if timed else 2, 3, height_ratios=[bar_height, 3.0, 5.0] if timed else [bar_height, 3.0]
    )
    measures = (
        ("MACs", columns[0], fmt.count),
        ("Parameters", columns[1], fmt.count),
        ("Activations written", columns[2], fmt.binary_size),
    )
    label_size = 8 if n <= 40 else 6
    for column, (title, values, show) in enumerate(measures):
        ax = fig.add_subplot(grid[0, column])
        ax.barh(range(n), values, color=f"C{column}")
        ax.set_ylim(n - 0.5, -0.5)  # first layer on top
        ax.set_yticks(range(n))
        ax.set_yticklabels(names if column == 0 else [""] * n, fontsize=label_size)
        ax.set_title(f"{title} (total {show(sum(values))})", fontsize=10)
        ax.tick_params(axis="x", labelsize=8)
        ax.xaxis.set_major_formatter(_ticks(show is fmt.binary_size))
        if show is fmt.binary_size and max(values, default=0) >= 4:
            step = 2 ** (max(values) // 4).bit_length()  # ticks at binary round numbers
            ax.xaxis.set_major_locator(
                MultipleLocator(step // 2 if step > max(values) / 2 else step)
            )
        else:
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
        ax.grid(axis="x", alpha=0.3)
    ax = fig.add_subplot(grid[1, :])
    for column, (title, values, _) in enumerate(measures):
        total = sum(values) or 1
        running, curve = 0, []
        for v in values:
            running += v
            curve.append(100 * running / total)
        ax.plot(range(1, n + 1), curve, color=f"C{column}", label=title,
                marker="." if n <= 40 else None)  # fmt: skip
    ax.set_xlim(1, max(n, 2))
    ax.set_ylim(0, 100)
    ax.set_xlabel("layers, in execution order", fontsize=9)
    ax.set_ylabel("cumulative share (%)", fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    if timed:
        _roofline(fig.add_subplot(grid[2, :]), report)
    inputs = ", ".join(fmt.shape(t.shape) for t in report.inputs)
    fig.suptitle(f"{report.model} at {inputs}: per layer", fontsize=12)
    return fig


def _roofline(ax, report: Report) -> None:
    """Log-log arithmetic intensity (FLOP/byte) against FLOP/s at the roofline time, with the
    device's memory roof and its compute roofs; one point per leaf layer, sized by its time."""
    t = report.time
    assert t is not None, "a roofline needs a device"
    d = t.device
    points = [
        (intensity, lt.flops_per_s, lt.seconds)
        for m in report.layers
        if (lt := t.layers[m.index]).seconds and lt.flops and (intensity := lt.intensity)
    ]
    named: dict[float, list[str]] = {}  # one roof per value: "matrix bf16/fp16"
    for unit, peaks, keys in (("matrix", d.matrix, ("tf32", "bf16", "fp16")),
                              ("vector", d.vector, ("fp32",))):  # fmt: skip
        for k in keys:
            if k in peaks:
                named.setdefault(peaks[k], []).append(f"{unit} {k}")
    roofs = {" / ".join(names): value for value, names in named.items()}
    xs = [p[0] for p in points] or [1.0]
    low, high = min(xs) / 4, max(max(xs) * 4, max(roofs.values(), default=1) / d.bandwidth * 4)
    top = max(roofs.values(), default=max((p[1] for p in points), default=1.0))
    ax.plot([low, top / d.bandwidth], [low * d.bandwidth, top], color="k", lw=1)
    ax.annotate(f"{d.bandwidth / 1e9:g} GB/s", (low, low * d.bandwidth), fontsize=8)
    for i, (label, value) in enumerate(sorted(roofs.items(), key=lambda kv: kv[1])):
        ax.plot([value / d.bandwidth, high], [value, value], color=f"C{i + 3}", lw=1)
        ax.annotate(f"{label} {value / 1e12:g} TFLOP/s", (high, value), fontsize=8, ha="right",
                    va="bottom")  # fmt: skip
    if points:
        longest = max(p[2] for p in points)
        ax.scatter([p[0] for p in points], [p[1] for p in points], alpha=0.6,
                   s=[10 + 300 * p[2] / longest for p in points])  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP per byte moved)", fontsize=9)
    ax.set_ylabel("FLOP/s at the roofline time", fontsize=9)
    ax.set_title(f"Roofline on {d.key}: one point per layer, sized by its time", fontsize=10)
    ax.grid(alpha=0.3, which="both")


def render_plot(report: Report, kind: str) -> bytes:
    """The figure as PNG or SVG bytes."""
    plt = _pyplot()
    fig = figure(report)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=kind, dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def save_plot(report: Report, path: Path) -> None:
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise UsageError(f"--plot {path}: name a .png or .svg file")
    data = render_plot(report, kind)
    path.write_bytes(data)


def optional_svg(report: Report) -> str | None:
    """The plot as SVG text, or None when matplotlib is not installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return None
    return render_plot(report, "svg").decode()
