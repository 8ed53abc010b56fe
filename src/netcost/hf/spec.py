"""`Input`: one tensor a model is fed, as a shape, a dtype and, where they matter, its values.

Rules change inputs through it (`input.shape[-2:]`, `Input((1, n, c * p * p))`) rather than
editing "1x3x224x224" strings; `str(Input)` is the spec the command line prints and reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from netcost.inputs import parse_input, shape_only

#: Token ids, sizes and integer masks.
LONG = torch.int64


@dataclass(frozen=True)
class Input:
    shape: tuple[int, ...]
    dtype: torch.dtype = torch.float32
    #: the tensor's values, where the model reads them (token ids, masks, sizes); else None
    values: torch.Tensor | None = field(default=None, compare=False)

    @classmethod
    def parse(cls, spec: str) -> Input:
        """'1x128:int64' -> Input((1, 128), int64)."""
        return cls(*parse_input(spec))

    @classmethod
    def of(cls, values: torch.Tensor) -> Input:
        """An input with these values (shape and dtype theirs)."""
        return cls(tuple(values.shape), values.dtype, values)

    def __str__(self) -> str:
        dtype = "" if self.dtype == torch.float32 else ":" + str(self.dtype).removeprefix("torch.")
        return "x".join(map(str, self.shape)) + dtype

    def resized(self, *shape: int) -> Input:
        """The same dtype at another shape (values dropped: they were the old shape's)."""
        return Input(tuple(shape), self.dtype)

    def with_values(self, values: torch.Tensor) -> Input:
        return Input(self.shape, self.dtype, values)

    def tensor(self) -> torch.Tensor:
        """What a probe feeds: the values, else a shape-only stand-in."""
        return self.values if self.values is not None else shape_only(self.shape, self.dtype)


def ids(values: list[int]) -> Input:
    """One sample of token ids."""
    return Input.of(torch.tensor([values], dtype=torch.int64))


def filled(shape: tuple[int, ...], value: int | bool, dtype: torch.dtype = torch.int64) -> Input:
    """An input of one value everywhere (a mask of ones, an ordinary token)."""
    return Input.of(torch.full(shape, value, dtype=dtype))
