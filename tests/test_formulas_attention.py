"""Attention formulas: SDPA on every backend, causal counting, fused MHA and encoder layers."""

from __future__ import annotations

import pytest

from conftest import T
from netcost.formulas.attention import (
    causal_scores,
    native_multi_head_attention,
    scaled_dot_product_attention,
)


def test_sdpa_dense():
    # B·H = 2·4, L = 16, S = 16, E = Ev = 8: Q·Kᵀ and P·V each 8 · 16·16 · 8 MACs
    c = scaled_dot_product_attention(T(2, 4, 16, 8), T(2, 4, 16, 8), T(2, 4, 16, 8), out=None)
    assert c.macs == 2 * 4 * 16 * 16 * (8 + 8)
    # per score: scale 1 + softmax 5
    assert c.flops == 2 * c.macs + 2 * 4 * 16 * 16 * (1 + 5)


@pytest.mark.parametrize(
    ("L", "S", "unmasked"),
    [
        (4, 4, 1 + 2 + 3 + 4),
        (16, 16, 16 * 17 // 2),
        (3, 5, 1 + 2 + 3),  # top-left aligned: row i sees keys 0..i
        (5, 3, 1 + 2 + 3 + 3 + 3),  # rows past S see all S keys
        (1, 7, 1),
    ],
)
def test_causal_counts_the_unmasked_scores(L, S, unmasked):
    import torch

    assert causal_scores(L, S) == unmasked
    # the same count as PyTorch's own causal mask
    assert causal_scores(L, S) == int(torch.ones(L, S, dtype=torch.bool).tril().sum())


def test_sdpa_causal_and_gqa():
    c = scaled_dot_product_attention(
        T(1, 8, 10, 4), T(1, 2, 10, 4), T(1, 2, 10, 6), is_causal=True, out=None
    )
    assert c.macs == 8 * (10 * 11 // 2) * (4 + 6)


def test_sdpa_mask_counts_an_add_per_score():
    plain = scaled_dot_product_attention(T(1, 1, 3, 2), T(1, 1, 5, 2), T(1, 1, 5, 2), out=None)
    masked = scaled_dot_product_attention(
        T(1, 1, 3, 2), T(1, 1, 5, 2), T(1, 1, 5, 2), attn_mask=T(3, 5), out=None
    )
    assert masked.flops - plain.flops == 3 * 5


def test_native_mha():
    # B=2, L=10, E=64, 4 heads of 16: 3 input projections, attention, output projection
    c = native_multi_head_attention(T(2, 10, 64), T(2, 10, 64), T(2, 10, 64), 64, 4, out=None)
    projections = 4 * (2 * 10 * 64 * 64)
    attention = 2 * 4 * 10 * 10 * (16 + 16)
    assert c.macs == projections + attention
