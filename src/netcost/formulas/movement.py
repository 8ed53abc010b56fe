"""Ops that move or fill data but do no arithmetic: 0 FLOPs, bytes by the generic rule
(each tensor argument read once, each result written once), unless noted."""

from __future__ import annotations

from math import prod
from typing import Any

from netcost.cost import Cost
from netcost.formulas._registry import formula
from netcost.formulas._shapes import first, numel
from netcost.ops import aten, has
from netcost.trace import TensorSpec

COPIES = """
clone _to_copy _copy_from _copy_from_and_resize cat stack hstack vstack
constant_pad_nd reflection_pad1d reflection_pad2d reflection_pad3d
replication_pad1d replication_pad2d replication_pad3d
index_select gather index _unsafe_index index_put
flip roll repeat select_scatter diagonal_scatter as_strided_scatter
narrow_copy im2col pixel_shuffle pixel_unshuffle channel_shuffle native_channel_shuffle
tril triu masked_scatter scatter index_fill index_copy _pack_padded_sequence _pad_packed_sequence
lift_fresh_copy _local_scalar_dense
zeros ones full fill zeros_like ones_like full_like new_zeros new_ones new_full
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


@formula(aten.scatter_add, aten.scatter_reduce, aten.index_add, aten.col2im, family="movement")
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


# In-place partial writes: what they touch, not their destination's size (a decode step's token
# written into a 256 MiB KV cache moves the token, not the cache).


def _spec(value: Any) -> TensorSpec | None:
    return value if isinstance(value, TensorSpec) else None


def _updated(args: dict[str, Any]) -> int:
    """Elements of `self` an in-place partial write updates:
    - copy_: all of `self`, which is the view written to (a slice of a cache: the slice);
    - index_copy_ / index_add_: the source's, one slice of `self` per index;
    - index_fill_: len(index) · numel(self) / self.shape[dim];
    - scatter_ / scatter_add_ / scatter_reduce_: one per element of `index`;
    - index_put_: the indexed elements, as advanced indexing selects them: the broadcast of
      the integer indices times the boolean masks' elements (all kept, the keep-all scenario)
      times the dims no index names;
    - masked_scatter_: every element of `self` (the keep-all scenario: a mask all true)."""
    self_ = args["self"]
    name = args["_op"]
    if name in ("copy_", "masked_scatter_"):
        return numel(self_)
    if name in ("index_copy_", "index_add_"):
        return numel(args["source"])
    if name == "index_fill_":
        dim = args["dim"] % len(self_.shape)
        return numel(args["index"]) * numel(self_) // max(self_.shape[dim], 1)
    if name in ("scatter_", "scatter_add_", "scatter_reduce_"):
        return numel(args["index"])
    # index_put_ / _index_put_impl_
    dims = 0
    selected = 1
    integer_shapes: list[tuple[int, ...]] = []
    named: set[int] = set()
    for index in args["indices"] or ():
        if index is None:
            dims += 1
            continue
        if index.dtype == "bool":
            named.update(range(dims, dims + len(index.shape)))
            selected *= numel(index)
            dims += len(index.shape)
        else:
            named.add(dims)
            integer_shapes.append(index.shape)
            dims += 1
    if integer_shapes:
        import torch

        selected *= prod(torch.broadcast_shapes(*integer_shapes))
    rest = prod(n for d, n in enumerate(self_.shape) if d not in named)
    return selected * rest


#: in-place partial writes that accumulate into what they update (read it, then write it)
_ACCUMULATE = frozenset({"index_add_", "scatter_add_", "scatter_reduce_"})


def _touched(args: dict[str, Any], outputs: tuple[TensorSpec, ...]) -> tuple[int, int]:
    """Bytes of an in-place partial write: the updated elements written (and read too where the
    op accumulates: index_add_, scatter_add_, scatter_reduce_, index_put_ with accumulate), the
    new values read (a broadcast or scalar source only once per distinct element; never more
    than the updated elements), and the indices or mask read."""
    self_ = args["self"]
    updated = _updated(args)
    written = updated * self_.itemsize
    read = 0
    for key in ("index", "mask"):
        t = _spec(args.get(key))
        read += t.nbytes if t is not None else 0
    for index in args.get("indices") or ():
        read += index.nbytes if isinstance(index, TensorSpec) else 0
    for key in ("src", "source", "values"):
        t = _spec(args.get(key))
        if t is not None:
            read += min(t.distinct_elements, updated) * t.itemsize
    if args["_op"] in _ACCUMULATE or args.get("accumulate"):
        read += written
    return read, written


def _in_place(name: str) -> Any:
    """The moves rule of one in-place op, told its name (overloads share a packet)."""

    def moves(args: dict[str, Any], outputs: tuple[TensorSpec, ...]) -> tuple[int, int]:
        return _touched({**args, "_op": name}, outputs)

    return moves


for _name in ("copy_", "index_copy_", "index_fill_", "masked_scatter_", "scatter_"):
    if has(_name):
        formula(getattr(aten, _name), family="movement", moves=_in_place(_name))(copy)
for _name in ("index_put_", "_index_put_impl_"):
    if has(_name):
        formula(getattr(aten, _name), family="movement", moves=_in_place("index_put_"))(copy)
for _name in ("index_add_", "scatter_add_", "scatter_reduce_"):
    if has(_name):
        formula(getattr(aten, _name), family="movement", moves=_in_place(_name))(scatter_accumulate)


def _fill_moves(args: dict[str, Any], outputs: tuple[TensorSpec, ...]) -> tuple[int, int]:
    """A fill writes every element of what it fills (a view: the view) and reads nothing but a
    tensor value's one element."""
    value = _spec(args.get("value"))
    return (value.nbytes if value is not None else 0), args["self"].nbytes


