"""A calibrated estimate of time on `--device local` (after `netcost calibrate`): each op's
roofline with the efficiency this machine measured for the op's family, plus its overheads.

An op's estimate is max(FLOPs / (peak · efficiency), bytes / bandwidth at its bytes) + the per-op
overhead; a layer's is its ops' plus the module overhead of each call inside it.
- Matrix families (linear products, dense, 1 × 1 and depthwise convolutions, fused attention
  cores, fused recurrent layers): the efficiency of the calibrated kernels nearest the op in
  size and arithmetic intensity (log FLOPs, log FLOPs per byte): two kernels of equal FLOPs
  differ when one streams a large weight through a small map (a ResNet's last stage) and the
  other a small weight over a large one (its first). On a CPU a convolution reads the kernels
  timed on its own path (PyTorch's im2col + BLAS, or oneDNN: measure/conv_path.py), where the
  calibration timed the two apart.
- Vector families (pooling, layer norm, other norms, reductions, GELU, other transcendental,
  in-place and other point-wise ops: hardsigmoid and hardtanh are piecewise linear,
  point-wise): interpolated in log FLOPs. The first op after a matrix product reads the
  family's curve measured right after a product wrote its input (a product leaves caches and
  translation buffers to refill); a call that runs no op there pays the empty call's extra.
- When the forward's memory outgrows the caches (its inference peak: parameters, buffers,
  inputs and the activations alive at once, against the calibration's `cache_bytes`), each
  weight, and the memory each output is written to, was last touched long before: every op
  reads its family's kernels timed with all but their input evicted (`{family}_cold`,
  `{family}_cold_curve`), ahead of the after-product curve; in-place ops (relu_, silu_, …), which
  write into the input the op before has just written, have none and keep their curves. A
  layer that runs no kernel (an eval-mode dropout, a view) pays, instead of its ops' cold
  times, what an empty layer adds right after the eviction (`module_overhead_cold_s`): its
  call's code and data were evicted too.
Below a family's smallest calibrated size, the smallest's time is held: a kernel takes no less
than the smallest one timed.
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING

from netcost.analysis.timing import op_dtype, peak
from netcost.cost import Cost
from netcost.devices import Device
from netcost.measure.conv_path import conv_family, native_conv_of

if TYPE_CHECKING:
    from netcost.report import OpRecord, Report

#: A calibrated family's stand-in where a calibration lacks it (older files, other devices).
FALLBACK = {
    "conv_native": "conv",
    "conv_1x1_native": "conv_1x1",
    "conv_depthwise_native": "conv_depthwise",
    "conv_depthwise": "conv",
    "conv_1x1": "conv",
    "conv": "matmul",
    "attention": "matmul",
    "rnn": "matmul",
    "inplace": "pointwise",
    "pool": "pointwise",
    "norm": "pointwise",
    "layer_norm": "norm",
    "gelu": "transcendental",
    "transcendental": "pointwise",
    "reduction": "pointwise",
}

#: op name part -> calibrated vector family (point-wise ops otherwise)
VECTOR_FAMILIES = (
    ("pool", "pool"),
    ("layer_norm", "layer_norm"),
    ("norm", "norm"),
    *((f, "reduction") for f in ("mean", "sum", "amax", "amin")),
    ("gelu", "gelu"),
    *((f, "transcendental") for f in ("silu", "sigmoid", "tanh", "exp", "erf", "softmax")),
)

#: how many calibrated kernels an estimate reads, nearest first
NEIGHBOURS = 3


def family(op: str, matrix: bool, conv: str | None = None) -> str:
    """The calibrated family an op's kernel belongs to. Matrix units: fused attention cores,
    fused recurrent layers, convolutions (depthwise, 1 × 1 — a matrix product of its own shape —
    or wider), other products. Vector units: pooling, layer norms (a mean and a variance per
    row), other norms (batch norm at inference: a scale and a shift per channel), reductions
    (mean, sum, amax, amin: a global average pool is a mean), GELU (erf), other transcendental
    point-wise ops (SiLU, sigmoid, tanh, …; not the piecewise-linear hardsigmoid or hardtanh),
    in-place point-wise ops (relu_, add_: they allocate nothing), other point-wise ops.
    `conv`: a convolution's own family, by its kind and CPU path (measure/conv_path.py)."""
    if matrix:
        if "attention" in op:
            return "attention"
        if "rnn" in op:
            return "rnn"
        if "convolution" in op:
            return conv or "conv"
        return "matmul"
    found = next((f for part, f in VECTOR_FAMILIES if part in op), "pointwise")
    if found == "transcendental" and _name(op).startswith("hard"):
        found = "pointwise"  # hardsigmoid, hardtanh: piecewise linear, a clamp and a scale
    return "inplace" if found == "pointwise" and _in_place(op) else found


