"""Pooling: max and average (1d/2d/3d, ceil_mode, padding), and adaptive pooling.

Max: one comparison per window element read (k per output: k - 1 comparisons plus the first load
counted as one). Average: one add per window element, one divide per output.
Windows are counted as PyTorch reads them: a window clipped at the edge reads fewer elements.
"""

from __future__ import annotations

from math import prod
from typing import Any

from netcost.cost import Cost
from netcost.formulas._registry import formula
from netcost.formulas._shapes import first, numel, tup
from netcost.ops import aten
from netcost.trace import TensorSpec


def window_reads(
    size: int, out: int, kernel: int, stride: int, padding: int, dilation: int = 1
) -> int:
    """Input elements read along one dimension, summed over the `out` windows: taps that fall in
    the padding or beyond the input (ceil_mode's last window) are not read."""
    total = 0
    for o in range(out):
        start = o * stride - padding
        total += sum(1 for t in range(kernel) if 0 <= start + t * dilation < size)
    return total


def _pool_reads(
    input: TensorSpec,
    out: TensorSpec,
    d: int,
    kernel: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
) -> int:
    """Elements read by all windows of a d-dimensional pool: the product over spatial dims of the
    per-dim window reads, times the leading (batch, channel) extent."""
    k = tup(kernel, d)
    s = tup(stride, d) if stride not in (None, (), []) else k  # PyTorch: stride defaults to kernel
    p, dl = tup(padding, d), tup(dilation, d)
    reads = prod(out.shape[:-d])
    for i in range(d):
        reads *= window_reads(input.shape[-d + i], out.shape[-d + i], k[i], s[i], p[i], dl[i])
    return reads


def _max_pool(d: int) -> Any:
    def max_pool(
        self: TensorSpec,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        *,
        out: Any,
        **_: object,
    ) -> Cost:
        """One comparison per input element read by each window (see window_reads)."""
        reads = _pool_reads(self, first(out), d, kernel_size, stride, padding, dilation)
        return Cost.elementwise(reads)

    return max_pool


def _avg_pool(d: int) -> Any:
    def avg_pool(
        self: TensorSpec,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        *,
        out: TensorSpec,
        **_: object,
    ) -> Cost:
        """One add per input element read by each window (padding holds zeros and is not read),
        one divide per output element."""
        reads = _pool_reads(self, out, d, kernel_size, stride, padding, 1)
        return Cost.elementwise(reads) + Cost.elementwise(numel(out))

    return avg_pool


max_pool1d = formula(aten.max_pool1d, aten.max_pool1d_with_indices, family="pool")(_max_pool(1))
max_pool2d = formula(aten.max_pool2d_with_indices, "aten.max_pool2d", family="pool")(_max_pool(2))
max_pool3d = formula(aten.max_pool3d_with_indices, "aten.max_pool3d", family="pool")(_max_pool(3))
avg_pool1d = formula(aten.avg_pool1d, family="pool")(_avg_pool(1))
avg_pool2d = formula(aten.avg_pool2d, family="pool")(_avg_pool(2))
avg_pool3d = formula(aten.avg_pool3d, family="pool")(_avg_pool(3))


def adaptive_reads(size: int, out: int) -> int:
    """Window i spans [⌊i·size/out⌋, ⌈(i+1)·size/out⌉): the sum of the window lengths."""
    return sum(-((-(i + 1) * size) // out) - (i * size) // out for i in range(out))


def _adaptive(self: TensorSpec, out: TensorSpec, output_size: Any) -> int:
    d = len(tuple(output_size))
    reads = prod(out.shape[:-d])
    for size, o in zip(self.shape[-d:], out.shape[-d:], strict=True):
        reads *= adaptive_reads(size, o)
    return reads


@formula(
    aten._adaptive_avg_pool2d, aten._adaptive_avg_pool3d, "aten.adaptive_avg_pool1d", family="pool"
)
def adaptive_avg_pool(self: TensorSpec, output_size: Any, *, out: TensorSpec, **_: object) -> Cost:
    """One add per element of each adaptive window, one divide per output element."""
    return Cost.elementwise(_adaptive(self, out, output_size)) + Cost.elementwise(numel(out))


@formula(
    aten.adaptive_max_pool2d, aten.adaptive_max_pool3d, "aten.adaptive_max_pool1d", family="pool"
)
def adaptive_max_pool(self: TensorSpec, output_size: Any, *, out: Any, **_: object) -> Cost:
    """One comparison per element of each adaptive window."""
    return Cost.elementwise(_adaptive(self, first(out), output_size))
