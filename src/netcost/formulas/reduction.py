"""Reductions and softmax.

A reduction does one FLOP per input element (add, multiply or compare into the accumulator);
mean adds one divide per output element; variance and standard deviation do 4 per input element
(the mean's add, then subtract, square and add) and 1 per output (the divide; +1 for std's sqrt).
Softmax: 5 per element — max, subtract, exp, sum, divide (log_softmax: log instead of divide).
"""

from __future__ import annotations

from typing import Any

from netcost.cost import Cost
from netcost.formulas._registry import formula
from netcost.formulas._shapes import first, numel
from netcost.ops import aten
from netcost.trace import TensorSpec

SOFTMAX_FLOPS = 5


def _input(args: dict[str, Any]) -> TensorSpec:
    for name in ("self", "input", "x"):
        if isinstance(args.get(name), TensorSpec):
            return args[name]
    raise TypeError("reduction without an input tensor")


@formula(
    aten.sum,
    aten.prod,
    aten.amax,
    aten.amin,
    aten.max,
    aten.min,
    aten.argmax,
    aten.argmin,
    aten.all,
    aten.any,
    aten.cumsum,
    aten.cumprod,
    aten.cummax,
    aten.cummin,
    aten.count_nonzero,
    aten.aminmax,
    family="reduction",
)
def reduce(*, out: Any, **args: Any) -> Cost:
    """1 FLOP per input element."""
    return Cost.elementwise(numel(_input(args)))


@formula(aten.mean, aten.nansum, aten.nanmean, family="reduction")
def mean(*, out: Any, **args: Any) -> Cost:
    """1 FLOP per input element (add), 1 per output element (divide)."""
    return Cost.elementwise(numel(_input(args))) + Cost.elementwise(numel(first(out)))


@formula(aten.var, aten.var_mean, aten.std, aten.std_mean, family="reduction")
def variance(*, out: Any, **args: Any) -> Cost:
    """4 FLOPs per input element, 1 per output element (2 for std: divide and sqrt)."""
    return Cost.elementwise(numel(_input(args)), 4) + Cost.elementwise(numel(first(out)), 2)


@formula(aten.linalg_vector_norm, aten.norm, family="reduction")
def vector_norm(*, out: Any, **args: Any) -> Cost:
    """2 FLOPs per input element (|x|^p and add), 1 per output element (the root)."""
    return Cost.elementwise(numel(_input(args)), 2) + Cost.elementwise(numel(first(out)))


@formula(aten.logsumexp, family="reduction")
def logsumexp(*, out: Any, **args: Any) -> Cost:
    """4 FLOPs per input element (max, subtract, exp, add), 2 per output (log, add max)."""
    return Cost.elementwise(numel(_input(args)), 4) + Cost.elementwise(numel(first(out)), 2)


@formula(
    aten._softmax,
    aten._log_softmax,
    aten._safe_softmax,
    "aten.softmax",
    "aten.log_softmax",
    family="reduction",
)
def softmax(*, out: Any, **args: Any) -> Cost:
    """5 FLOPs per element: max, subtract, exp, sum, divide (or log)."""
    return Cost.elementwise(numel(first(out)), SOFTMAX_FLOPS)
