"""Norm, pooling, pointwise, reductions, interpolation, embedding and recurrent formulas."""

from __future__ import annotations

import pytest

from conftest import T
from netcost.formulas.interpolate import bicubic, bilinear, nearest
from netcost.formulas.movement import _gathered_rows, embedding
from netcost.formulas.norm import batch_norm, batch_norm_inference, group_norm, layer_norm
from netcost.formulas.pointwise import one_flop
from netcost.formulas.pool import (
    adaptive_avg_pool,
    adaptive_reads,
    avg_pool2d,
    max_pool2d,
    window_reads,
)
from netcost.formulas.reduction import mean, softmax, variance
from netcost.formulas.rnn import cudnn_rnn, mkldnn_rnn_layer


def test_batch_norm():
    x = T(2, 3, 4, 4)
    n = 2 * 3 * 4 * 4
    # eval: normalise (2) + weight (1) + bias (1) per element; 1/sqrt(var+eps) (3) per channel
    assert batch_norm_inference(x, T(3), T(3), out=x).flops == 4 * n + 3 * 3
    # train: + statistics (4) per element; + two running-stat updates (4 each) per channel
    train = batch_norm(x, T(3), T(3), T(3), True, out=(x,))
    assert train.flops == (4 + 4) * n + (3 + 8) * 3
    assert train.macs == 0


def test_layer_and_group_norm():
    x = T(2, 10, 32)
    assert layer_norm(x, [32], T(32), T(32), out=(x,)).flops == 8 * 2 * 10 * 32 + 3 * 2 * 10
    g = T(2, 8, 5)
    assert group_norm(g, None, None, 2, 8, 5, 4, out=(g,)).flops == 6 * 2 * 8 * 5 + 3 * 2 * 4


@pytest.mark.parametrize(
    ("size", "out", "k", "s", "p", "reads"),
    [
        (8, 3, 3, 2, 0, 3 + 3 + 3),  # windows at 0, 2, 4
        (8, 4, 3, 2, 0, 3 + 3 + 3 + 2),  # ceil_mode: last window at 6 reads 6, 7
        (4, 2, 3, 2, 1, 2 + 3),  # first window starts in the padding
        (54, 26, 3, 2, 0, 26 * 3),  # NiN's first max-pool
    ],
)
def test_window_reads(size, out, k, s, p, reads):
    assert window_reads(size, out, k, s, p) == reads


def test_pools():
    x, y = T(1, 2, 8, 8), T(1, 2, 4, 4)
    # ceil_mode 3x3/2 on 8: per dim 3+3+3+2 = 11 reads; 2 channels
    assert max_pool2d(x, [3, 3], [2, 2], [0, 0], [1, 1], out=(y, y)).flops == 2 * 11 * 11
    assert avg_pool2d(x, [2, 2], [2, 2], [0, 0], out=y).flops == 2 * 8 * 8 + 2 * 4 * 4
    # adaptive 7 -> 3: windows [0,3) [2,5) [4,7) read 3 each
    assert adaptive_reads(7, 3) == 3 + 3 + 3
    assert adaptive_reads(10, 1) == 10
    z = T(1, 5, 1, 1)
    assert adaptive_avg_pool(T(1, 5, 7, 7), [1, 1], out=z).flops == 5 * 49 + 5


def test_pointwise_reduction_softmax():
    x = T(4, 6)
    assert one_flop(self=x, other=x, out=x).flops == 24
    assert mean(self=x, dim=[1], out=T(4)).flops == 24 + 4
    assert variance(self=x, dim=[1], out=T(4)).flops == 4 * 24 + 2 * 4
    assert softmax(self=x, dim=-1, out=x).flops == 5 * 24


def test_interpolation():
    y = T(1, 3, 16, 16)
    assert nearest(out=y).flops == 0
    assert bilinear(out=y).flops == (2 * 4 - 1) * 3 * 256
    assert bicubic(out=y).flops == (2 * 16 - 1) * 3 * 256


def test_embedding_reads_only_the_selected_rows():
    w, idx, out = T(50000, 64), T(2, 7, dtype=__import__("torch").int64), T(2, 7, 64)
    assert embedding(w, idx, out=out).flops == 0
    assert _gathered_rows({"weight": w, "indices": idx}, (out,)) == (
        2 * 7 * 8 + 2 * 7 * 64 * 4,
        2 * 7 * 64 * 4,
    )


def test_recurrent():
    # one LSTM layer: T=5, B=3, I=8, H=16, gates 4·16
    c = mkldnn_rnn_layer(T(5, 3, 8), T(64, 8), T(64, 16), 16, True, out=None)
    assert c.macs == 5 * 3 * 64 * (8 + 16)
    assert c.flops == 2 * c.macs + 5 * 3 * 16 * (4 + 8 + 9)
    # cuDNN, 2-layer bidirectional GRU (gates 3·H), H=4, I=2: W_ih is (12, 2) for layer 0,
    # (12, 8) for layer 1 (input = 2 directions · H)
    weights = []
    for i in (2, 2, 8, 8):
        weights += [T(12, i), T(12, 4), T(12), T(12)]
    g = cudnn_rnn(T(7, 1, 2), tuple(weights), 4, 0, 2, True, out=None)
    assert g.macs == 7 * (2 * 12 * 2 + 2 * 12 * 8 + 4 * 12 * 4)
