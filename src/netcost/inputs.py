"""Input specifications: '64x1x28x28', '4x16:int64', and turning them into shape-only tensors."""

from __future__ import annotations

import re

import torch

from netcost.errors import UsageError

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
        raise UsageError(
            f"cannot read input {text!r}: write sizes joined by x, with an optional dtype, "
            "e.g. 64x1x28x28 or 4x16:int64"
        )
    shape = tuple(int(n) for n in re.split(r"\s*[x×,]\s*", match.group(1)))
    name = match.group(2) or "float32"
    if name not in _DTYPES:
        raise UsageError(
            f"unknown dtype {name!r} in input {text!r}; known: {', '.join(sorted(_DTYPES))}"
        )
    if any(n == 0 for n in shape):
        raise UsageError(f"input {text!r} has a zero-sized dimension")
    return checked_shape(shape, f"input {text!r}"), _DTYPES[name]


#: The largest size a tensor dimension can have (PyTorch's int64 sizes).
MAX_DIM = 2**63 - 1


def checked_shape(shape: object, what: str) -> tuple[int, ...]:
    """`shape` as a tuple of sizes from 1 to 2⁶³ − 1, or one line saying what is wrong."""
    if not isinstance(shape, list | tuple) or not all(
        isinstance(n, int) and not isinstance(n, bool) for n in shape
    ):
        raise UsageError(f"{what}: a shape is a tuple of ints, e.g. (64, 1, 28, 28); got {shape!r}")
    for n in shape:
        if n < 1:
            raise UsageError(f"{what}: every size must be 1 or more, not {n}")
        if n > MAX_DIM:
            raise UsageError(f"{what}: size {n:,} is larger than PyTorch allows (2⁶³ − 1)")
    return tuple(shape)


def with_known_values(t: torch.Tensor) -> torch.Tensor:
    """Marks a real floating-point input whose values the analysis may read (integer and bool
    inputs keep theirs anyway): an image of ones a forward tests for padding, say."""
    t._netcost_known = True  # type: ignore[attr-defined]
    return t


def known(t: torch.Tensor) -> bool:
    return bool(getattr(t, "_netcost_known", False))


def shape_only(shape: tuple[int, ...], dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A tensor with a shape and a dtype and no data (meta device): nothing is allocated."""
    return torch.empty(shape, dtype=dtype, device="meta")
