"""Planning: the largest batch whose peak (inference, or a training step's) fits a budget.

peak(b) = resident + b · per_sample for the batch-dependent part (inputs and activations scale
with the batch; parameters and buffers do not). Two analyses (batch 1 and 2) give the line; the
predicted batch is then verified by analysis at it and at the next batch, stepping down or up
until peak(b) ≤ budget < peak(b + 1).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from netcost.errors import NetcostError
from netcost.report import Report

_UNITS = {"": 1, "B": 1, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40,
          "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}  # fmt: skip


def parse_size(text: str) -> int:
    """'16GiB' -> 17179869184; binary (KiB, MiB, GiB) and decimal (KB, MB, GB) units."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([A-Za-z]*)\s*", text)
    unit = match.group(2).upper() if match else ""
    if not match or unit not in _UNITS:
        raise NetcostError(f"cannot read memory size {text!r}: write e.g. 16GiB, 512MiB or 8GB")
    return int(float(match.group(1)) * _UNITS[unit])


@dataclass(frozen=True)
class BatchPlan:
    budget: int
    batch: int  # 0 when not even one sample fits
    peak: int  # the peak at `batch` (at batch 1 when none fits)
    next_peak: int  # the peak at batch + 1


def largest_batch(
    analyze_at: Callable[[int], Report],
    budget: int,
    limit: int = 1 << 20,
    *,
    train: bool = False,
) -> BatchPlan:
    """The largest batch b ≤ limit with peak(b) ≤ budget; analyze_at(b) analyses at batch b (under
    no_grad, and with a training step when `train`)."""
    peaks: dict[int, int] = {}

    def peak(b: int) -> int:
        if b not in peaks:
            report = analyze_at(b)
            memory = report.training if train else report.memory
            if memory is None:
                raise NetcostError(
                    "memory planning needs an analysis under no_grad"
                    + (" with a training step" if train else "")
                )
            peaks[b] = memory.peak_bytes
        return peaks[b]

    if peak(1) > budget:
        return BatchPlan(budget, 0, peak(1), peak(1))
    per_sample = max(peak(2) - peak(1), 1)
    b = max(1, min(limit, 1 + (budget - peak(1)) // per_sample))
    while b > 1 and peak(b) > budget:
        b -= max(1, (peak(b) - budget) // per_sample)
    b = max(b, 1)
    while b < limit and peak(b + 1) <= budget:
        b += 1
    return BatchPlan(budget, b, peak(b), peak(b + 1))
