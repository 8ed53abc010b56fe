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

import torch
from torch import nn
from torch._subclasses.fake_tensor import FakeTensor

from netcost.capture.scenario import one_nms_per_batch


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


@contextmanager
def formatted_constants() -> Iterator[None]:
    """Within: a fake scalar with known values formats as its value, as a real one does."""
    FakeTensor.__format__ = _format_fake  # type: ignore[method-assign]
    try:
        yield
    finally:
        FakeTensor.__format__ = _FAKE_FORMAT  # type: ignore[method-assign]


@contextmanager
def during_capture() -> Iterator[None]:
    """Every patch of this module, and the keep-all scenario's NMS."""
    with one_nms_per_batch(), rebinding_conversions(), formatted_constants():
        yield


@contextmanager
def rebinding_conversions() -> Iterator[None]:
    """Within: `Module._apply` rebinds converted tensors instead of swapping them in place."""
    original = nn.Module._apply
    nn.Module._apply = _rebinding_apply  # type: ignore[method-assign]
    try:
        yield
    finally:
        nn.Module._apply = original  # type: ignore[method-assign]
