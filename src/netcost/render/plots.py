"""Per-layer bars of MACs, parameters and activation bytes, and their cumulative shares, as PNG
or SVG (matplotlib, the `plot` extra). Drawing only: every number comes from the Report."""

from __future__ import annotations

import io
from pathlib import Path

from netcost import text as fmt
from netcost.errors import NetcostError
from netcost.report import Report

FORMATS = {".png": "png", ".svg": "svg"}


def _pyplot():  # type: ignore[no-untyped-def]
    try:
        import matplotlib
    except ImportError:
        raise NetcostError("plots need matplotlib: pip install 'netcost[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _ticks(is_bytes: bool):  # type: ignore[no-untyped-def]
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


def figure(report: Report):  # type: ignore[no-untyped-def]
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
    fig = plt.figure(figsize=(13, bar_height + 3.6), layout="constrained")
    grid = fig.add_gridspec(2, 3, height_ratios=[bar_height, 3.0])
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
    inputs = ", ".join(fmt.shape(t.shape) for t in report.inputs)
    fig.suptitle(f"{report.model} at {inputs}: per layer", fontsize=12)
    return fig


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
        raise NetcostError(f"--plot {path}: name a .png or .svg file")
    data = render_plot(report, kind)
    path.write_bytes(data)


def optional_svg(report: Report) -> str | None:
    """The plot as SVG text, or None when matplotlib is not installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return None
    return render_plot(report, "svg").decode()