def efficiency(
    device: Device,
    name: str,
    flops: float,
    intensity: float | None = None,
    *,
    after_product: bool = False,
    cold: bool = False,
) -> float:
    """The calibrated fraction of the peak that family `name` reaches at this many FLOPs (and
    FLOPs per byte, for a matrix family). Points [FLOPs, efficiency] are interpolated in log
    FLOPs, held above the largest; points [FLOPs, efficiency, intensity] are read from the
    NEIGHBOURS nearest in (log₁₀ FLOPs, log₁₀ intensity), weighted by 1 / (distance + 0.05)²,
    their efficiencies averaged in logs. Below the smallest FLOPs, the smallest's time is held
    (efficiency × FLOPs ÷ its FLOPs). `after_product`: a vector family's curve measured right
    after a matrix product, and `cold` (read first): the family's kernels timed with all but
    their input evicted, where the calibration has them. A family the calibration lacks reads
    its FALLBACK (a calibration of old: a vector family's one rate)."""
    c = device.calibration
    while True:
        points = (
            (cold and (c.get(f"{name}_cold") or c.get(f"{name}_cold_curve")))
            or (after_product and c.get(f"{name}_after_curve"))
            or c.get(name)
            or c.get(f"{name}_curve")
        )
        if points and flops > 0:
            smallest = min(p[0] for p in points)
            at = max(flops, smallest)
            share = _nearest(points, at, intensity) if len(points[0]) > 2 else _curve(points, at)
            return max(share * min(flops / smallest, 1.0), 1e-9)
        if f"{name}_efficiency" in c:
            return max(float(c[f"{name}_efficiency"]), 1e-3)
        if name not in FALLBACK:
            return 1.0
        name = FALLBACK[name]


def _nearest(points: list[list[float]], flops: float, intensity: float | None) -> float:
    """The efficiency of the NEIGHBOURS points nearest (flops, intensity) in log₁₀ space (by
    FLOPs alone without an intensity), weighted by inverse squared distance, averaged in logs."""

    def distance(p: list[float]) -> float:
        d = math.log10(flops / p[0]) ** 2
        if intensity and len(p) > 2 and p[2] > 0:
            d += math.log10(intensity / p[2]) ** 2
        return math.sqrt(d)

    near = sorted(points, key=distance)[:NEIGHBOURS]
    weights = [1.0 / (distance(p) + 0.05) ** 2 for p in near]
    logs = sum(w * math.log(max(p[1], 1e-9)) for w, p in zip(weights, near, strict=True))
    return math.exp(logs / sum(weights))


