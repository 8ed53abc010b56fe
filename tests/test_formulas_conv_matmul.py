"""Convolution and matrix-product formulas, expected values written as arithmetic."""

from __future__ import annotations

import pytest

from conftest import T
from netcost.formulas.conv import convolution
from netcost.formulas.matmul import addmm, baddbmm, bmm, mm, mv


@pytest.mark.parametrize(
    ("x", "w", "bias", "stride", "pad", "transposed", "groups", "out", "macs", "flops"),
    [
        # fastbook simple_cnn layer 2: 8 out channels · 7·7 positions · 4 in channels · 3·3 kernel
        ((64, 4, 14, 14), (8, 4, 3, 3), True, 2, 1, False, 1, (64, 8, 7, 7),
         64 * 8 * 7 * 7 * 4 * 3 * 3, 2 * 64 * 8 * 7 * 7 * 4 * 3 * 3 + 64 * 8 * 7 * 7),
        # depthwise: groups = channels, each output reads 1 channel
        ((1, 32, 10, 10), (32, 1, 3, 3), False, 1, 1, False, 32, (1, 32, 10, 10),
         32 * 10 * 10 * 1 * 3 * 3, 2 * 32 * 10 * 10 * 9),
        # grouped: 4 groups of 16 -> 8 per group
        ((2, 16, 5, 5), (32, 4, 3, 3), False, 1, 0, False, 4, (2, 32, 3, 3),
         2 * 32 * 3 * 3 * 4 * 3 * 3, 2 * 2 * 32 * 3 * 3 * 4 * 9),
        # 1d and 3d
        ((3, 5, 20), (7, 5, 4), True, 2, 0, False, 1, (3, 7, 9),
         3 * 7 * 9 * 5 * 4, 2 * 3 * 7 * 9 * 5 * 4 + 3 * 7 * 9),
        ((1, 2, 4, 6, 6), (3, 2, 1, 3, 3), False, 1, 1, False, 1, (1, 3, 6, 6, 6),
         3 * 6 * 6 * 6 * 2 * 1 * 3 * 3, 2 * 3 * 216 * 18),
        # transposed: each input element scatters through C_out/groups · k weights
        ((1, 8, 4, 4), (8, 3, 3, 3), True, 2, 1, True, 1, (1, 3, 8, 8),
         8 * 4 * 4 * 3 * 3 * 3, 2 * 8 * 4 * 4 * 27 + 3 * 8 * 8),
        ((2, 6, 5), (6, 2, 4), False, 3, 0, True, 3, (2, 6, 16),
         2 * 6 * 5 * 2 * 4, 2 * 2 * 6 * 5 * 2 * 4),
    ],
)  # fmt: skip
def test_convolution(x, w, bias, stride, pad, transposed, groups, out, macs, flops):
    d = len(x) - 2
    cost = convolution(
        T(*x), T(*w), T(w[1] * groups if transposed else w[0]) if bias else None,
        [stride] * d, [pad] * d, [1] * d, transposed, [0] * d, groups, out=T(*out),
    )  # fmt: skip
    assert (cost.macs, cost.flops) == (macs, flops)


def test_mm_family():
    assert mm(T(5, 7), T(7, 3), out=T(5, 3)).macs == 5 * 7 * 3
    c = addmm(T(3), T(5, 7), T(7, 3), out=T(5, 3))
    assert (c.macs, c.flops) == (5 * 7 * 3, 2 * 5 * 7 * 3 + 5 * 3)
    scaled = addmm(T(3), T(5, 7), T(7, 3), beta=0.5, alpha=2.0, out=T(5, 3))
    assert scaled.flops == 2 * 5 * 7 * 3 + 3 * 5 * 3  # bias add + two scalings per output
    assert bmm(T(4, 5, 7), T(4, 7, 3), out=T(4, 5, 3)).macs == 4 * 5 * 7 * 3
    b = baddbmm(T(4, 5, 3), T(4, 5, 7), T(4, 7, 3), out=T(4, 5, 3))
    assert (b.macs, b.flops) == (4 * 5 * 7 * 3, 2 * 4 * 5 * 7 * 3 + 4 * 5 * 3)
    assert mv(T(6, 9), T(9), out=T(6)).macs == 6 * 9
