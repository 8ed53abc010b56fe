"""Turning live values (real, meta or fake tensors) into plain specs, and binding op arguments."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch.utils._pytree import tree_leaves

from netcost.trace import PackedWeight, TensorSpec

_DTYPES: dict[torch.dtype, tuple[str, int]] = {}


class _TensorIds:
    """Numbers for the tensors one capture sees, so analysis can follow data from op to op.
    Keyed by Python id and checked through a weak reference: a freed tensor's id can be reused
    by a new tensor, which then gets a number of its own."""

    table: dict[int, tuple[int, Any]] | None = None
    count = 0


@contextmanager
def tensor_ids() -> Iterator[None]:
    _TensorIds.table, _TensorIds.count = {}, 0
    try:
        yield
    finally:
        _TensorIds.table = None


def _tid(t: torch.Tensor) -> int:
    table = _TensorIds.table
    if table is None:
        return -1
    found = table.get(id(t))
    if found is not None and found[1]() is t:
        return found[0]
    number = _TensorIds.count
    _TensorIds.count += 1
    table[id(t)] = (number, weakref.ref(t))
    return number


def tensor_number(t: torch.Tensor) -> int:
    """t's number in this capture (the one its TensorSpecs carry; -1 outside a capture)."""
    return _tid(t)


def spec_of(t: torch.Tensor) -> TensorSpec:
    dtype = _DTYPES.get(t.dtype)
    if dtype is None:
        dtype = _DTYPES[t.dtype] = (str(t.dtype).removeprefix("torch."), t.element_size())
    if t.layout == torch.strided:
        return TensorSpec(tuple(t.shape), tuple(t.stride()), *dtype, _tid(t))
    try:
        nnz: int | None = int(t._nnz())
    except Exception:  # a layout that does not say
        nnz = None
    layout = str(t.layout).removeprefix("torch.")
    return TensorSpec(tuple(t.shape), (), *dtype, _tid(t), layout, nnz)


def storage_of(t: Any) -> torch.UntypedStorage | None:
    """t's own storage; None for a non-tensor and for layouts that have none (sparse, nested)."""
    if not isinstance(t, torch.Tensor) or t.layout != torch.strided or t.is_nested:
        return None
    try:
        return t.untyped_storage()
    except RuntimeError:  # a tensor subclass with no storage of its own
        return None


def storage_key(t: torch.Tensor) -> int | None:
    """The identity of t's storage; a sparse tensor's (which has none of its own) is its
    values'; None where there is no storage at all."""
    if t.layout == torch.sparse_coo:
        t = t._values()
    elif t.layout != torch.strided:
        t = t.values()
    storage = storage_of(t)
    return None if storage is None else storage._cdata


_AS_IS = frozenset({int, float, bool, str, type(None)})


def plain(value: Any) -> Any:
    """Tensors become TensorSpec, lists of them tuples of specs, dtypes and devices strings."""
    kind = type(value)
    if kind in _AS_IS:
        return value
    if isinstance(value, torch.Tensor):
        return spec_of(value)
    if kind is list or kind is tuple:
        return tuple([plain(v) for v in value])
    if isinstance(value, torch.dtype | torch.device | torch.layout | torch.memory_format):
        return str(value).removeprefix("torch.")
    if isinstance(value, torch.ScriptObject):
        return packed(value)
    if isinstance(value, torch.SymInt | torch.SymFloat | torch.SymBool):
        return value.node.hint if hasattr(value.node, "hint") else value
    return value


def packed(value: Any) -> Any:
    """Quantized ops' prepacked weights as a PackedWeight (other script objects as they are)."""
    try:
        if not value._has_method("unpack"):
            return value
        weight, bias = value.unpack()
        groups = value.groups() if value._has_method("groups") else 1
        transposed = bool(value.transpose()) if value._has_method("transpose") else False
    except Exception:  # a packed object of another kind
        return value
    return PackedWeight(
        spec_of(weight), spec_of(bias) if bias is not None else None, groups, transposed
    )


def tensor_specs(value: Any) -> tuple[TensorSpec, ...]:
    """Specs of every tensor inside a (nested) value, in order."""
    return tuple(spec_of(t) for t in tensors_in(value))


def tensors_in(value: Any) -> list[torch.Tensor]:
    """Tensors, lists, tuples and dicts directly (most values); anything else through pytree."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, list | tuple) and type(value) in (list, tuple):
        return [t for v in value for t in tensors_in(v)]
    if type(value) is dict:
        return [t for v in value.values() for t in tensors_in(v)]
    if value is None or isinstance(value, int | float | bool | str):
        return []
    return [t for t in tree_leaves(value) if isinstance(t, torch.Tensor)]


def bind(func: torch._ops.OpOverload, args: tuple, kwargs: dict) -> dict[str, Any]:
    """Name every argument as the op's schema names it, defaults filled in.

    Output buffers of out= variants (mutable keyword-only arguments) are left out: the results are
    recorded separately.
    """
    bound: dict[str, Any] = {}
    for i, (name, kwarg_only, default) in enumerate(_layout(func)):
        if not kwarg_only and i < len(args):
            bound[name] = plain(args[i])
        elif name in kwargs:
            bound[name] = plain(kwargs[name])
        else:
            bound[name] = plain(default)
    return bound


_LAYOUTS: dict[Any, tuple[tuple[str, bool, Any], ...]] = {}


def _layout(func: torch._ops.OpOverload) -> tuple[tuple[str, bool, Any], ...]:
    """(name, keyword-only, default) of each argument, out= buffers left out; read once per op."""
    layout = _LAYOUTS.get(func)
    if layout is None:
        layout = _LAYOUTS[func] = tuple(
            (arg.name, arg.kwarg_only, arg.default_value)
            for arg in func._schema.arguments
            if not (arg.kwarg_only and arg.alias_info is not None and arg.alias_info.is_write)
        )
    return layout
