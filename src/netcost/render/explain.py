"""Explanations as text: one block per layer, labels in a column."""

from __future__ import annotations

from netcost.analysis.explain import Explanation
from netcost.text import shapes

LABEL_WIDTH = 15


def render_explanations(explanations: list[Explanation]) -> str:
    blocks = []
    for e in explanations:
        head = f"{e.path}  {e.description}"
        flow = f"{shapes(e.inputs)} → {shapes(e.outputs)}"
        width = max([LABEL_WIDTH] + [len(line.label) for line in e.lines])
        lines = [head, f"  {'shapes':<{width}} {flow}"]
        for line in e.lines:
            lines.append(f"  {line.label:<{width}} {line.text}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
