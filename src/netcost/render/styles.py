"""Summaries laid out like the ones people already know, so they can be diffed against them:
fastai's `learn.summary()` (as printed by fastai v2, ../shared/seeds/002) and Keras's
`model.summary()` (Keras 2's text layout). Formatting only."""

from __future__ import annotations

from netcost import text as fmt
from netcost.report import Layer, Report

_RULE = 64


def _leaf_modules(report: Report) -> list[tuple[Layer, Layer]]:
    """Each leaf module once, in the order the model registers its modules, with its last call
    (fastai hooks every module and keeps what its last call returned)."""
    first: dict[str, Layer] = {}
    last: dict[str, Layer] = {}
    for layer in report.layers:
        first.setdefault(layer.path, layer)
        last[layer.path] = layer
    ordered = sorted(first.values(), key=lambda m: m.module_order)
    return [(layer, last[layer.path]) for layer in ordered]


def _spaced(shape: tuple[int, ...] | None) -> str:
    return " x ".join(map(str, shape)) if shape else "-"


def render_fastai(report: Report) -> str:
    """fastai's learn.summary(): type, output shape, Param #, Trainable; then the totals."""
    shapes = ", ".join(f"'{_spaced(t.shape)}'" for t in report.inputs)
    lines = [
        f"{report.model} (Input shape: [{shapes}])",
        "=" * _RULE,
        f"{'Layer (type)':<21}{'Output Shape':<21}{'Param #':<11}{'Trainable':<10}",
        "=" * _RULE,
    ]
    for first, last in _leaf_modules(report):
        trainable = "True" if first.trainable_params else "False"
        lines.append(
            f"{first.type:<21}{_spaced(last.output_shape):<21}{fmt.count(first.params):<11}"
            f"{trainable:<10}"
        )
        lines.append("_" * _RULE)
    t = report.total
    lines += ["", f"Total params: {fmt.count(t.params)}"]
    lines.append(f"Total trainable params: {fmt.count(t.trainable_params)}")
    return "\n".join(lines) + "\n"


def render_keras(report: Report) -> str:
    """Keras 2's model.summary(): 'name (Type)', output shape with the batch as None, Param #;
    then total, trainable and non-trainable parameters."""
    widths = (29, 26, 10)
    rule = sum(widths)

    def row(*cells: str) -> str:
        return " " + "".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    lines = [f'Model: "{report.model}"', "_" * rule, row("Layer (type)", "Output Shape",
             "Param #"), "=" * rule]  # fmt: skip
    modules = _leaf_modules(report)
    for n, (first, last) in enumerate(modules):
        shape = last.output_shape
        shown = "(" + ", ".join(["None", *map(str, shape[1:])]) + ")" if shape else "-"
        lines.append(row(f"{first.path} ({first.type})", shown, fmt.count(first.params)))
        lines.append("=" * rule if n == len(modules) - 1 else "")
    t = report.total
    lines += [
        f"Total params: {fmt.count(t.params)}",
        f"Trainable params: {fmt.count(t.trainable_params)}",
        f"Non-trainable params: {fmt.count(t.params - t.trainable_params)}",
        "_" * rule,
    ]
    return "\n".join(lines) + "\n"


#: `--style NAME`: another library's layout of the report
STYLES = {"fastai": render_fastai, "keras": render_keras}
