"""What the report says about value-dependent ops: the scenario, and each op's sizes."""

from __future__ import annotations

from netcost.capture.scenario import DESCRIPTION, SCENARIO
from netcost.report import Diagnostic
from netcost.trace import Trace

VALUE_READ = "aten._local_scalar_dense.default"
SHOWN = 6


def scenario_diagnostics(trace: Trace) -> list[Diagnostic]:
    """One line naming the scenario, then one per (layer, op): how often it ran, the sizes it
    produced (value reads: how many values the model read into Python)."""
    filters = [k for k in trace.kept if k.op != VALUE_READ and not k.exact]
    if not trace.kept:
        return []
    found = []
    if filters:
        found.append(
            Diagnostic(
                "scenario",
                f"value-dependent ops costed under the {SCENARIO} scenario: {DESCRIPTION}",
            )
        )
    groups: dict[tuple[str, str], list[int]] = {}
    for k in trace.kept:
        call = trace.calls[k.call] if 0 <= k.call < len(trace.calls) else None
        place = (call.path or call.type) if call is not None else trace.model_name
        op = f"{k.op} (values known)" if k.exact else k.op
        groups.setdefault((place, op), []).append(k.size)
    reads = {place: len(sizes) for (place, op), sizes in groups.items() if op == VALUE_READ}
    if reads:
        count = sum(reads.values())
        places = list(reads)
        shown = ", ".join(places[:SHOWN]) + (
            f" and {len(places) - SHOWN} more" if len(places) > SHOWN else ""
        )
        text = (
            f"{shown}: read {count:,} tensor value{'s' * (count != 1)} into Python "
            f"({trace.execution} execution: sizes that follow depend on them)"
        )
        found.append(Diagnostic("scenario", text, op=VALUE_READ, count=count, layers=tuple(places)))
    for (place, op), sizes in groups.items():
        if op == VALUE_READ:
            continue
        shown = ", ".join(f"{s:,}" for s in sizes[:SHOWN]) + (", ..." if len(sizes) > SHOWN else "")
        times = f"{len(sizes)}× " if len(sizes) > 1 else ""
        text = f"{place}: {times}{op} kept {shown}"
        found.append(Diagnostic("scenario", text, op=op, count=len(sizes), layers=(place,)))
    return found
