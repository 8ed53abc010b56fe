"""Explanations and window-arithmetic warnings: the seed questions, answered with arithmetic."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import netcost
from netcost.analysis.geometry import windows
from netcost.cli import run
from netcost.examples import nin, simple_cnn

GOLDEN = Path(__file__).parent / "golden"


def test_fastbook_layer_explained():
    text = netcost.analyze(simple_cnn(), input_size=(64, 1, 28, 28)).explain("1.0")
    lines = text.splitlines()
    assert lines[0] == "1.0  Conv2d(4, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))"
    assert "H: ⌊(14 + 2·1 − 3) / 2⌋ + 1 = 7" in text  # (14 + 2 − 3) // 2 + 1 = 7
    assert (
        f"8 out channels · 7·7 positions · 4 in channels · 3·3 kernel = {8 * 49 * 4 * 9:,}" in text
    )
    assert f"× 64 samples = {64 * 8 * 49 * 4 * 9:,}" in text
    assert "36 multiplications, 35 + 1 (bias) additions" in text  # a 4·3·3 dot product
    assert f"8 · 4 · 3·3 + 8 = {8 * 4 * 9 + 8}" in text
    assert f"64·8·7·7 = {64 * 8 * 7 * 7:,} elements · 4 B = 98.00 KiB" in text


@pytest.mark.parametrize(
    ("argv", "golden"),
    [
        (["--explain"], "simple_cnn_explain.txt"),
        (["examples:nin", "--explain", "0"], "nin_block0_explain.txt"),
        (["examples:get_cnn_model", "--explain"], "get_cnn_model_explain.txt"),
    ],
)
def test_golden_explanations(argv, golden):
    assert run(argv) == (GOLDEN / golden).read_text()


def test_nin_drops_the_last_row_and_column_four_times():
    """(224 − 11) / 4 + 1 = 54.25: PyTorch never reads the bottom row and right column; the same
    happens at each 3x3/2 max-pool: 54 → 26.5, 26 → 12.5, 12 → 5.5."""
    r = netcost.analyze(nin(), input_size=(1, 1, 224, 224))
    warned = {d.layers[0]: d.message for d in r.diagnostics if d.kind == "conv_arithmetic"}
    assert list(warned) == ["0.0", "1", "3", "5"]
    assert warned["0.0"] == (
        "0.0 (Conv2d): H and W: (224 + 2·0 − 11) / 4 + 1 = 54.25 → 54: the last 1 row (bottom) "
        "and the last 1 column (right) of the input are never read"
    )
    for path, n, fraction in (("1", 54, "26.5 → 26"), ("3", 26, "12.5 → 12"), ("5", 12, "5.5 → 5")):
        assert f"({n} + 2·0 − 3) / 2 + 1 = {fraction}" in warned[path]
    assert r.layer("0.0").warnings and "0.0 !" in r.table()


def test_ceil_mode_and_padding_only_warnings():
    model = nn.Sequential(nn.MaxPool2d(3, 2, ceil_mode=True), nn.Conv2d(3, 3, 1, padding=2))
    r = netcost.analyze(model, input_size=(1, 3, 8, 9))
    (pool,) = r.layer("0").warnings
    assert pool == (
        "H: ceil_mode makes (8 + 2·0 − 3) / 2 + 1 = 3.5 → 4: the last window overhangs the "
        "padded input by 1 and reads 2 of its 3 positions"
    )  # W: (9 − 3) / 2 + 1 = 4 exactly, no warning
    (conv,) = r.layer("1").warnings
    assert conv.startswith("H and W: 4 outputs of 8 read only padding")  # 2 on each side


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(3, 15),
    k=st.integers(1, 5),
    s=st.integers(1, 4),
    p=st.integers(0, 2),
    d=st.integers(1, 2),
    pool=st.booleans(),
    ceil=st.booleans(),
)
def test_window_arithmetic_against_pytorch(size, k, s, p, d, pool, ceil):
    """Output sizes by formula, and the positions never read, against PyTorch's own gradient."""
    if pool:
        if p > k // 2:
            return
        layer: nn.Module = nn.MaxPool1d(k, s, p, d, ceil_mode=ceil)
    else:
        layer = nn.Conv1d(1, 1, k, s, p, d, bias=False)
        nn.init.constant_(layer.weight, 1.0)
    x = (torch.rand(1, 1, size) + 1).requires_grad_()  # positive: a conv of ones reads it all
    try:
        y = layer(x)
    except RuntimeError:
        return
    if y.numel() == 0:
        return
    record = netcost.analyze(layer, x.detach()).modules[0].ops[0]
    w = windows(record)[-1]  # MaxPool1d runs as a 2-d pool over an unsqueezed input
    assert w.formula_out == y.shape[-1]
    if pool:  # max-pool reads every element of a window, whichever it picks
        read = set()
        for o in range(w.out):
            read |= {o * s - p + t * d for t in range(k)}
        unread = [i for i in range(size) if i not in read]
    else:
        y.sum().backward()
        unread = [i for i in range(size) if x.grad[0, 0, i] == 0]
    assert unread == w.unread()
    tail = [i for i in unread if i >= size - w.dropped]
    assert tail == list(range(size - w.dropped, size))  # exactly the last w.dropped positions
    if w.gap and not pool:
        assert len(unread) >= (w.out - 1) * w.gap - 2 * p  # gaps between windows, padding aside


