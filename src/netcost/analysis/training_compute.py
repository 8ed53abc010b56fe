"""A training step's arithmetic: forward, backward and optimizer-step costs from the ops the step
ran (capture/training.py), each costed by the one registry, backward ops attributed to the layer
whose forward made their autograd node (as memory is)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

from netcost import conventions
from netcost.analysis.fusion import FlatOp, view_aliases
from netcost.analysis.tree import inclusive
from netcost.cost import Cost
from netcost.formulas import costed
from netcost.report import Report
from netcost.shown import ShownAsText
from netcost.trace import StepTrace

PHASES = ("forward", "backward", "optimizer")


@dataclass(frozen=True)
class TrainingCompute(ShownAsText):
    """Costs of one training step by phase, in netcost's FLOP convention (`convention` is how
    they are shown); `backward_by_call` maps (layer path, call number) to the backward ops
    attributed to that call alone (not its children's)."""

    forward: Cost
    backward: Cost
    optimizer: Cost
    backward_by_call: tuple[tuple[tuple[str, int], Cost], ...]
    uncounted: tuple[tuple[str, int], ...]  # (op, calls) not costed: totals a lower bound
    failed: tuple[tuple[str, str], ...] = ()  # (op, why) for those whose formula failed
    #: the costed ops with their tensors, owned by their phase's index in PHASES (the fused view)
    flow: tuple[FlatOp, ...] = ()
    aliases: dict[int, int] | None = None  # a view's tensor number -> its base's
    convention: str = "netcost"  # how FLOPs are shown (conventions.py)

    @property
    def total(self) -> Cost:
        return self.forward + self.backward + self.optimizer

    @property
    def backward_ratio(self) -> float:
        """Backward MACs over forward MACs (2 for convolutions and linear layers)."""
        return self.backward.macs / self.forward.macs if self.forward.macs else 0.0

    def __repr__(self) -> str:
        return (
            f"<TrainingCompute: {self.total.macs:,} MACs (forward {self.forward.macs:,}, "
            f"backward {self.backward.macs:,}, optimizer {self.optimizer.flops:,} FLOPs)>"
        )


def step_compute(trace: StepTrace, convention: str = "netcost") -> TrainingCompute:
    phases: dict[str, Cost] = defaultdict(Cost)
    by_call: dict[tuple[str, int], Cost] = defaultdict(Cost)
    uncounted: dict[str, int] = defaultdict(int)
    failed: dict[str, str] = {}
    flow: list[FlatOp] = []
    for item in costed(trace.events):
        event, entry, cost = item.event, item.entry, item.cost
        phase = _phase(trace, event.index)
        if item.failure is not None:
            failed.setdefault(event.op, item.failure)
        if entry is None or cost is None:
            uncounted[event.op] += 1
            continue
        phases[phase] += cost
        call = trace.calls[event.call] if 0 <= event.call < len(trace.calls) else None
        if not entry.is_free:
            flow.append(FlatOp(event.op, entry.family, event.args, event.outputs, cost,
                               PHASES.index(phase), module=call.path if call else ""))  # fmt: skip
        if phase == "backward":  # the loss's own backward belongs to the model itself
            by_call[(call.path, call.call_number) if call else ("", 0)] += cost
    return TrainingCompute(
        forward=phases["forward"],
        backward=phases["backward"],
        optimizer=phases["optimizer"],
        backward_by_call=tuple(by_call.items()),
        uncounted=tuple(uncounted.items()),
        failed=tuple(failed.items()),
        flow=tuple(flow),
        aliases=view_aliases(trace.events),
        convention=conventions.check(convention),
    )


def _phase(trace: StepTrace, op: int) -> str:
    if op < trace.backward_start:
        return "forward"
    return "backward" if op < trace.optimizer_start else "optimizer"


def with_backward(report: Report, compute: TrainingCompute) -> Report:
    """The report with the step's compute, and each layer's backward cost (its own and its
    children's); backward work of calls the inference report does not have (a module called
    only in train mode) goes to the model itself, so the model's backward is the phase's."""
    by_call = dict(compute.backward_by_call)
    keys = {(m.path, m.call_number) for m in report.modules}
    stray = sum((c for k, c in by_call.items() if k not in keys), Cost())
    own = {
        m.index: by_call.get((m.path, m.call_number), Cost())
        + (stray if m.parent is None else Cost())
        for m in report.modules
    }
    totals = inclusive(report.modules, own)
    modules = tuple(replace(m, backward=totals[m.index]) for m in report.modules)
    return replace(report, modules=modules, training_compute=compute)
