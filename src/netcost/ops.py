"""aten ops by name, guarded against the torch build: `aten.some_op` is the op where this build
has it, and otherwise a placeholder that keeps the op's name (formulas register under it and
never fire; identity checks never match), so that netcost imports on torch versions that lack
an op it knows. Tested with torch 2.14.1 (pyproject.toml)."""

from __future__ import annotations

from typing import Any

import torch


class Missing:
    """An op this torch build does not have: its name, and its overloads' names."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, overload: str) -> Missing:
        if overload.startswith("__"):
            raise AttributeError(overload)
        return Missing(f"{self.name}.{overload}")

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<op {self.name} (not in torch {torch.__version__})>"


class Namespace:
    def __init__(self, name: str) -> None:
        self._name = name
        self._ops = getattr(torch.ops, name)

    def __getattr__(self, op: str) -> Any:  # the first lookup of each op; then an attribute
        if op.startswith("__"):
            raise AttributeError(op)
        try:
            found: Any = getattr(self._ops, op)
        except (AttributeError, RuntimeError):
            found = Missing(f"{self._name}.{op}")
        setattr(self, op, found)
        return found


aten = Namespace("aten")


def has(name: str) -> bool:
    """Whether this torch build has the aten op `name`."""
    return not isinstance(getattr(aten, name), Missing)
