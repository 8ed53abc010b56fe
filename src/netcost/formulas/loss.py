"""Losses, per element of the input (n elements), then the reduction.

mse: subtract, square, add into the sum = 3 per element; l1: subtract, abs, add = 3; smooth L1
and Huber: subtract, abs, compare, then square-and-scale or subtract = 5; binary cross-entropy
on probabilities: 2 logs, 2 multiplies, 1 subtract, 1 add = 6 (with logits: log-sigmoid 6 more);
negative log-likelihood: 1 gather-add per target (no arithmetic on the gathered value but the
add), + 1 per target with class weights. The mean reduction divides once (1 FLOP); 'none'
writes the per-element values and has no final add: one fewer per element.
"""

from __future__ import annotations

from typing import Any

from netcost.cost import Cost
from netcost.formulas._registry import formula
from netcost.formulas._shapes import numel
from netcost.ops import aten
from netcost.trace import TensorSpec

REDUCTION_NONE, REDUCTION_MEAN = 0, 1


def _elementwise_loss(per_element: int) -> Any:
    def loss(*, out: Any, **args: Any) -> Cost:
        n = numel(args["self"])
        reduction = args.get("reduction", REDUCTION_MEAN)
        if reduction == REDUCTION_NONE:
            return Cost.elementwise(n, per_element - 1)
        return Cost.elementwise(n * per_element + (reduction == REDUCTION_MEAN))

    loss.__doc__ = (
        f"{per_element} FLOPs per element (the last is the reduction's add), + 1 for mean."
    )
    return loss


mse = formula(aten.mse_loss, family="loss")(_elementwise_loss(3))
l1 = formula(aten.l1_loss, family="loss")(_elementwise_loss(3))
smooth_l1 = formula(aten.smooth_l1_loss, aten.huber_loss, family="loss")(_elementwise_loss(5))
bce = formula(aten.binary_cross_entropy, family="loss")(_elementwise_loss(6))
bce_logits = formula(aten.binary_cross_entropy_with_logits, family="loss")(_elementwise_loss(12))
soft_margin = formula(aten.soft_margin_loss, family="loss")(
    _elementwise_loss(4)
)  # −y·x, exp, log1p, add


@formula(aten.nll_loss_forward, aten.nll_loss2d_forward, family="loss")
def nll_loss(*, out: Any, **args: Any) -> Cost:
    """1 add per target of the gathered −log-probability (+1 with class weights), + 1 divide for
    the mean."""
    target: TensorSpec = args["target"]
    weighted = args.get("weight") is not None
    reduction = args.get("reduction", REDUCTION_MEAN)
    return Cost.elementwise(numel(target) * (1 + weighted) + (reduction == REDUCTION_MEAN))
