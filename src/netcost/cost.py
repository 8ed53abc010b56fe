"""Cost: the work and data movement of one op, one layer or a whole model.

Conventions (docs/conventions.md):
- one MAC is one multiply and one add into an accumulator;
- FLOPs count 2 per MAC, plus 1 per output element for every other arithmetic step
  (bias adds, activations, normalisation, softmax, ...);
- bytes_read / bytes_written are each tensor argument read once and each result written once.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Cost:
    """Exact integer counts; Cost() is 'nothing', and costs add."""

    macs: int = 0
    flops: int = 0
    bytes_read: int = 0
    bytes_written: int = 0

    @classmethod
    def mac_op(cls, macs: int, *, extra_flops: int = 0) -> Cost:
        """A multiply-accumulate op: FLOPs = 2 · MACs + extra (bias adds, scaling, ...)."""
        return cls(macs=macs, flops=2 * macs + extra_flops)

    @classmethod
    def elementwise(cls, elements: int, flops_per_element: int = 1) -> Cost:
        """Arithmetic with no MACs: FLOPs = elements · flops_per_element."""
        return cls(flops=elements * flops_per_element)

    @property
    def bytes_moved(self) -> int:
        return self.bytes_read + self.bytes_written

    def __add__(self, other: Cost) -> Cost:
        return Cost(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def to_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
