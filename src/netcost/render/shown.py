"""Every result as the text the command line prints, by the result's type: `str()` of any
result (shown.ShownAsText) comes here, so that no result type imports a renderer to show
itself. One registration per type; formatting only."""

from __future__ import annotations

from functools import singledispatch

from netcost import text as fmt
from netcost.analysis.compare import Comparison
from netcost.analysis.stages import Breakdown
from netcost.analysis.timing import Timing
from netcost.analysis.training_compute import TrainingCompute
from netcost.generation import Generation, ServingPlan
from netcost.measure.profile import Profile
from netcost.render.compare import render_compare
from netcost.render.generation import render_generation
from netcost.render.memory import compute_lines, inference_lines, training_lines
from netcost.render.profile import profile_lines
from netcost.render.serving import serving_lines
from netcost.render.stages import render_stages
from netcost.render.timing import timing_lines
from netcost.report import Memory, TrainingMemory
from netcost.serving import Served


@singledispatch
def as_text(value: object) -> str:
    raise TypeError(f"netcost has no text for a {type(value).__name__}")


def _lines(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


@as_text.register
def _memory(m: Memory) -> str:
    return _lines(inference_lines(m))


@as_text.register
def _training_memory(t: TrainingMemory) -> str:
    return "\n".join(training_lines(t)).rstrip() + "\n"


@as_text.register
def _training_compute(c: TrainingCompute) -> str:
    return _lines(compute_lines(c))


@as_text.register
def _timing(t: Timing) -> str:
    return _lines(timing_lines(t))


@as_text.register
def _profile(p: Profile) -> str:
    return _lines(profile_lines(p))


@as_text.register
def _breakdown(b: Breakdown) -> str:
    return render_stages(b, b.model)


@as_text.register
def _comparison(c: Comparison) -> str:
    return render_compare(c)


@as_text.register
def _generation(g: Generation) -> str:
    return render_generation(g)


@as_text.register
def _served(s: Served) -> str:
    return _lines(serving_lines(s))


@as_text.register
def _serving_plan(p: ServingPlan) -> str:
    lines = []
    if p.batch == 0:
        lines.append(
            f"Not even one sequence fits {fmt.binary_size(p.budget)}: serving needs "
            f"{fmt.binary_size(p.peak)}"
        )
    else:
        nxt = (
            ""
            if p.next_peak is None
            else f"; batch {fmt.count(p.batch + 1)} would need {fmt.binary_size(p.next_peak)}"
        )
        lines.append(
            f"Largest batch for serving within {fmt.binary_size(p.budget)}: "
            f"{fmt.count(p.batch)} (peak {fmt.binary_size(p.peak)}{nxt}; {p.analyses} analyses)"
        )
    if p.device is not None:
        where = (
            f"from batch {fmt.count(p.compute_bound_batch)}"
            if p.compute_bound_batch
            else "at no batch up to 4,096"
        )
        lines.append(f"Decode on {p.device} turns compute-bound {where} (roofline)")
    return _lines(lines)
