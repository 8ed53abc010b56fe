"""From a Trace to a Report: cost every op, build the module tree, collect diagnostics."""

from __future__ import annotations

from collections import defaultdict

from netcost import conventions
from netcost.analysis.conv_arithmetic import warnings_for
from netcost.analysis.experts import active_params
from netcost.analysis.fusion import view_aliases
from netcost.analysis.memory import inference_memory, live_after_layers
from netcost.analysis.receptive_field import layer_fields
from netcost.analysis.scenario import scenario_diagnostics
from netcost.cost import Cost
from netcost.formulas import costed
from netcost.report import (
    Diagnostic,
    Layer,
    OpRecord,
    OpSummary,
    ReceptiveField,
    Report,
    TensorInfo,
    Totals,
)
from netcost.trace import Trace, specs_in

__all__ = ["build_report"]

MAX_LAYERS_NAMED = 8


def build_report(trace: Trace, convention: str = "netcost") -> Report:
    conventions.check(convention)
    self_costs: dict[int, Cost] = defaultdict(Cost)
    by_op: dict[str, tuple[int, Cost, str]] = {}
    uncounted: dict[str, list[int]] = defaultdict(list)
    failed: dict[str, str] = {}
    records: dict[int, list[OpRecord]] = defaultdict(list)
    for item in costed(trace.events):
        event, entry, cost = item.event, item.entry, item.cost
        if entry is None or cost is None:
            uncounted[event.op].append(event.call)
            if item.failure is not None:
                failed.setdefault(event.op, item.failure)
            continue
        self_costs[event.call] += cost
        if entry.is_free:
            continue  # free ops (views, metadata queries) stay out of the per-op summary
        calls, total, _ = by_op.get(event.op, (0, Cost(), ""))
        family = entry.family
        by_op[event.op] = (calls + 1, total + cost, family)
        records[event.call].append(
            OpRecord(
                event.op, family, event.args, tuple(t.shape for t in event.outputs), cost,
                event.index, event.outputs,
            )
        )  # fmt: skip

    warnings = {
        call: tuple(w for record in ops for w in warnings_for(record))
        for call, ops in records.items()
    }
    modules = _tree(
        trace, self_costs, records, warnings, layer_fields(trace), live_after_layers(trace)
    )
    params = trace.params.values()
    grand = modules[0].cost if modules else Cost()
    totals = Totals(
        params=sum(p.numel for p in params),
        trainable_params=sum(p.numel for p in params if p.trainable),
        param_bytes=sum(p.nbytes for p in params),
        buffer_bytes=trace.buffers_bytes,
        cost=grand,
        activation_bytes=sum(m.activation_bytes for m in modules if m.is_leaf),
        convention=convention,
        **active_params(trace),
    )
    ops = tuple(
        OpSummary(op, family, calls, cost)
        for op, (calls, cost, family) in sorted(
            by_op.items(), key=lambda kv: (-conventions.under(kv[1][1], convention).flops, kv[0])
        )
    )
    inputs = tuple(
        TensorInfo(
            name,
            spec.shape,
            spec.dtype,
            spec.nbytes if spec.sparse else spec.numel * spec.itemsize,
            spec.layout,
            spec.nnz,
        )
        for name, spec in zip(trace.input_names, trace.inputs, strict=False)
    )
    return Report(
        model=trace.model_name,
        inputs=inputs,
        modules=modules,
        total=totals,
        ops=ops,
        diagnostics=_diagnostics(trace, uncounted, failed)
        + tuple(
            Diagnostic("conv_arithmetic", f"{m.name} ({m.type}): {w}", layers=(m.name,))
            for m in modules
            for w in m.warnings
        ),
        execution=trace.execution,
        memory=inference_memory(trace),
        aliases=view_aliases(trace.events),
    )


