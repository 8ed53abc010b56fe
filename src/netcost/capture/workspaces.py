"""Workspaces that fake tensors cannot size: oneDNN's RNN training workspace.

aten.mkldnn_rnn_layer(train=True) returns a uint8 workspace that its backward reads; its size is
decided by oneDNN at run time (padded leading dimensions, page-aligned parts) and PyTorch's
fake kernel returns it empty. netcost asks oneDNN itself: it runs the real kernel once on zeros
of the same shapes (cached per shape) when those are small, and otherwise leaves the workspace
at 0 bytes and says so.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils._pytree import tree_map

from netcost.capture.specs import tensors_in

#: Real inputs up to this many bytes are made to ask oneDNN for its workspace size.
PROBE_LIMIT = 256 << 20

_sizes: dict[tuple, int] = {}


def sized_workspace(func: Any, args: tuple, kwargs: dict, out: Any) -> tuple[Any, str | None]:
    """`out` with its workspace at the size the real kernel allocates, and a note when the size
    stays unknown (None when all is known)."""
    if func is not torch.ops.aten.mkldnn_rnn_layer.default or not _training(args, kwargs):
        return out, None
    key = _signature(args, kwargs)
    if key not in _sizes:
        nbytes = sum(t.numel() * t.element_size() for t in tensors_in(args))
        if nbytes > PROBE_LIMIT:
            return out, (
                "aten.mkldnn_rnn_layer: oneDNN's training workspace is not counted (fake "
                "tensors give it 0 bytes and the layer is too large to ask oneDNN)"
            )
        _sizes[key] = _probe(func, args, kwargs)
    workspace = out[3].new_empty((_sizes[key],))
    return (*out[:3], workspace), None


def _training(args: tuple, kwargs: dict) -> bool:
    return bool(kwargs.get("train", args[15] if len(args) > 15 else False))


def _signature(args: tuple, kwargs: dict) -> tuple:
    def plain(a: Any) -> Any:
        if isinstance(a, torch.Tensor):
            return (tuple(a.shape), a.dtype)
        if isinstance(a, list | tuple):
            return tuple(plain(x) for x in a)
        return a

    return plain(args), tuple(sorted((k, plain(v)) for k, v in kwargs.items()))


def _probe(func: Any, args: tuple, kwargs: dict) -> int:
    from torch._subclasses.fake_tensor import unset_fake_temporarily

    with unset_fake_temporarily():

        def real(a: Any) -> Any:
            if isinstance(a, torch.Tensor):
                return torch.zeros(tuple(a.shape), dtype=a.dtype)
            return a

        result = func(*tree_map(real, args), **tree_map(real, kwargs))
        return result[3].numel() * result[3].element_size()
