"""Sliding-window geometry of convolution and pooling ops, per spatial dimension.

For input size n, kernel k, stride s, padding p, dilation d, PyTorch computes
    out = ⌊(n + 2p − d·(k − 1) − 1) / s⌋ + 1     (⌈…⌉ with ceil_mode, the last window kept only
                                                  if it starts inside the input or left padding)
    out = (n − 1)·s − 2p + d·(k − 1) + output_padding + 1   for a transposed convolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from netcost.formulas._shapes import tup
from netcost.report import OpRecord
from netcost.trace import TensorSpec

POOLS = ("max_pool", "avg_pool")


@dataclass(frozen=True)
class Window:
    """One spatial dimension of one conv or pool op."""

    size: int  # input size n
    out: int  # output size, as PyTorch computed it
    kernel: int
    stride: int
    padding: int
    dilation: int = 1
    ceil_mode: bool = False
    transposed: bool = False
    output_padding: int = 0

    @property
    def span(self) -> int:
        """Input positions one window covers, holes included: d·(k − 1) + 1."""
        return self.dilation * (self.kernel - 1) + 1

    @property
    def exact(self) -> Fraction:
        """(n + 2p − d·(k − 1) − 1) / s + 1 before rounding (not for transposed)."""
        return Fraction(self.size + 2 * self.padding - self.span, self.stride) + 1

    @property
    def formula_out(self) -> int:
        """The output size by PyTorch's formula (ceil_mode's rule included), from the arguments."""
        if self.transposed:
            return (
                (self.size - 1) * self.stride
                - 2 * self.padding
                + self.dilation * (self.kernel - 1)
                + self.output_padding
                + 1
            )
        reach = self.size + 2 * self.padding - self.span
        if not self.ceil_mode:
            return reach // self.stride + 1
        out = -(-reach // self.stride) + 1
        if (out - 1) * self.stride >= self.size + self.padding:
            out -= 1  # the last window would start in the right padding: PyTorch drops it
        return out

    @property
    def unread_end(self) -> int:
        """Positions of the padded input after the last window's last tap; negative when the last
        window overhangs the padded input (ceil_mode)."""
        last = (self.out - 1) * self.stride + self.span - 1
        return self.size + 2 * self.padding - 1 - last

    @property
    def gap(self) -> int:
        """Positions skipped between one window and the next when the stride outreaches the
        kernel: s − (d·(k − 1) + 1) when positive."""
        return max(0, self.stride - self.span)

    def unread(self) -> list[int]:
        """Input positions (padding excluded) that no tap of any window touches."""
        read = {
            o * self.stride - self.padding + t * self.dilation
            for o in range(self.out)
            for t in range(self.kernel)
        }
        return [i for i in range(self.size) if i not in read]

    @property
    def dropped(self) -> int:
        """Input positions (not padding) at the end that no window reads."""
        return max(0, self.unread_end - self.padding)

    @property
    def overhang(self) -> int:
        """How far the last window reaches past the padded input (ceil_mode)."""
        return max(0, -self.unread_end)

    def padding_only_outputs(self) -> int:
        """Outputs whose every tap falls in the padding. None can when the padding is narrower than
        a window (the first window reaches position 0, the last starts before the end) and the
        dilation cannot step over the whole input."""
        if self.padding < self.span and self.dilation <= self.size:
            return 0
        count = 0
        for o in range(self.out):
            start = o * self.stride - self.padding
            taps = (start + t * self.dilation for t in range(self.kernel))
            if not any(0 <= i < self.size for i in taps):
                count += 1
        return count


def windows(record: OpRecord) -> list[Window] | None:
    """The per-dimension geometry of a conv or pool op, None for any other op."""
    a = record.args
    if record.family == "conv":
        x, w = a.get("input"), a.get("weight")
        if not isinstance(x, TensorSpec) or not isinstance(w, TensorSpec):
            return None
        d = len(w) - 2
        return _build(
            x, record.output_shapes[0], d, w.shape[2:], a.get("stride"), a.get("padding"),
            a.get("dilation"), False, bool(a.get("transposed")), a.get("output_padding") or 0,
        )  # fmt: skip
    if record.family == "pool" and "kernel_size" in a:
        x = a.get("self")
        if not isinstance(x, TensorSpec):
            return None
        k = a["kernel_size"]
        d = len(k) if not isinstance(k, int) and len(k) > 1 else _pool_dims(record.op)
        stride = a.get("stride") or k
        return _build(
            x, record.output_shapes[0], d, tup(k, d), stride, a.get("padding", 0),
            a.get("dilation", 1), bool(a.get("ceil_mode")), False, 0,
        )  # fmt: skip
    return None


def _pool_dims(op: str) -> int:
    for d in (1, 2, 3):
        if f"pool{d}d" in op:
            return d
    return 2


def _build(
    x: TensorSpec,
    out: tuple[int, ...],
    d: int,
    kernel: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: bool,
    transposed: bool,
    output_padding: Any,
) -> list[Window]:
    k, s, p = tup(kernel, d), tup(stride, d), tup(padding, d)
    dl, op = tup(dilation or 1, d), tup(output_padding, d)
    return [
        Window(x.shape[-d + i], out[-d + i], k[i], s[i], p[i], dl[i], ceil_mode, transposed, op[i])
        for i in range(d)
    ]


def dim_names(d: int) -> tuple[str, ...]:
    return {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}[d]
