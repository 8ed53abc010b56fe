"""What the model's Python code sees differently while netcost records it, and why.

Each patch holds only during a recorded pass and makes a stand-in behave as the user's tensor
would in the model's own Python code; none changes what an op computes or costs.

Module conversions (`.to`, `.float()`, `.half()`) that a forward makes of its own layers: some
forwards convert a submodule as they run (Switch Transformers' router:
`self.classifier = self.classifier.to(self.dtype)`). During capture the module holds stand-ins
bound by `functional_call`, and PyTorch converts a fake parameter by swapping its tensor in place
(`torch.utils.swap_tensors`), which refuses a tensor that other references hold, as the stand-in
is. While recording, a conversion instead rebinds each converted tensor in the module's own
dictionaries, leaving unchanged ones alone; `functional_call` and `Untouched` put the user's
tensors back afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch._subclasses.fake_tensor import FakeTensor

from netcost.capture.scenario import one_nms_per_batch


@contextmanager
def _replaced(owner: Any, **attributes: Any) -> Iterator[None]:
    """Within: `owner`'s attributes set to these values; afterwards, what they were."""
    saved = {name: owner.__dict__.get(name, _ABSENT) for name in attributes}
    for name, value in attributes.items():
        setattr(owner, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is _ABSENT:
                delattr(owner, name)
            else:
                setattr(owner, name, value)


_ABSENT = object()


def _rebinding_apply(
    self: nn.Module, fn: Callable[[torch.Tensor], torch.Tensor], recurse: bool = True
) -> nn.Module:
    if recurse:
        for child in self.children():
            child._apply(fn)
    with torch.no_grad():
        for key, param in self._parameters.items():
            if param is None:
                continue
            applied = fn(param)
            if applied is not param:
                self._parameters[key] = nn.Parameter(applied, requires_grad=param.requires_grad)
        for key, buffer in self._buffers.items():
            if buffer is not None:
                self._buffers[key] = fn(buffer)
    return self


def _format_fake(self: torch.Tensor, spec: str) -> str:
    """A 0-dim tensor formats as its value (`f"expert_{i}"` is "expert_3"); a stand-in with
    known values does the same, where PyTorch formats any fake tensor by its repr."""
    constant = getattr(self, "constant", None)
    if self.dim() == 0 and constant is not None:
        return constant.item().__format__(spec)
    return _FAKE_FORMAT(self, spec)


_FAKE_FORMAT = FakeTensor.__format__


_TENSOR = torch.tensor


def _tensor_of_scalars(data: Any, *args: Any, **kwargs: Any) -> torch.Tensor:
    """`torch.tensor([...])` over a list holding 0-dim stand-ins: each read as its value (its
    `.item()`, which a stand-in with known values answers), as PyTorch reads real ones; a
    stand-in reads no storage, which PyTorch's constructor would."""
    if isinstance(data, list | tuple) and any(isinstance(x, FakeTensor) for x in _leaves(data)):
        data = _as_scalars(data)
    return _TENSOR(data, *args, **kwargs)


def _leaves(data: Any) -> Iterator[Any]:
    for x in data:
        if isinstance(x, list | tuple):
            yield from _leaves(x)
        else:
            yield x


def _as_scalars(data: Any) -> Any:
    if isinstance(data, list | tuple):
        return type(data)(_as_scalars(x) for x in data)
    if isinstance(data, FakeTensor) and data.dim() == 0:
        return data.item()
    return data


def _deepcopy_fake(self: torch.Tensor, memo: dict[int, Any]) -> torch.Tensor:
    """A stand-in's deep copy: a clone (recorded as the copy a real deep copy makes)."""
    if id(self) not in memo:
        memo[id(self)] = self.detach().clone().requires_grad_(self.requires_grad)
    return memo[id(self)]


def _stacked(index: Any) -> Any:
    """An index with each sequence of 0-dim stand-ins stacked into one index tensor, which is
    what PyTorch makes of a sequence of real scalar tensors (by reading their values)."""
    if _scalar_stand_ins(index):
        return torch.stack(list(index))
    if isinstance(index, tuple):
        return tuple(torch.stack(list(i)) if _scalar_stand_ins(i) else i for i in index)
    return index


def _scalar_stand_ins(index: Any) -> bool:
    return (
        isinstance(index, list | tuple)
        and any(isinstance(i, FakeTensor) for i in index)
        and all(isinstance(i, torch.Tensor) and i.dim() == 0 for i in index)
    )


def _getitem(self: torch.Tensor, index: Any) -> Any:
    return _FAKE_GETITEM(self, _stacked(index) if isinstance(index, tuple | list) else index)


def _setitem(self: torch.Tensor, index: Any, value: Any) -> None:
    _FAKE_SETITEM(self, _stacked(index) if isinstance(index, tuple | list) else index, value)


_FAKE_GETITEM, _FAKE_SETITEM = FakeTensor.__getitem__, FakeTensor.__setitem__


@contextmanager
def seeded() -> Iterator[None]:
    """Within: the random generator seeded with 0, the caller's state kept: a forward that draws
    noise (VITS's duration predictor) draws the same each run, so a real execution whose sizes
    follow from values gives the same report every time."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        yield


@contextmanager
def during_capture() -> Iterator[None]:
    """Every patch of this module, and the keep-all scenario's NMS: a layer converted inside
    forward is rebound, not swapped; a known scalar formats as its value; `torch.tensor` of
    scalar stand-ins reads their values; `copy.deepcopy` of a stand-in clones it (Dory);
    `t[rows, cols]` with sequences of scalar stand-ins (UDOP's `zip(*indices)`) indexes by
    their stacked values."""
    with (
        one_nms_per_batch(),
        _replaced(nn.Module, _apply=_rebinding_apply),
        _replaced(torch, tensor=_tensor_of_scalars),
        _replaced(
            FakeTensor,
            __format__=_format_fake,
            __deepcopy__=_deepcopy_fake,
            __getitem__=_getitem,
            __setitem__=_setitem,
        ),
    ):
        yield
