"""PyTorch's fused kernels are counted, and count the same as the unfused ops they replace."""

from __future__ import annotations

import torch
from torch import nn

import netcost


def ops_of(report: netcost.Report) -> set[str]:
    return {o.op for o in report.ops}


def test_transformer_encoder_fast_path_equals_slow_path():
    layer = nn.TransformerEncoderLayer(64, 4, 256, batch_first=True, dropout=0.0).eval()
    x = torch.randn(2, 10, 64)
    fast = netcost.analyze(layer, x)
    slow = netcost.analyze(layer.train(), x)  # training mode: the unfused path (dropout 0)
    layer.eval()
    assert "aten._transformer_encoder_layer_fwd.default" in ops_of(fast)
    assert "aten._transformer_encoder_layer_fwd.default" not in ops_of(slow)
    tokens, e, f, heads = 2 * 10, 64, 256, 4
    macs = 4 * tokens * e * e + 2 * heads * 10 * 10 * (e // heads) * 2 + 2 * tokens * e * f
    assert fast.total.macs == slow.total.macs == macs
    assert fast.total.flops == slow.total.flops


def test_multihead_attention_fast_path_equals_slow_path():
    class SelfAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn = nn.MultiheadAttention(32, 2, batch_first=True)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.attn(x, x, x, need_weights=False)[0]

    model, x = SelfAttention().eval(), torch.randn(3, 7, 32)
    fast = netcost.analyze(model, x)
    slow = netcost.analyze(model.train(), x)  # training mode: the unfused path (dropout 0)
    assert "aten._native_multi_head_attention.default" in ops_of(fast)
    assert "aten._native_multi_head_attention.default" not in ops_of(slow)
    assert fast.total.macs == slow.total.macs == 4 * 21 * 32 * 32 + 3 * 2 * 7 * 7 * 16 * 2
    assert fast.total.flops == slow.total.flops


def test_multihead_attention_fast_path_counts_the_averaged_weights():
    """need_weights=True (the default) returns the weights averaged over the heads: the slow
    path's mean over 4 heads adds 4 weights and divides once for each of 2·16·16 outputs,
    2,560 FLOPs; the fast path does the same inside its one op."""
    attn, x = nn.MultiheadAttention(64, 4, batch_first=True).eval(), torch.randn(2, 16, 64)
    fast = netcost.analyze(attn, (x, x, x))
    slow = netcost.analyze(attn.train(), (x, x, x))
    attn.eval()
    assert "aten._native_multi_head_attention.default" in ops_of(fast)
    assert fast.total.flops == slow.total.flops

    class Unweighted(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn = attn

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.attn(x, x, x, need_weights=False)[0]

    plain = netcost.analyze(Unweighted().eval(), x)
    assert fast.total.flops - plain.total.flops == 2 * 16 * 16 * (4 + 1)


def test_lstm_fused_kernel_equals_decomposed_cells():
    lstm, x = nn.LSTM(8, 16, num_layers=2, batch_first=True), torch.randn(3, 5, 8)
    fused = netcost.analyze(lstm, x)
    with torch.backends.mkldnn.flags(enabled=False):
        cells = netcost.analyze(lstm, x)
    assert "aten.mkldnn_rnn_layer.default" in ops_of(fused)
    assert "aten.mkldnn_rnn_layer.default" not in ops_of(cells)
    steps = 3 * 5
    assert fused.total.macs == cells.total.macs == steps * 4 * 16 * ((8 + 16) + (16 + 16))
    assert fused.total.flops == cells.total.flops


def test_sdpa_cpu_flash_kernel_is_counted():
    class Attend(nn.Module):
        def forward(self, q, k, v):
            return nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)

    q = torch.randn(2, 4, 16, 8)
    r = netcost.analyze(Attend(), (q, q, q))
    assert "aten._scaled_dot_product_flash_attention_for_cpu.default" in ops_of(r)
    assert r.total.macs == 2 * 4 * (16 * 17 // 2) * (8 + 8)
    assert r.complete


def test_gru_and_rnn_lower_to_counted_ops():
    for layer, gates in ((nn.GRU(8, 16), 3), (nn.RNN(8, 16), 1)):
        r = netcost.analyze(layer, torch.randn(5, 3, 8))
        assert r.complete
        assert r.total.macs == 5 * 3 * gates * 16 * (8 + 16)


def test_functional_calls_are_counted():
    """What parameter-based tools count as 0: einsum, broadcast matmul, F.linear on 3-D input."""

    class Functional(nn.Module):
        def forward(self, a, b, w):
            x = torch.einsum("bij,bjk->bik", a, b)  # (2, 3, 5)
            y = x @ torch.ones(5, 4)  # broadcast matmul: (2, 3, 4)
            return nn.functional.linear(y, w)  # (2, 3, 6), no bias

    a, b, w = torch.randn(2, 3, 4), torch.randn(2, 4, 5), torch.randn(6, 4)
    r = netcost.analyze(Functional(), (a, b, w))
    assert r.total.macs == 2 * 3 * 4 * 5 + 2 * 3 * 5 * 4 + 2 * 3 * 4 * 6
    assert r.complete
