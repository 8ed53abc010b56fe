"""Ordering and selection: sorts, top-k, nonzero, unique, masked selection.

Comparisons count as FLOPs, as in reductions. A comparison sort of n keys does n·⌈log₂ n⌉
comparisons (the information-theoretic bound a merge sort meets); top-k scans its n keys keeping
a heap of k: n·⌈log₂(k + 1)⌉ comparisons; both per slice along `dim`. Nonzero, masked selection
and unique's de-duplication read each element once: 1 FLOP per input element (the test against
zero, the mask, or the previous value after unique's sort, which is counted as a sort).
"""

from __future__ import annotations

from math import ceil, log2
from typing import Any

from netcost.cost import Cost
from netcost.formulas._registry import formula
from netcost.formulas._shapes import first, numel
from netcost.ops import aten
from netcost.trace import TensorSpec


def _log2(n: int) -> int:
    """⌈log₂ n⌉, 0 for n ≤ 1."""
    return ceil(log2(n)) if n > 1 else 0


def _length(t: TensorSpec, dim: int) -> int:
    return t.shape[dim] if t.shape else 1


def sort_comparisons(t: TensorSpec, dim: int) -> int:
    """numel · ⌈log₂ n⌉ with n the length sorted."""
    return numel(t) * _log2(_length(t, dim))


@formula(aten.sort, aten.argsort, aten.msort, family="selection")
def sort(*, out: Any, **args: Any) -> Cost:
    """n·⌈log₂ n⌉ comparisons per slice of length n along dim."""
    x = args["self"]
    return Cost.elementwise(sort_comparisons(x, args.get("dim", -1) if x.shape else 0))


@formula(aten.topk, aten.kthvalue, family="selection")
def topk(*, out: Any, **args: Any) -> Cost:
    """n·⌈log₂(k + 1)⌉ comparisons per slice of length n (a heap of k)."""
    x = args["self"]
    return Cost.elementwise(numel(x) * _log2(args["k"] + 1))


@formula(aten.nonzero, aten.argwhere, aten.masked_select, aten.nonzero_static, family="selection")
def nonzero(*, out: Any, **args: Any) -> Cost:
    """1 test per input element."""
    x = args["self"]
    mask = args.get("mask")
    return Cost.elementwise(max(numel(x), numel(mask) if isinstance(mask, TensorSpec) else 0))


@formula(aten._unique2, aten._unique, aten.unique_dim, family="selection")
def unique(*, out: Any, **args: Any) -> Cost:
    """A sort of the n flattened elements (n·⌈log₂ n⌉), then 1 comparison per element with its
    neighbour."""
    n = numel(args["self"])
    return Cost.elementwise(n * _log2(n) + n)


@formula(aten.unique_consecutive, family="selection")
def unique_consecutive(*, out: Any, **args: Any) -> Cost:
    """1 comparison per element with its neighbour (the input is not sorted)."""
    return Cost.elementwise(numel(args["self"]))


@formula(aten.repeat_interleave, family="selection")
def repeat_interleave(*, out: Any, **args: Any) -> Cost:
    """No arithmetic on values; with a tensor of repeat counts, their cumulative sum:
    1 add per count."""
    repeats = args.get("repeats")
    return Cost.elementwise(numel(repeats) if isinstance(repeats, TensorSpec) else 0)


@formula(aten.histc, family="selection")
def histc(*, out: Any, **args: Any) -> Cost:
    """4 per input element: the bin index (subtract the minimum, multiply by bins/(max − min),
    floor) and the add into the bin; + 2 per element (the min and max reductions) when the range
    is taken from the data (min = max = 0)."""
    n = numel(args["self"])
    from_data = args.get("min", 0) == args.get("max", 0) == 0
    return Cost.elementwise(n * (6 if from_data else 4))


@formula(aten._is_all_true, aten._is_any_true, family="selection")
def all_true(*, out: Any, **args: Any) -> Cost:
    """1 test per element."""
    return Cost.elementwise(numel(args["self"]))


@formula(aten._assert_async, family="selection")
def assert_async(*, out: Any, **args: Any) -> Cost:
    """1 test of the one-element condition."""
    return Cost.elementwise(1)


@formula(aten.bucketize, aten.searchsorted, family="selection")
def bucketize(*, out: Any, **args: Any) -> Cost:
    """A binary search per value: ⌈log₂(m + 1)⌉ comparisons against the m boundaries."""
    boundaries = args.get("boundaries", args.get("sorted_sequence"))
    m = boundaries.shape[-1] if isinstance(boundaries, TensorSpec) and boundaries.shape else 1
    return Cost.elementwise(numel(first(out)) * _log2(m + 1))


@formula(aten.isin, family="selection")
def isin(*, out: Any, **args: Any) -> Cost:
    """PyTorch's rule: n·m comparisons when n < 10·m^0.145 (brute force), else a sort of the
    n + m values and one comparison each: (n + m)·⌈log₂(n + m)⌉ + (n + m)."""
    elements, test = args.get("elements"), args.get("test_elements")
    n = numel(elements) if isinstance(elements, TensorSpec) else 1
    m = numel(test) if isinstance(test, TensorSpec) else 1
    if n < 10 * m**0.145:
        return Cost.elementwise(n * m)
    return Cost.elementwise((n + m) * _log2(n + m) + n + m)


@formula(aten.multinomial, family="selection")
def multinomial(*, out: Any, **args: Any) -> Cost:
    """Per row of n weights: n adds for the running sum, then ⌈log₂ n⌉ comparisons for each of
    the k samples (a binary search of the running sum)."""
    x = args["self"]
    n = _length(x, -1)
    rows = numel(x) // n if n else 0
    return Cost.elementwise(rows * (n + args["num_samples"] * _log2(n)))
