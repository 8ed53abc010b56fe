"""A training step's arithmetic, phase by phase: equal to FlopCounterMode ÷ 2 on a real forward
and backward where FlopCounterMode counts (conv, mm, bmm, SDPA), by hand elsewhere."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count

import netcost
from netcost.cli import run


class Attention(nn.Module):
    """A self-attention block: QKV projection, 4 heads of 8 through SDPA, output projection."""

    def __init__(self) -> None:
        super().__init__()
        self.qkv, self.out = nn.Linear(32, 96), nn.Linear(32, 32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, length, _ = x.shape
        q, k, v = self.qkv(x).view(b, length, 3, 4, 8).permute(2, 0, 3, 1, 4)
        y = nn.functional.scaled_dot_product_attention(q, k, v)
        return self.out(y.transpose(1, 2).reshape(b, length, 32))


def flop_counter_macs(model: nn.Module, x: torch.Tensor) -> int:
    model.train()
    with FlopCounterMode(display=False) as counter:
        model(x).sum().backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() // 2


@pytest.mark.parametrize(
    ("model", "x"),
    [
        (
            nn.Sequential(
                nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(8, 16, 3, stride=2), nn.ReLU(), nn.Flatten(), nn.Linear(144, 10),
            ),
            torch.randn(4, 3, 16, 16),
        ),
        (
            nn.Sequential(nn.Linear(20, 64), nn.GELU(), nn.LayerNorm(64), nn.Linear(64, 5)),
            torch.randn(6, 20),
        ),
    ],
)  # fmt: skip
def test_forward_and_backward_macs_equal_flop_counter_mode(model, x):
    compute = netcost.analyze(model, x, train=True).training_compute
    assert compute.forward.macs + compute.backward.macs == flop_counter_macs(model, x)
    assert compute.uncounted == ()


def test_attention_block_through_the_math_backend_equals_flop_counter_mode():
    model, x = Attention(), torch.randn(2, 10, 32)
    with sdpa_kernel(SDPBackend.MATH):
        compute = netcost.analyze(model, x, train=True).training_compute
        assert compute.forward.macs + compute.backward.macs == flop_counter_macs(model, x)


def test_the_attention_block_by_hand():
    """B = 2, L = 10, 4 heads of 8. Forward: QKV 20·32·96 = 61,440, attention 2·4·10·10·(8 + 8)
    = 12,800, output 20·32·32 = 20,480. Backward: the QKV weight gradient only (the input needs
    none) 61,440, attention's four products 25,600, the output's two 40,960."""
    compute = netcost.analyze(Attention(), torch.randn(2, 10, 32), train=True).training_compute
    assert compute.forward.macs == 61_440 + 12_800 + 20_480
    assert compute.backward.macs == 61_440 + 2 * 12_800 + 2 * 20_480
    assert compute.uncounted == ()


def test_fused_attention_backward_is_flop_counter_modes_formula():
    """The CPU flash kernel's backward (which FlopCounterMode does not register) costs the four
    products of the gradient. FlopCounterMode's formula for the CUDA kernels adds a fifth, the
    Q·Kᵀ the fused kernel recomputes (B·H·L·S·E): netcost does not mix recomputation in."""
    from netcost.formulas.backward import attention_backward
    from netcost.trace import TensorSpec

    def spec(*shape: int) -> TensorSpec:
        strides = tuple(__import__("math").prod(shape[i + 1 :]) for i in range(len(shape)))
        return TensorSpec(shape, strides, "float32", 4)

    q, k, v = spec(2, 4, 10, 8), spec(2, 4, 12, 8), spec(2, 4, 12, 16)
    ours = attention_backward(grad_out=spec(2, 4, 10, 16), query=q, key=k, value=v, out=None)
    theirs = sdpa_backward_flop_count((2, 4, 10, 16), q.shape, k.shape, v.shape)
    recomputed = 2 * 4 * 10 * 12 * 8
    assert ours.macs == theirs // 2 - recomputed == 2 * 4 * 10 * 12 * 2 * (8 + 16)


def test_each_layers_backward_and_the_json():
    """Linear(8, 16) → ReLU → Linear(16, 4) on 3 rows: the first layer's weight gradient only
    (3·8·16 = 384), the second's input and weight gradients (2 · 3·16·4 = 384)."""
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    report = netcost.analyze(model, input_size=(3, 8), train=True)
    first, _, second = report.layers
    assert first.backward.macs == 3 * 8 * 16 and second.backward.macs == 2 * 3 * 16 * 4
    assert report.modules[0].backward == report.training_compute.backward
    data = json.loads(report.to_dict() and json.dumps(report.to_dict()))
    assert data["training"]["backward"]["macs"] == 3 * 8 * 16 + 2 * 3 * 16 * 4
    assert set(data["training"]) >= {"forward", "backward", "optimizer", "total"}
    assert data["layers"][0]["backward"] == {"macs": 384, "flops": first.backward.flops}
    assert "backward" not in netcost.analyze(model, input_size=(3, 8)).to_dict()["layers"][0]


def test_the_memory_view_shows_the_steps_compute():
    text = run(["examples:simple_cnn", "--train"])
    assert "Training step compute:" in text
    # simple_cnn at 64 images: forward 3,750,912 MACs (docs/examples.md); its first conv needs no
    # input gradient, so backward = 2 · forward − that conv's 451,584
    assert "  backward        7,050,240 MACs (1.88 × forward)" in text
    assert 2 * 3_750_912 - 451_584 == 7_050_240


def test_momentum_sgds_step_is_three_flops_per_parameter():
    """foreach SGD with momentum: buf · momentum, + grad, then param − lr · buf: 3 FLOPs for
    each of simple_cnn's 6,722 parameters (the golden simple_cnn_train.txt shows it)."""
    from netcost.examples import simple_cnn

    report = netcost.analyze(simple_cnn(), input_size=(64, 1, 28, 28), train=True,
                             optimizer="momentum")  # fmt: skip
    assert report.training_compute.optimizer.flops == 3 * 6_722
    assert report.training_compute.optimizer.macs == 0
