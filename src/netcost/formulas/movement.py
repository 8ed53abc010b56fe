"""Ops that move or fill data but do no arithmetic: 0 FLOPs, bytes by the generic rule
(each tensor argument read once, each result written once), unless noted."""

from __future__ import annotations

from typing import Any

from netcost.capture.trace import TensorSpec
from netcost.cost import Cost
from netcost.formulas._registry import formula
from netcost.formulas._shapes import first, numel
from netcost.ops import aten, has

COPIES = """
clone copy_ _to_copy _copy_from _copy_from_and_resize cat stack hstack vstack
constant_pad_nd reflection_pad1d reflection_pad2d reflection_pad3d
replication_pad1d replication_pad2d replication_pad3d
index_select gather index _unsafe_index index_put index_put_ _index_put_impl_
flip roll repeat slice_scatter select_scatter diagonal_scatter as_strided_scatter
narrow_copy im2col pixel_shuffle pixel_unshuffle channel_shuffle native_channel_shuffle
tril triu masked_scatter masked_scatter_ scatter scatter_ index_fill index_fill_
index_copy index_copy_
lift_fresh_copy _local_scalar_dense
zeros ones full fill fill_ zero_ zeros_like ones_like full_like new_zeros new_ones new_full
arange linspace logspace scalar_tensor eye
rand randn randint rand_like randn_like randint_like normal uniform_ normal_ bernoulli
bernoulli_ random_ exponential_ randperm one_hot
select_backward slice_backward diagonal_backward unfold_backward as_strided_backward
"""


def _packets(names: str) -> list[Any]:
    return [getattr(aten, n) for n in names.split() if has(n)]


@formula(*_packets(COPIES), family="movement")
def copy(*, out: Any, **_: object) -> Cost:
    """Copies, concatenations, gathers, pads, fills and random draws: no arithmetic."""
    return Cost()


@formula(
    aten.scatter_add,
    aten.scatter_add_,
    aten.scatter_reduce,
    aten.scatter_reduce_,
    aten.index_add,
    aten.index_add_,
    aten.col2im,
    family="movement",
)
def scatter_accumulate(*, out: Any, **args: Any) -> Cost:
    """Accumulating scatters: one add per source element."""
    src = args.get("src", args.get("source", args.get("self")))
    return Cost.elementwise(numel(src) if isinstance(src, TensorSpec) else numel(first(out)))


def _gathered_rows(args: dict[str, Any], outputs: tuple[TensorSpec, ...]) -> tuple[int, int]:
    """An embedding reads its indices and only the rows they select (one per output row)."""
    indices, result = args["indices"], outputs[0]
    return indices.nbytes + result.nbytes, result.nbytes


@formula(aten.embedding, moves=_gathered_rows, family="movement")
def embedding(weight: TensorSpec, indices: TensorSpec, *, out: TensorSpec, **_: object) -> Cost:
    """A table look-up: no arithmetic; reads the indices and the selected rows only."""
    return Cost()


def _bag_moves(args: dict[str, Any], outputs: tuple[TensorSpec, ...]) -> tuple[int, int]:
    """An embedding bag reads its indices, offsets and the rows they select; writes the bags."""
    indices, weight, bags = args["indices"], args["weight"], outputs[0]
    rows = numel(indices) * (weight.shape[1] if len(weight.shape) > 1 else 1)
    read = indices.nbytes + args["offsets"].nbytes + rows * weight.itemsize
    return read, bags.nbytes


@formula(aten._embedding_bag, aten._embedding_bag_forward_only, moves=_bag_moves, family="movement")
def embedding_bag(*, out: Any, **args: Any) -> Cost:
    """Bags of n gathered rows of width D: n·D accumulations (sum; max compares), n·D more
    with per-sample weights, and bags·D divisions for the mean (mode 1)."""
    weight, indices = args["weight"], args["indices"]
    width = weight.shape[1] if len(weight.shape) > 1 else 1
    gathered = numel(indices) * width
    weighted = gathered if isinstance(args.get("per_sample_weights"), TensorSpec) else 0
    mean = numel(first(out)) if args.get("mode", 0) == 1 else 0
    return Cost.elementwise(gathered + weighted + mean)
