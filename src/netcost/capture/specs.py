"""Turning live values (real, meta or fake tensors) into plain specs, and binding op arguments."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils._pytree import tree_leaves

from netcost.capture.trace import TensorSpec


def spec_of(t: torch.Tensor) -> TensorSpec:
    return TensorSpec(
        shape=tuple(int(n) for n in t.shape),
        stride=tuple(int(s) for s in t.stride()) if t.layout == torch.strided else (),
        dtype=str(t.dtype).removeprefix("torch."),
        itemsize=t.element_size(),
    )


def plain(value: Any) -> Any:
    """Tensors become TensorSpec, lists of them tuples of specs, dtypes and devices strings."""
    if isinstance(value, torch.Tensor):
        return spec_of(value)
    if isinstance(value, list | tuple):
        return tuple(plain(v) for v in value)
    if isinstance(value, torch.dtype | torch.device | torch.layout | torch.memory_format):
        return str(value).removeprefix("torch.")
    if isinstance(value, torch.SymInt | torch.SymFloat | torch.SymBool):
        return value.node.hint if hasattr(value.node, "hint") else value
    return value


def tensor_specs(value: Any) -> tuple[TensorSpec, ...]:
    """Specs of every tensor inside a (nested) output, in order."""
    return tuple(spec_of(t) for t in tree_leaves(value) if isinstance(t, torch.Tensor))


def bind(func: torch._ops.OpOverload, args: tuple, kwargs: dict) -> dict[str, Any]:
    """Name every argument as the op's schema names it, defaults filled in.

    Output buffers of out= variants (mutable keyword-only arguments) are left out: the results are
    recorded separately.
    """
    bound: dict[str, Any] = {}
    positional = iter(args)
    for arg in func._schema.arguments:
        writes = arg.alias_info is not None and arg.alias_info.is_write
        if arg.kwarg_only and writes:
            continue
        if not arg.kwarg_only:
            value = next(positional, _MISSING)
            if value is not _MISSING:
                bound[arg.name] = plain(value)
                continue
        if arg.name in kwargs:
            bound[arg.name] = plain(kwargs[arg.name])
        else:
            bound[arg.name] = plain(arg.default_value)
    return bound


_MISSING = object()
