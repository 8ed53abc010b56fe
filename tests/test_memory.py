"""Inference memory: tensor lifetimes on fake tensors against glibc's allocator on real ones."""

from __future__ import annotations

import torch
from torch import nn

import memory_probe as probe
import netcost
from memory_probe import SUITE
from netcost.examples import nin


def estimate(name: str) -> int:
    build, shape = SUITE[name]
    with torch.device("meta"):
        model = build().eval()
    with torch.no_grad():
        return netcost.analyze(model, input_size=shape).memory.activation_peak_bytes


def test_activation_peaks_match_the_allocator_within_the_readmes_0_1_percent():
    """The suite's models measured in one process (torch imported once), each within 0.1 %."""
    measured = dict(zip(SUITE, probe.run(list(SUITE)), strict=True))
    misses = {name: (estimate(name), real) for name, real in measured.items()
              if abs(estimate(name) - real) > 0.001 * real}  # fmt: skip
    assert not misses


def test_nin_peak_by_hand():
    """The first conv's output and the ReLU's new output are alive together."""
    with torch.no_grad():
        m = netcost.analyze(nin().eval(), input_size=(1, 1, 224, 224)).memory
    assert m.activation_peak_bytes == 2 * 96 * 54 * 54 * 4
    assert (m.peak_layer, m.peak_op) == ("0.1", "aten.relu.default")
    assert m.params_bytes == 1_992_166 * 4 and m.inputs_bytes == 224 * 224 * 4


def test_in_place_and_views_allocate_nothing():
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(inplace=True), nn.Flatten(0))
    with torch.no_grad():
        m = netcost.analyze(model, input_size=(8, 64)).memory
    assert m.activation_peak_bytes == 8 * 64 * 4  # one buffer: relu_ and the view reuse it


def test_inference_memory_whatever_the_callers_grad_mode():
    """A notebook calls analyze() with autograd on: the report is still inference, with its
    peak. Linear(4, 4) at 2 × 4: params (16 + 4) · 4 B + input 8 · 4 B + output 8 · 4 B."""
    model = nn.Linear(4, 4)
    on = netcost.analyze(model, input_size=(2, 4)).memory
    with torch.no_grad():
        off = netcost.analyze(model, input_size=(2, 4)).memory
    assert on is not None and on == off
    assert on.peak_bytes == (16 + 4) * 4 + 8 * 4 + 8 * 4


def test_per_layer_timeline_by_hand():
    """fastbook's simple_cnn at 64x1x28x28: what is alive as each layer ends."""
    from netcost.examples import simple_cnn

    with torch.no_grad():
        r = netcost.analyze(simple_cnn().eval(), input_size=(64, 1, 28, 28))
    a1 = 64 * 4 * 14 * 14 * 4  # first conv's output (= its ReLU's output)
    a2 = 64 * 8 * 7 * 7 * 4
    assert r.layer("0.0").live_bytes == a1
    assert r.layer("0.1").live_bytes == 2 * a1  # the conv's output is dropped after the ReLU
    assert r.layer("1.0").live_bytes == a1 + a2  # the ReLU's output feeds the next conv
    assert r.to_dict()["layers"][0]["live_bytes"] == a1


def test_inference_at_bf16_by_hand():
    """--precision bf16: parameters, inputs and activations in two bytes each."""
    from netcost.examples import simple_cnn

    with torch.no_grad():
        m = netcost.analyze(simple_cnn(), input_size=(64, 1, 28, 28), precision="bf16").memory
    assert m.params_bytes == 6_722 * 2
    assert m.inputs_bytes == 64 * 28 * 28 * 2
    assert m.activation_peak_bytes == 2 * 64 * 4 * 14 * 14 * 2


def test_autocast_weight_copies_are_weight_copies_not_activations():
    """Two Linear(64, 64) under bf16-mixed: autocast keeps a bf16 copy of each weight and bias
    for the whole forward, 2 · (64·64 + 64) · 2 B = 16,640 B; at fp32 there are none. The
    activations at the peak are the bf16 input cast and the first layer's output, 2 · 8·64·2 B."""
    model = nn.Sequential(nn.Linear(64, 64), nn.Linear(64, 64))
    mixed = netcost.analyze(model, input_size=(8, 64), precision="bf16-mixed").memory
    assert mixed.weight_copies_bytes == 2 * (64 * 64 + 64) * 2
    assert mixed.activation_peak_bytes == 2 * 8 * 64 * 2
    assert mixed.peak_bytes == 2 * (64 * 64 + 64) * 4 + 8 * 64 * 4 + 2 * 8 * 64 * 2 + 16_640
    assert netcost.analyze(model, input_size=(8, 64)).memory.weight_copies_bytes == 0
