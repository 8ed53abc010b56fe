"""Per-GPU memory of data-parallel training, from one simulated step's phase breakdowns.

Each GPU runs the analysed batch as its micro-batch. For N GPUs (docs/memory.md has sources):

- ddp: every GPU holds everything; DistributedDataParallel's reducer also keeps gradient
  buckets as large as all gradients (unless gradient_as_bucket_view=True), resident from the
  start.
- zero1: optimizer state / N (and the optimizer step's temporaries, which follow the shard).
- zero2: gradients / N as well.
- zero3 (FSDP full sharding): parameters / N as well, plus one gathered unit's full
  parameters — here the largest layer's, a lower bound when wrap units span several layers.

Activations, weight copies, buffers, inputs and the other temporaries are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from netcost.errors import UsageError
from netcost.report import PhasePeak, Report

SHARDINGS = ("ddp", "zero1", "zero2", "zero3")


@dataclass(frozen=True)
class PerGpu:
    gpus: int
    sharding: str
    peak_bytes: int
    phase: str
    breakdown: tuple[tuple[str, int], ...]  # as PhasePeak's, per GPU, plus DDP's buckets


def per_gpu(report: Report, gpus: int, sharding: str) -> PerGpu:
    """The per-GPU peak: each phase's breakdown scaled by what the scheme shards; the largest."""
    if report.training is None:
        raise UsageError("per-GPU memory needs a training step: add --train")
    if sharding not in SHARDINGS:
        raise UsageError(f"unknown sharding {sharding!r}; choose one of: {', '.join(SHARDINGS)}")
    if gpus < 1:
        raise UsageError("--gpus must be 1 or more")
    gathered = max((layer.params for layer in report.layers), default=0)
    bytes_per_param = report.total.param_bytes / report.total.params if report.total.params else 0
    unit = round(gathered * bytes_per_param)
    buckets = round(report.total.trainable_params * bytes_per_param)
    best: PerGpu | None = None
    for phase in report.training.phases:
        parts = _scaled(phase, gpus, sharding, unit, buckets)
        total = sum(parts.values())
        if best is None or total > best.peak_bytes:
            best = PerGpu(gpus, sharding, total, phase.phase, tuple(parts.items()))
    assert best is not None
    return best


def _scaled(phase: PhasePeak, n: int, sharding: str, unit: int, buckets: int) -> dict[str, int]:
    parts = dict(phase.breakdown)
    level = SHARDINGS.index(sharding)  # 0 ddp, 1 zero1, 2 zero2, 3 zero3
    grads_full = phase.part("gradients")
    if level >= 1:
        parts["optimizer state"] = -(-parts["optimizer state"] // n)
        if phase.phase == "optimizer step":
            parts["temporaries"] = -(-parts["temporaries"] // n)
    if level >= 2:
        parts["gradients"] = -(-grads_full // n)
    if level >= 3:
        parts["parameters"] = -(-parts["parameters"] // n) + unit
    if level == 0:
        parts["gradient buckets"] = buckets  # every trainable parameter's gradient
    return parts
