"""Sums over the module tree: a call's figure with its children's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from netcost.report import Layer

T = TypeVar("T")


def inclusive(modules: tuple[Layer, ...], own: Mapping[int, T]) -> dict[int, T]:
    """Each call's own figure (by module index) plus its children's, deepest calls first; the
    figures add with `+` (seconds, Costs, LayerTimes)."""
    total: dict[int, Any] = {}
    for m in sorted(modules, key=lambda m: -m.depth):
        value = own[m.index]
        for child in m.children:
            value = value + total[child]
        total[m.index] = value
    return total
