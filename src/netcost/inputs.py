"""Input specifications: '64x1x28x28', '4x16:int64', and turning them into shape-only tensors."""

from __future__ import annotations

import re

import torch

from netcost.errors import NetcostError

_DTYPES = {
    name: getattr(torch, name)
    for name in (
        "float32 float float16 half bfloat16 float64 double "
        "int8 uint8 int16 int32 int64 long int bool complex64"
    ).split()
}

_SPEC = re.compile(r"^\s*(\d+(?:\s*[x×,]\s*\d+)*)\s*(?::\s*(\w+))?\s*$")


def parse_input(text: str) -> tuple[tuple[int, ...], torch.dtype]:
    """'64x1x28x28' -> ((64, 1, 28, 28), float32); '4x16:int64' -> ((4, 16), int64)."""
    match = _SPEC.match(text)
    if not match:
        raise NetcostError(
            f"cannot read input {text!r}: write sizes joined by x, with an optional dtype, "
            "e.g. 64x1x28x28 or 4x16:int64"
        )
    shape = tuple(int(n) for n in re.split(r"\s*[x×,]\s*", match.group(1)))
    name = match.group(2) or "float32"
    if name not in _DTYPES:
        raise NetcostError(
            f"unknown dtype {name!r} in input {text!r}; known: {', '.join(sorted(_DTYPES))}"
        )
    if any(n == 0 for n in shape):
        raise NetcostError(f"input {text!r} has a zero-sized dimension")
    return shape, _DTYPES[name]


def shape_only(shape: tuple[int, ...], dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A tensor with a shape and a dtype and no data (meta device): nothing is allocated."""
    return torch.empty(shape, dtype=dtype, device="meta")