def _tree(
    trace: Trace,
    self_costs: dict[int, Cost],
    records: dict[int, list[OpRecord]],
    warnings: dict[int, tuple[str, ...]],
    fields: dict[int, ReceptiveField],
    live: dict[int, int],
) -> tuple[Layer, ...]:
    """Inclusive cost = own ops + children's inclusive cost (children finish before parents)."""
    inclusive: dict[int, Cost] = {}
    for call in reversed(trace.calls):
        total = self_costs.get(call.index, Cost())
        for child in call.children:
            total += inclusive[child]
        inclusive[call.index] = total
    layers = []
    for call in trace.calls:
        info = [trace.params[k] for k in call.params]
        layers.append(
            Layer(
                index=call.index,
                path=call.path,
                type=call.type,
                depth=call.depth,
                parent=call.parent,
                children=tuple(call.children),
                call_number=call.call_number,
                module_order=call.module_order,
                input_shapes=tuple(t.shape for t in call.inputs),
                output_shapes=tuple(t.shape for t in call.outputs),
                params=sum(p.numel for p in info),
                trainable_params=sum(p.numel for p in info if p.trainable),
                self_cost=self_costs.get(call.index, Cost()),
                cost=inclusive[call.index],
                activation_elements=sum(t.numel for t in call.outputs),
                activation_bytes=sum(t.numel * t.itemsize for t in call.outputs),
                description=call.description,
                ops=tuple(records.get(call.index, ())),
                warnings=warnings.get(call.index, ()),
                receptive_field=fields.get(call.index),
                live_bytes=live.get(call.index),
            )
        )
    return tuple(layers)


def _diagnostics(
    trace: Trace, uncounted: dict[str, list[int]], failed: dict[str, str]
) -> tuple[Diagnostic, ...]:
    found = [Diagnostic("execution", note) for note in trace.notes]
    found += scenario_diagnostics(trace)
    found += _uncalled(trace)
    for op, calls in uncounted.items():
        names = list(dict.fromkeys(trace.calls[c].path or trace.calls[c].type for c in calls))
        shown = ", ".join(names[:MAX_LAYERS_NAMED]) + (
            f" and {len(names) - MAX_LAYERS_NAMED} more" if len(names) > MAX_LAYERS_NAMED else ""
        )
        found.append(
            Diagnostic(
                "uncounted_op",
                f"{op} {_why(op, failed)}: {len(calls)} call{'s' * (len(calls) != 1)} in {shown} "
                "not counted (totals are a lower bound)",
                op=op,
                count=len(calls),
                layers=tuple(names),
            )
        )
    return tuple(found)


def _uncalled(trace: Trace) -> list[Diagnostic]:
    """Submodules that did not run in this forward (fvcore's uncalled_modules): their parameters
    count, their arithmetic did not run. A module ran when it was called, when one of its
    submodules was (a ModuleList, GPT-2's `h`), or when an op read one of its parameters or
    buffers (nn.MultiheadAttention's `out_proj`, whose weight its parent's function reads). A
    module inside one that did not run is not named again."""
    called = {c.path for c in trace.calls}
    for path in list(called):
        called.update(_ancestors(path))
    aliases = view_aliases(trace.events)
    read = {aliases.get(t.tid, t.tid) for e in trace.events for t in specs_in(e.args.values())}
    for name, number in trace.state_numbers.items():
        if number in read and "." in name:
            owner = name.rsplit(".", 1)[0]
            called.add(owner)
            called.update(_ancestors(owner))
    uncalled = [p for p in trace.module_paths if p not in called]
    skipped = set(uncalled)
    names = [p for p in uncalled if not any(a in skipped for a in _ancestors(p))]
    if not names:
        return []
    shown = ", ".join(names[:MAX_LAYERS_NAMED]) + (
        f" and {len(names) - MAX_LAYERS_NAMED} more" if len(names) > MAX_LAYERS_NAMED else ""
    )
    plural = "s" * (len(names) != 1)
    return [
        Diagnostic(
            "uncalled_module",
            f"{len(names)} module{plural} never ran in this forward: {shown}",
            count=len(names),
            layers=tuple(names),
        )
    ]


def _ancestors(path: str) -> list[str]:
    """'a.b.c' -> ['a', 'a.b']."""
    parts = path.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _why(op: str, failed: dict[str, str]) -> str:
    return f"could not be costed ({failed[op]})" if op in failed else "has no formula"
