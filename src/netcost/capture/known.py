"""Values fake tensors can know: what factories make, and a routing for top-k on unknown values.

PyTorch's fake tensors keep the values of one-element constants. netcost keeps, up to
VALUE_LIMIT elements, the values of tensors whose values do not depend on any weight or unknown
input: token ids given with values, what factories make (zeros, ones, full, arange, eye, and the
`_like`/`new_` forms, whose input gives only a shape), and what is computed from those alone.
Masks, counts and `.item()` on them are then exact.

Top-k on unknown values (a router's scores) gets its values from the fake kernel but its
indices from a stated routing: balanced round-robin, row r's j-th pick is index (r·k + j) mod n,
so each of n experts receives the same share of the T·k picks (± 1). Mixture-of-experts layers
written as per-expert loops are then costed at balanced top-k routing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch._subclasses.fake_tensor import unset_fake_temporarily

from netcost.ops import aten

#: Tensors of up to this many elements keep their values when they are known.
VALUE_LIMIT = 1 << 22

FACTORIES = frozenset(
    {
        aten.zeros.default,
        aten.ones.default,
        aten.full.default,
        aten.arange.default,
        aten.arange.start,
        aten.arange.start_step,
        aten.scalar_tensor.default,
        aten.eye.default,
        aten.eye.m,
        aten.linspace.default,
    }
)
LIKE = frozenset({aten.zeros_like.default, aten.ones_like.default, aten.full_like.default})
NEW = frozenset({aten.new_zeros.default, aten.new_ones.default, aten.new_full.default})

Constant = Callable[[torch.Tensor], torch.Tensor]


def factory_values(func: Any, args: tuple, kwargs: dict) -> torch.Tensor | None:
    """The real result of a factory op whose values depend on no tensor's values, or None."""
    if func not in FACTORIES and func not in LIKE and func not in NEW:
        return None
    device = kwargs.get("device")
    if device is not None and torch.device(device).type != "cpu":
        return None
    kwargs = {k: v for k, v in kwargs.items() if k not in ("device", "pin_memory")}
    with unset_fake_temporarily():
        if func in LIKE or func in NEW:
            source = args[0]
            probe = func(torch.empty(tuple(source.shape), dtype=source.dtype, device="meta"),
                         *args[1:], **kwargs)  # fmt: skip
        else:
            probe = func(*args, **kwargs, device="meta")
        if not 0 < probe.numel() <= VALUE_LIMIT:  # sized first: a large result is never made
            return None  # (and an empty tensor has no values)
        if func in LIKE or func in NEW:
            args = (torch.empty(tuple(source.shape), dtype=source.dtype), *args[1:])
        return func(*args, **kwargs)


def balanced_indices(shape: tuple[int, ...], dim: int, n: int) -> torch.Tensor | None:
    """Round-robin top-k indices of `shape` picking from n along `dim`: row r's j-th index is
    (r·k + j) mod n, with rows numbered over every other dim."""
    total = 1
    for size in shape:
        total *= size
    if total > VALUE_LIMIT:
        return None
    dim = dim % len(shape) if shape else 0
    k = shape[dim] if shape else 1
    with unset_fake_temporarily():
        moved = [s for i, s in enumerate(shape) if i != dim] + [k]
        rows = total // k if k else 0
        picks = torch.arange(rows * k, dtype=torch.int64).reshape(rows, k)
        indices = (picks % n).reshape(moved)
        return indices.movedim(-1, dim).contiguous()


def balanced_argmax(
    shape: tuple[int, ...], dim: int, excluded: torch.Tensor | None
) -> torch.Tensor:
    """Round-robin argmax over `shape` along `dim` (kept, size 1): row r picks its (r mod c)-th
    candidate of the c that `excluded` (a mask filled with -inf before the argmax: the experts
    a router already chose) leaves, so a second-choice argmax picks another expert, balanced."""
    dim = dim % len(shape)
    n = shape[dim]
    with unset_fake_temporarily():
        allowed = torch.ones(shape, dtype=torch.bool)
        if excluded is not None:
            allowed = allowed & ~excluded.to(torch.bool).expand(shape)
        allowed = allowed.movedim(dim, -1).reshape(-1, n)
        rows = torch.arange(allowed.shape[0])
        count = allowed.sum(-1).clamp(min=1)
        target = (rows % count + 1).unsqueeze(-1)
        chosen = (allowed.cumsum(-1) == target) & allowed
        picks = torch.where(chosen.any(-1), chosen.to(torch.int8).argmax(-1), rows % n)
        kept = [s for i, s in enumerate(shape) if i != dim] + [1]
        return picks.reshape(kept).movedim(-1, dim).contiguous()
