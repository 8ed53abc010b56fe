"""Detection ops (torchvision): RoI pooling and non-maximum suppression.

RoI Align: each output bin of each channel averages s_h·s_w bilinear samples (sampling_ratio s,
per axis); a bilinear sample blends 4 inputs (7 FLOPs) and is added into the bin (1), then the
bin is divided by the count (1): K·C·ph·pw·(8·s_h·s_w + 1). With sampling_ratio ≤ 0 the count is
⌈roi size / bins⌉ per box — its coordinates' values — and the op is reported as not costed.
RoI pooling (max): 1 comparison per input element of each bin: also value-dependent, not costed.

NMS over N boxes (torchvision's kernel): areas 3 FLOPs per box, a sort of the scores
(N·⌈log₂ N⌉), then for each kept box the IoU with every later box still in play — 13 FLOPs a
pair (4 max/min, 2 subtracts and 2 clamps for the overlap's sides, 1 multiply, 1 add and 1
subtract for the union, 1 divide, 1 compare). Every pair is evaluated when nothing is
suppressed (netcost's keep-all scenario, capture/scenario.py): N·(N − 1)/2 pairs, the upper
bound.
"""

from __future__ import annotations

from typing import Any

from netcost.cost import Cost
from netcost.formulas._registry import formula
from netcost.formulas._shapes import numel
from netcost.formulas.selection import sort_comparisons
from netcost.trace import TensorSpec

IOU_FLOPS = 13
AREA_FLOPS = 3


@formula("torchvision.roi_align.default", family="detection")
def roi_align(*, out: TensorSpec, **args: Any) -> Cost:
    """K·C·ph·pw·(8·s² + 1) for sampling_ratio s > 0."""
    ratio = args["sampling_ratio"]
    if ratio <= 0:
        raise ValueError("adaptive sampling (sampling_ratio ≤ 0) depends on the boxes' sizes")
    return Cost.elementwise(numel(out), 8 * ratio * ratio + 1)


@formula("torchvision.nms.default", family="detection")
def nms(*, out: TensorSpec, **args: Any) -> Cost:
    """3·N (areas) + N·⌈log₂ N⌉ (sort) + 13·N·(N − 1)/2 (every pair's IoU, nothing suppressed)."""
    n, scores = args["dets"].shape[0], args["scores"]
    return Cost.elementwise(
        AREA_FLOPS * n + sort_comparisons(scores, 0) + IOU_FLOPS * (n * (n - 1) // 2)
    )
