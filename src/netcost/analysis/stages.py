"""Where the compute goes: the model's calls at one depth ("stages") with their shares of MACs,
parameters, activation bytes and bytes moved, their arithmetic intensity, and the heaviest
layers by each measure.

A stage's activation bytes are the outputs its leaf layers write (what the per-layer table
shows), its bytes moved the reads and writes of its ops. Whatever runs outside every stage (ops
in a parent's own forward, layers above the depth) is the row "(rest)", so the rows add up to
the totals. Intensity = FLOPs / bytes moved (FLOPs per byte, under the report's convention).
"""

from __future__ import annotations

from dataclasses import dataclass

from netcost.errors import UsageError
from netcost.report import Layer, Report
from netcost.shown import ShownAsText

MEASURES = ("macs", "params", "activation_bytes", "bytes_moved")


@dataclass(frozen=True)
class Stage:
    name: str
    type: str
    macs: int
    flops: int
    params: int
    activation_bytes: int
    bytes_moved: int

    @property
    def intensity(self) -> float | None:
        """FLOPs per byte moved (None when nothing is moved)."""
        return self.flops / self.bytes_moved if self.bytes_moved else None

    def share(self, measure: str, total: Stage) -> float:
        whole = getattr(total, measure)
        return getattr(self, measure) / whole if whole else 0.0


@dataclass(frozen=True)
class Breakdown(ShownAsText):
    depth: int
    stages: tuple[Stage, ...]  # in execution order, "(rest)" last when not empty
    total: Stage
    top: tuple[tuple[str, tuple[Layer, ...]], ...]  # per measure, the k heaviest leaf layers
    model: str = ""

    def __repr__(self) -> str:
        return (
            f"<Breakdown of {self.model} at depth {self.depth}: {len(self.stages)} stages, "
            f"{self.total.macs:,} MACs>"
        )


def stages(report: Report, depth: int = 1, top: int = 5) -> Breakdown:
    """The calls at `depth` (1: the model's children) as stages, and the `top` heaviest layers."""
    if depth < 1 or top < 0:
        raise UsageError("stages take a depth of 1 or more and a top of 0 or more")
    by_index = {m.index: m for m in report.modules}
    chosen = [m for m in report.modules if m.depth == depth]
    if not chosen:  # a model without calls that deep: its own calls at the deepest level
        deepest = max(m.depth for m in report.modules)
        chosen = [m for m in report.modules if m.depth == deepest]
    leaves = report.layers
    rows = [_stage(m, _leaves_under(m, by_index), report.shown(m.cost).flops) for m in chosen]
    total = Stage(
        name="total",
        type="",
        macs=report.total.macs,
        flops=report.shown(report.total.cost).flops,
        params=report.total.params,
        activation_bytes=report.total.activation_bytes,
        bytes_moved=report.total.cost.bytes_moved,
    )
    rest = Stage(
        name="(rest)",
        type="",
        **{
            f: getattr(total, f) - sum(getattr(s, f) for s in rows)
            for f in ("macs", "flops", "params", "activation_bytes", "bytes_moved")
        },
    )
    if any(
        getattr(rest, f) for f in ("macs", "flops", "params", "activation_bytes", "bytes_moved")
    ):
        rows.append(rest)
    heaviest = tuple(
        (measure, tuple(sorted(leaves, key=lambda m: -value_of(m, measure))[:top]))
        for measure in MEASURES
    )
    return Breakdown(depth, tuple(rows), total, heaviest, report.model)


def _leaves_under(call: Layer, by_index: dict[int, Layer]) -> list[Layer]:
    todo, found = [call], []
    while todo:
        m = todo.pop()
        if m.is_leaf:
            found.append(m)
        todo.extend(by_index[c] for c in m.children)
    return found


def _stage(call: Layer, leaves: list[Layer], flops: int) -> Stage:
    name = call.name + (f" (call {call.call_number + 1})" if call.call_number else "")
    return Stage(
        name=name,
        type=call.type,
        macs=call.cost.macs,
        flops=flops,
        params=call.params if call.call_number == 0 else 0,  # a module's parameters once
        activation_bytes=sum(m.activation_bytes for m in leaves),
        bytes_moved=call.cost.bytes_moved,
    )


def value_of(layer: Layer, measure: str) -> int:
    """A leaf layer's amount of one of MEASURES."""
    if measure == "macs":
        return layer.cost.macs
    if measure == "bytes_moved":
        return layer.cost.bytes_moved
    return layer.params if measure == "params" else layer.activation_bytes
