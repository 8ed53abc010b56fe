"""Planning: the largest batch whose peak (inference, or a training step's) fits a budget.

peak(b) is taken as non-decreasing in the batch b. Batches 1 and 2 are analysed first; each next
batch is where the line through the two nearest analysed batches crosses the budget (at most
GROWTH times the largest batch known to fit), or the middle of the bracket whenever the last step
did not halve it, until peak(b) ≤ budget < peak(b + 1): a few analyses where the peak is nearly
linear, and at most about 2 · log2(b) + 4 however it bends.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from netcost.errors import UsageError
from netcost.report import Report

_UNITS = {"": 1, "B": 1, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40,
          "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}  # fmt: skip


def parse_size(text: str) -> int:
    """'16GiB' -> 17179869184; binary (KiB, MiB, GiB) and decimal (KB, MB, GB) units."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([A-Za-z]*)\s*", text)
    unit = match.group(2).upper() if match else ""
    if not match or unit not in _UNITS:
        raise UsageError(f"cannot read memory size {text!r}: write e.g. 16GiB, 512MiB or 8GB")
    return int(float(match.group(1)) * _UNITS[unit])


#: How far past the largest batch known to fit one step may go: a line fitted on small batches can
#: be far off (a workspace that appears later), and an overshoot costs a bisection back.
GROWTH = 8


@dataclass(frozen=True)
class BatchPlan:
    budget: int
    batch: int  # 0 when not even one sample fits
    peak: int  # the peak at `batch` (at batch 1 when none fits)
    next_peak: int | None  # the peak at batch + 1 (None when the search stopped at its limit)
    analyses: int  # how many batches were analysed

    @property
    def at_limit(self) -> bool:
        """True when the limit itself fits: the answer is "at least `batch`"."""
        return self.next_peak is None


def peak_of(report: Report, train: bool = False) -> int:
    """The peak a plan compares with its budget: a training step's with `train`, else
    inference's."""
    memory = report.training if train else report.memory
    if memory is None:
        raise UsageError(
            "memory planning needs an analysis under no_grad"
            + (" with a training step" if train else "")
        )
    return memory.peak_bytes


def largest_batch(peak_at: Callable[[int], int], budget: int, limit: int = 1 << 20) -> BatchPlan:
    """The largest batch b ≤ limit with peak_at(b) ≤ budget, for a peak that does not fall as
    the batch grows (e.g. `lambda b: peak_of(analyze(model, input_size=(b, 256)))`)."""
    peaks: dict[int, int] = {}

    def peak(b: int) -> int:
        if b not in peaks:
            peaks[b] = peak_at(b)
        return peaks[b]

    def plan(b: int) -> BatchPlan:
        after = None if b >= limit else peak(b + 1)
        return BatchPlan(budget, b, peak(b), after, len(peaks))

    if peak(1) > budget:
        return BatchPlan(budget, 0, peak(1), peak(1), len(peaks))
    fitting = [1]  # batches known to fit, in the order found (each larger than the last)
    over: int | None = None  # the smallest batch known not to fit
    candidate, halve = 2, False
    while fitting[-1] < limit and (over is None or over - fitting[-1] > 1):
        fits = fitting[-1]
        width = None if over is None else over - fits
        b = min(max(candidate, fits + 1), limit if over is None else over - 1)
        if peak(b) <= budget:
            fitting.append(b)
        else:
            over = b
        fits = fitting[-1]
        if over is not None and width is not None and over - fits > width // 2 and not halve:
            candidate, halve = (fits + over) // 2, True  # the line did not halve it: bisect
            continue
        halve = False
        low = over if over is not None else fitting[-2] if len(fitting) > 1 else None
        if low is None:
            candidate = 2 * fits
            continue
        slope = (peak(low) - peak(fits)) / (low - fits)
        crossing = fits + (budget - peak(fits)) / slope if slope > 0 else GROWTH * fits
        candidate = min(int(crossing), GROWTH * fits)  # the largest the line says fits
    fits = fitting[-1]
    return plan(fits)
