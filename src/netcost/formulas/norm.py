"""Normalisation: batch, layer, group, instance and RMS norm.

Per element of the input: statistics when the op computes them — mean 1 FLOP (add), variance 3
(subtract, square, add); normalising 2 (subtract mean, multiply by 1/std); affine 1 per present
weight and 1 per present bias. Per-channel work (1/sqrt(var + eps), running-stat updates) is
counted per channel: 3 FLOPs for 1/sqrt(var + eps), 4 for each running statistic updated.
"""

from __future__ import annotations

from math import prod
from typing import Any

from netcost.cost import Cost
from netcost.formulas._registry import formula
from netcost.formulas._shapes import numel
from netcost.ops import aten
from netcost.trace import TensorSpec

STATS_FLOPS = 4  # mean (1) + variance (3), per element
NORMALISE_FLOPS = 2  # subtract mean, multiply by 1/std, per element
INV_STD_FLOPS = 3  # add eps, sqrt, reciprocal, per group
RUNNING_UPDATE_FLOPS = 4  # (1 - m) · r + m · x: per channel, per running statistic (x2)


def normalisation_cost(
    elements: int, groups: int, *, stats: bool, weight: bool, bias: bool, running: bool = False
) -> Cost:
    """Normalise `elements` values in `groups` independent statistics groups (see module doc)."""
    per_element = (STATS_FLOPS if stats else 0) + NORMALISE_FLOPS + weight + bias
    per_group = INV_STD_FLOPS + (2 * RUNNING_UPDATE_FLOPS if running else 0)
    return Cost.elementwise(elements, per_element) + Cost.elementwise(groups, per_group)


def _channels(input: TensorSpec) -> int:
    return input.shape[1] if len(input) > 1 else 1


@formula(aten.native_batch_norm, aten._native_batch_norm_legit, "aten.batch_norm", family="norm")
def batch_norm(
    input: TensorSpec,
    weight: TensorSpec | None = None,
    bias: TensorSpec | None = None,
    running_mean: TensorSpec | None = None,
    training: bool = False,
    *,
    out: Any,
    **_: object,
) -> Cost:
    """Eval: normalise with running statistics. Train: statistics per channel over N · spatial
    elements, then normalise; running statistics updated when present."""
    return normalisation_cost(
        numel(input),
        _channels(input),
        stats=training,
        weight=weight is not None,
        bias=bias is not None,
        running=training and running_mean is not None,
    )


@formula(aten._native_batch_norm_legit_no_training, "aten.cudnn_batch_norm", family="norm")
def batch_norm_inference(
    input: TensorSpec,
    weight: TensorSpec | None = None,
    bias: TensorSpec | None = None,
    *,
    out: Any,
    **_: object,
) -> Cost:
    """Batch norm with running statistics (eval): normalise and affine, per element."""
    return normalisation_cost(
        numel(input),
        _channels(input),
        stats=False,
        weight=weight is not None,
        bias=bias is not None,
    )


@formula(aten.native_layer_norm, family="norm")
def layer_norm(
    input: TensorSpec,
    normalized_shape: tuple[int, ...],
    weight: TensorSpec | None = None,
    bias: TensorSpec | None = None,
    *,
    out: Any,
    **_: object,
) -> Cost:
    """Statistics over the last len(normalized_shape) dims, one group per leading index."""
    group = prod(normalized_shape)
    return normalisation_cost(
        numel(input),
        numel(input) // group,
        stats=True,
        weight=weight is not None,
        bias=bias is not None,
    )


@formula(aten.native_group_norm, family="norm")
def group_norm(
    input: TensorSpec,
    weight: TensorSpec | None,
    bias: TensorSpec | None,
    N: int,
    C: int,
    HxW: int,
    group: int,
    *,
    out: Any,
    **_: object,
) -> Cost:
    """Statistics per (sample, group) over C / group · H · W elements."""
    return normalisation_cost(
        N * C * HxW, N * group, stats=True, weight=weight is not None, bias=bias is not None
    )


@formula(aten._fused_rms_norm, "aten.rms_norm", family="norm")
def rms_norm(
    input: TensorSpec,
    normalized_shape: tuple[int, ...],
    weight: TensorSpec | None = None,
    *,
    out: Any,
    **_: object,
) -> Cost:
    """x / sqrt(mean(x²) + eps) · w: per element square and add (2), divide (1), weight (1);
    per group 3 for 1/sqrt(mean + eps)."""
    group = prod(normalized_shape)
    elements = numel(input)
    per_element = 2 + 1 + (weight is not None)
    return Cost.elementwise(elements, per_element) + Cost.elementwise(
        elements // group, INV_STD_FLOPS
    )


@formula(aten._weight_norm_interface, family="norm")
def weight_norm(*, out: Any, **args: Any) -> Cost:
    """w = g · v / ‖v‖ with the norm over every dim but `dim`: 2 per element of v (square, add),
    2 per norm (sqrt, g / norm), 1 per element of v (the multiply)."""
    v, g = args["v"], args["g"]
    return Cost.elementwise(3 * numel(v) + 2 * numel(g))