def test_grouped_dilated_and_transposed_convolutions_explained():
    grouped = netcost.analyze(
        nn.Conv2d(8, 16, 3, padding=2, dilation=2, groups=4), input_size=(2, 8, 10, 10)
    )
    text = grouped.explain()
    assert "H: ⌊(10 + 2·2 − 2·(3 − 1) − 1) / 1⌋ + 1 = 10" in text  # dilation 2: reach 5
    assert (
        "16 out channels · 10·10 positions · 2 in channels (per group of 4) · 3·3 kernel = "
        f"{16 * 100 * 2 * 9:,}" in text
    )
    up = netcost.analyze(
        nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1), input_size=(1, 4, 5, 5)
    )
    text = up.explain()
    assert "H: (5 − 1)·2 − 2·1 + 1·(3 − 1) + 1 + 1 = 10" in text
    assert (
        f"4 in channels · 5·5 input positions · 2 out channels · 3·3 kernel = {4 * 25 * 2 * 9:,}"
        in text
    )


def test_attention_explained():
    class Attend(nn.Module):
        def forward(self, q, k, v):
            return nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)

    q = torch.randn(2, 4, 16, 8)
    text = netcost.analyze(Attend(), (q, q, q)).explain()
    assert (
        f"causal: Σ min(i + 1, 16) over 16 queries = {16 * 17 // 2} per head, 8 batch·heads" in text
    )
    assert f"8 · 136 · (8 for Q·Kᵀ + 8 for P·V) = {8 * 136 * 16:,}" in text


def test_every_other_op_is_explained_by_its_formula():
    text = netcost.analyze(
        nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2).eval(), nn.GELU()),
        input_size=(1, 1, 6, 6),
    ).explain("2")
    assert "gelu" in text and f"1 FLOP per output element: {2 * 4 * 4} FLOPs" in text


def test_kernel_larger_than_the_padded_input_is_a_clear_error():
    with pytest.raises(netcost.NetcostError) as info:
        netcost.analyze(nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool2d(5)), input_size=(1, 1, 6, 6))
    message = str(info.value)
    assert message.startswith("1 (MaxPool2d): aten.max_pool2d_with_indices.default(self=1x1x4x4)")
    assert "\n" not in message


def test_norms_explained_with_their_terms():
    r = netcost.analyze(nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.BatchNorm2d(64)).eval(),
                        input_size=(1, 3, 56, 56))  # fmt: skip
    text = r.explain("1")
    elements = 64 * 56 * 56
    # eval: normalise 2 + weight 1 + bias 1 per element, 1/sqrt(var + eps) 3 per channel
    assert f"(2 normalise + 1 weight + 1 bias) · {elements:,} elements + 3 · 64 = " in text
    assert f"= {4 * elements + 3 * 64:,}" in text
    assert r.layer("1").cost.flops == 4 * elements + 3 * 64


@pytest.mark.parametrize(
    "source",
    ["examples:simple_cnn", "examples:nin", "examples:fastai_resnet18", "torchvision:densenet121",
     "torchvision:vit_b_16", "torchvision:googlenet", "hf:gpt2:n_layer=1"],
)  # fmt: skip
def test_every_derivation_reaches_its_formulas_number(source):
    """explain() checks each derived MACs/FLOPs figure against the formula's and refuses a
    mismatch: these run every derivation (conv, matmul, attention, the fused
    MultiheadAttention, max and average pooling, norms) without one."""
    assert "MACs" in run([source, "--explain"])


def test_a_derivation_that_disagrees_with_its_formula_is_refused():
    from dataclasses import replace

    from netcost.analysis.explain import ExplanationMismatch, explain_layer

    report = netcost.analyze(nn.Conv2d(1, 4, 3), input_size=(1, 1, 8, 8))
    layer = report.layers[0]
    (record,) = layer.ops
    wrong = replace(layer, ops=(replace(record, cost=replace(record.cost, macs=1)),))
    with pytest.raises(
        ExplanationMismatch, match=r"derivation of MACs gives 1,296 but its formula gave 1"
    ):
        explain_layer(wrong)
