"""Lazy modules (nn.LazyLinear, PyG's `in_channels=-1`): parameters whose shapes their first
forward decides. Running that forward on the user's model would change it (its parameters are
created and its modules change class), so a copy is initialised instead, on the meta device (no
memory, no values), and analysed in the model's place."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn
from torch.nn.parameter import UninitializedBuffer, UninitializedParameter, is_lazy
from torch.utils._pytree import tree_map

from netcost.errors import UnsupportedError


def lazy_paths(model: nn.Module) -> list[str]:
    """The modules holding uninitialised parameters or buffers."""
    return [
        name or type(model).__name__
        for name, module in model.named_modules()
        if any(is_lazy(t) for t in [*module.parameters(False), *module.buffers(False)])
    ]


def initialised_copy(model: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> nn.Module:
    """A meta copy of `model` whose lazy modules have run their first forward on meta copies of
    the inputs (and so became their ordinary classes, LazyLinear → Linear); `model` is not
    touched."""
    memo: dict[int, Any] = {}
    for t in [*model.parameters(), *model.buffers()]:
        if is_lazy(t):  # deepcopy refuses uninitialised tensors: fresh ones on meta instead
            kind = UninitializedParameter if isinstance(t, nn.Parameter) else UninitializedBuffer
            grad = t.requires_grad if kind is UninitializedParameter else False
            # torch's stubs leave out the factory keywords these classes take
            memo[id(t)] = kind(requires_grad=grad, device="meta", dtype=t.dtype)  # type: ignore[call-arg]
    fresh = copy.deepcopy(model, memo).to("meta")

    def on_meta(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            return torch.empty(tuple(value.shape), dtype=value.dtype, device="meta")
        return value

    try:
        with torch.no_grad():
            fresh(*tree_map(on_meta, args), **tree_map(on_meta, kwargs))
    except Exception as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise UnsupportedError(
            f"lazy modules ({', '.join(lazy_paths(model)[:4])}) could not decide their shapes on "
            f"meta tensors ({type(error).__name__}: {first}): run one forward on a sample batch "
            "first"
        ) from None
    return fresh