@formula(aten.fill_, aten.zero_, family="movement", moves=_fill_moves)
def fill_in_place(*, out: Any, **_: object) -> Cost:
    """Fills in place: no arithmetic; writes what they fill, reads no destination."""
    return Cost()


def _slice_scatter_moves(args: dict[str, Any], outputs: tuple[TensorSpec, ...]) -> tuple[int, int]:
    """slice_scatter returns a new tensor: `self` outside the slice and `src` inside it are read
    (the slice's old values are not), and the whole result is written."""
    self_, src = args["self"], args["src"]
    return (self_.nbytes - src.distinct_elements * self_.itemsize) + src.nbytes, outputs[0].nbytes


@formula(aten.slice_scatter, family="movement", moves=_slice_scatter_moves)
def slice_scatter(*, out: Any, **_: object) -> Cost:
    """A copy of `self` with `src` written into one slice: no arithmetic."""
    return Cost()


#: FLOPs per point of a window function: hann and hamming a scaled index, a cosine, a multiply
#: and a subtract; blackman two cosine terms (7); bartlett a scaled index, an absolute value and
#: a subtract (3); kaiser a Bessel I0 ratio, counted as its square root and two series (10).
WINDOW_FLOPS = {"hann_window": 4, "hamming_window": 4, "blackman_window": 7,
                "bartlett_window": 3, "kaiser_window": 10}  # fmt: skip


def _window(name: str) -> Any:
    def window(*, out: Any, **_: object) -> Cost:
        return Cost.elementwise(numel(first(out)), WINDOW_FLOPS[name])

    window.__doc__ = f"{name}: {WINDOW_FLOPS[name]} FLOPs a point (see WINDOW_FLOPS)."
    return window


for _window_name in WINDOW_FLOPS:
    if has(_window_name):
        formula(getattr(aten, _window_name), family="pointwise")(_window(_window_name))


@formula(aten.equal, family="reduction")
def equal(self: TensorSpec, other: TensorSpec, *, out: Any, **_: object) -> Cost:
    """torch.equal: one comparison per element (the worst case: all equal), both read."""
    return Cost.elementwise(numel(self))
