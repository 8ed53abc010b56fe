"""Value-dependent ops on fake tensors, costed under one stated scenario: everything is kept.

Fake tensors carry no values, so an op whose result size depends on them (nonzero, a boolean
mask, NMS, unique) has no size. netcost gives each such op the largest result its inputs allow:
every mask element is true, NMS suppresses no box, every value is distinct. Only the model's
own limits (top-k, slicing to `post_nms_top_n`, `detections_per_img`) then cut the candidates,
so the count is the cost at the model's configured maxima: what a deployment must provision
for, and reproducible (it does not depend on weights or on a random initialisation's luck).

Each such op is remembered (`Kept`) so the report can say which ran and the sizes they gave.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from math import prod
from typing import Any, cast

import torch
import torch.utils._pytree as pytree
from torch._subclasses.fake_tensor import FakeTensor, unset_fake_temporarily

from netcost.capture.known import VALUE_LIMIT
from netcost.ops import aten

#: The scenario's name, as reports show it.
SCENARIO = "keep-all"
DESCRIPTION = (
    "every value-dependent filter keeps all its candidates (masks all true, NMS suppresses "
    "nothing, values distinct), so only the model's configured limits cut them; top-k of unknown "
    "values picks by balanced routing (row r's j-th pick is (r·k + j) mod n)"
)


Dispatch = Callable[[Any, tuple, dict], Any]


def _nonzero(dispatch: Dispatch, x: torch.Tensor) -> torch.Tensor:
    """The indices of every element, in order (what nonzero gives for an all-true mask)."""
    if isinstance(x, FakeTensor) and x.constant is not None:  # known values: exact
        with unset_fake_temporarily():
            rows = torch.nonzero(x.constant)
        if rows.numel() <= VALUE_LIMIT:  # the recording mode makes it a stand-in with values
            return cast(Any, x.fake_mode).constant(rows)  # the recording mode's
        return dispatch(aten.new_empty.default, (x, list(rows.shape)), {"dtype": torch.int64})
    if isinstance(x, FakeTensor) or x.device.type == "meta":
        return dispatch(aten.new_empty.default, (x, [x.numel(), x.dim()]), {"dtype": torch.int64})
    return dispatch(aten.nonzero.default, (torch.ones(x.shape, dtype=torch.bool),), {})


def _mask_to_indices(dispatch: Dispatch, mask: torch.Tensor) -> list[torch.Tensor]:
    """A boolean index as the long indices of its (all true) elements, one per dimension."""
    rows = _nonzero(dispatch, mask)
    return [dispatch(aten.select.int, (rows, 1, d), {}) for d in range(mask.dim())]


def _long_indices(dispatch: Dispatch, indices: Any) -> list[Any]:
    """An index list with each boolean mask replaced by the long indices of its kept elements."""
    found: list[Any] = []
    for index in indices:
        found.extend(_mask_to_indices(dispatch, index) if _is_mask(index) else [index])
    return found


def _known(indices: Any) -> bool:
    """Every boolean index has known values (a fake tensor with a constant)."""
    masks = [i for i in indices if _is_mask(i)]
    return all(isinstance(m, FakeTensor) and m.constant is not None for m in masks)


def _is_mask(t: Any) -> bool:
    return isinstance(t, torch.Tensor) and t.dtype in (torch.bool, torch.uint8)


def keep_all(
    func: Any, args: tuple, kwargs: dict, dispatch: Dispatch
) -> tuple[bool, Any, int, bool]:
    """(handled, result, size, exact): the op's result under the scenario (exact: its masks'
    values were known, so no scenario was needed), or (False, None, 0, False) for an op
    that does not depend on values or whose values are known (fake tensors with constants: the
    op then runs on them exactly). `dispatch(op, args, kwargs)` runs an op on fake tensors."""
    if func.overloadpacket not in VALUE_DEPENDENT:  # the common case, decided in one look-up
        return False, None, 0, False
    fakes = [a for a in pytree.tree_leaves((args, kwargs)) if isinstance(a, FakeTensor)]
    if fakes and all(f.constant is not None for f in fakes):
        return False, None, 0, False
    if func in (aten.nonzero.default, aten.argwhere.default):
        x = args[0]
        return True, _nonzero(dispatch, x), x.numel(), False
    if func is aten.masked_select.default:
        x, mask = args[0], args[1]
        shape = torch.broadcast_shapes(x.shape, mask.shape)
        expanded = dispatch(aten.expand.default, (x, list(shape)), {})
        out = dispatch(aten.view.default, (dispatch(aten.clone.default, (expanded,), {}), [-1]), {})
        return True, out, prod(shape), False
    if func is aten.index.Tensor and any(_is_mask(i) for i in args[1]):
        out = dispatch(aten.index.Tensor, (args[0], _long_indices(dispatch, args[1])), {})
        return True, out, out.shape[0] if out.dim() else 1, _known(args[1])
    if func in INDEX_PUT and any(_is_mask(i) for i in args[1]):
        indices = _long_indices(dispatch, args[1])
        out = dispatch(func, (args[0], indices, *args[2:]), kwargs)
        return True, out, indices[0].numel(), _known(args[1])
    if func.name() == "torchvision::nms":
        n = args[0].shape[0]  # kept in score order, as NMS returns them
        order = dispatch(aten.sort.default, (args[1],), {"descending": True})[1]
        return True, order, n, False
    fake = any(isinstance(a, FakeTensor) for a in args)
    if fake and func.overloadpacket in UNIQUE:  # real tensors have values: unique runs as is
        return _unique(func, args, kwargs, dispatch)
    return False, None, 0, False


INDEX_PUT = (aten.index_put.default, aten.index_put_.default, aten._index_put_impl_.default)
UNIQUE = (aten._unique, aten._unique2, aten.unique_dim, aten.unique_consecutive)


class _ValueDependent:
    """The op packets keep_all handles; torchvision's NMS is recognised by name (torchvision may
    be imported after netcost)."""

    PACKETS = frozenset(
        {aten.nonzero, aten.argwhere, aten.masked_select, aten.index, *UNIQUE}
        | {op.overloadpacket for op in INDEX_PUT}
    )

    def __contains__(self, packet: Any) -> bool:
        return packet in self.PACKETS or packet._qualified_op_name == "torchvision::nms"


VALUE_DEPENDENT = _ValueDependent()


def _unique(
    func: Any, args: tuple, kwargs: dict, dispatch: Dispatch
) -> tuple[bool, Any, int, bool]:
    """Every value distinct: the values keep their count; inverse and counts keep their sizes."""
    x = args[0]
    n = x.numel()
    values = dispatch(aten.new_empty.default, (x, [n]), {})
    inverse = dispatch(aten.new_empty.default, (x, list(x.shape)), {"dtype": torch.int64})
    counts = dispatch(aten.new_empty.default, (x, [n]), {"dtype": torch.int64})
    if func is aten._unique.default:
        return True, (values, inverse), n, False
    return True, (values, inverse, counts), n, False


@contextmanager
def one_nms_per_batch() -> Iterator[None]:
    """torchvision's batched_nms on the CPU loops over the distinct class ids when there are many
    boxes, selecting each class's boxes with a mask; under keep-all every mask keeps every box
    (and on fake tensors every id is distinct). For the scenario it runs as the one NMS over
    class-offset boxes that torchvision uses for fewer boxes (on the GPU, up to 20,000): the
    same boxes are kept, and its cost is that of one NMS over all of them."""
    try:
        from torchvision.ops import boxes as box_ops
    except ImportError:
        yield
        return
    vanilla = box_ops._batched_nms_vanilla
    box_ops._batched_nms_vanilla = box_ops._batched_nms_coordinate_trick
    try:
        yield
    finally:
        box_ops._batched_nms_vanilla = vanilla