def _curve(points: list[list[float]], x: float) -> float:
    """Interpolated in log x between the points (those at one x averaged), held at their ends."""
    merged: dict[float, list[float]] = {}
    for p in points:
        merged.setdefault(p[0], []).append(p[1])
    ordered = sorted((k, sum(v) / len(v)) for k, v in merged.items())
    if x <= ordered[0][0]:
        return ordered[0][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(ordered):
        if x <= x1:
            w = (math.log(x) - math.log(x0)) / (math.log(x1) - math.log(x0))
            return y0 + w * (y1 - y0)
    return ordered[-1][1]


def estimate(
    device: Device,
    op: str,
    dtype: str,
    cost: Cost,
    tf32_matmul: bool = False,
    conv: str | None = None,
    *,
    after_product: bool = False,
    cold: bool = False,
) -> float:
    """A calibrated estimate: max(FLOPs / (peak · efficiency of the op's family at its size and
    intensity), bytes / bandwidth at this many bytes) + the per-op overhead."""
    c = device.calibration
    flops = cost.flops
    rate, _ = peak(device, cost.macs > 0, dtype, op, tf32_matmul)
    if rate:
        intensity = flops / cost.bytes_moved if cost.bytes_moved else None
        name = family(op, cost.macs > 0, conv)
        rate *= efficiency(device, name, flops, intensity, after_product=after_product, cold=cold)
    compute = flops / rate if rate else 0.0
    curve = c.get("bandwidth")
    bandwidth = _curve(curve, cost.bytes_moved) if curve and cost.bytes_moved else device.bandwidth
    memory = cost.bytes_moved / bandwidth
    return max(compute, memory) + float(c.get("overhead_s", 0.0))


def layer_estimates(report: Report, device: Device, tf32_matmul: bool) -> dict[int, float]:
    """Each call's own estimate (its ops' and its call's overhead, children not included), by
    module index. When the forward's memory outgrows the caches, every op reads its cold kernels
    (in-place ones excepted) and a leaf call that runs no kernel (no op, or only views) pays the
    empty call's extra after the eviction. The calls are walked in the order they began, to know
    which op follows a matrix product: a vector op there reads its family's after-product curve;
    a free op (a view) or a call that runs no op there pays the empty call's extra instead."""
    c = device.calibration
    per_call = float(c.get("module_overhead_s", 0.0))
    extra = max(float(c.get("module_overhead_after_s", per_call)) - per_call, 0.0)
    extra_cold = max(float(c.get("module_overhead_cold_s", per_call)) - per_call, 0.0)
    t = report.total
    touched = (
        report.memory.peak_bytes  # memory a freed activation leaves is reused
        if report.memory
        else t.param_bytes + t.buffer_bytes + t.cost.bytes_written
    )
    cold = 0 < float(c.get("cache_bytes", 0)) < touched
    # a CPU calibration that timed PyTorch's own convolution path apart from oneDNN's
    paths = any(k.startswith("conv") and "_native" in k for k in c)
    own: dict[int, float] = {}
    after = False  # the last op to run was a matrix product
    for m in report.modules:
        own[m.index] = per_call
        if cold and m.is_leaf and all(_free(r) for r in m.ops):
            own[m.index] += extra_cold  # no kernel of its own, whose cold time would hold it
            after = False
        elif m.is_leaf and not m.ops and after:
            own[m.index] += extra
            after = False
        for r in m.ops:
            matrix = r.cost.macs > 0
            own[m.index] += extra if after and _free(r) and not cold else 0.0
            own[m.index] += estimate(
                device, r.op, op_dtype(r), r.cost, tf32_matmul, _conv_family(r, paths),
                after_product=after and not matrix, cold=cold and not _in_place(r.op),
            )  # fmt: skip
            after = matrix
    return own


def _free(record: OpRecord) -> bool:
    """A view or other op that computes and moves nothing (permute, expand, a no-op dropout's
    alias)."""
    c = record.cost
    return not c.macs and not c.flops and not c.bytes_moved


def _name(op: str) -> str:
    """aten.relu_.default -> relu_"""
    parts = op.split(".")
    return parts[1] if len(parts) > 1 else op


def _in_place(op: str) -> bool:
    """aten.relu_.default, aten.add_.Tensor: the op's name ends in an underscore."""
    return "." in op and _name(op).endswith("_")


def _conv_family(record: OpRecord, paths: bool) -> str | None:
    """A convolution's calibrated family (measure/conv_path.py), its path asked of PyTorch only
    where `paths` (the calibration timed the two apart); None for other ops."""
    if "convolution" not in record.op:
        return None
    groups = record.args.get("groups", 1)
    shape = getattr(record.args.get("weight"), "shape", ())
    native = paths and native_conv_of(record.args)
    return conv_family(shape, groups if isinstance(groups, int) else 1, native)
