"""Shared test helpers."""

from __future__ import annotations

import pytest
import torch

from netcost.capture.trace import TensorSpec


def T(*shape: int, dtype: torch.dtype = torch.float32) -> TensorSpec:
    """A contiguous tensor spec, as a formula receives it."""
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= n
    itemsize = torch.empty((), dtype=dtype).element_size()
    return TensorSpec(
        tuple(shape), tuple(reversed(strides)), str(dtype).removeprefix("torch."), itemsize
    )


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
