"""Small shape helpers shared by the formula families."""

from __future__ import annotations

from math import prod
from typing import Any

from netcost.trace import TensorSpec


def numel(t: TensorSpec | tuple[int, ...] | None) -> int:
    if t is None:
        return 0
    shape = t.shape if isinstance(t, TensorSpec) else t
    return prod(shape)


def first(out: Any) -> TensorSpec:
    """The primary result of an op that returns several (values of max_pool, output of norms)."""
    return out[0] if isinstance(out, tuple) else out


def tup(value: Any, n: int) -> tuple[int, ...]:
    """Expand PyTorch's int-or-list arguments (`3`, `[3]`, `[3, 3]`) to n ints."""
    if isinstance(value, int):
        return (value,) * n
    value = tuple(value)
    if len(value) == 1:
        return value * n
    return value
