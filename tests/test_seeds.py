"""The networks from the learners' discussions (../shared/seeds), answered exactly."""

from __future__ import annotations

import torch
from torch import nn

import netcost
from netcost.examples import fastai_resnet18, get_cnn_model, nin, simple_cnn


def test_fastbook_simple_cnn_multiplications():
    """The book claims 56,448 multiplications for layer 2; each of 8·7·7 outputs is a
    4·3·3 dot product: 14,112 per image."""
    r = netcost.analyze(simple_cnn(), input_size=(64, 1, 28, 28))
    convs = [m for m in r.layers if m.type == "Conv2d"]
    assert [c.params for c in convs] == [
        4 * 1 * 9 + 4, 8 * 4 * 9 + 8, 16 * 8 * 9 + 16, 32 * 16 * 9 + 32, 2 * 32 * 9 + 2,
    ]  # fmt: skip
    assert [c.params for c in convs] == [40, 296, 1168, 4640, 578]  # the book's summary
    assert [c.output_shape for c in convs] == [
        (64, 4, 14, 14), (64, 8, 7, 7), (64, 16, 4, 4), (64, 32, 2, 2), (64, 2, 1, 1),
    ]  # fmt: skip
    per_image = [c.cost.macs // 64 for c in convs]
    assert per_image[1] == 8 * 7 * 7 * 4 * 3 * 3 == 14_112
    # the reply's point: layers 3 and 4 do the same work, 4·4·16·8·9 = 2·2·32·16·9
    assert per_image[2] == per_image[3] == 4 * 4 * 16 * 8 * 3 * 3 == 18_432
    assert convs[1].cost.macs == 64 * 14_112


def test_course_get_cnn_model_parameters():
    """The tutorial counts 1,240 parameters ignoring biases; with them it is 15,594."""
    r = netcost.analyze(get_cnn_model(), input_size=(64, 784))
    weights = 8 * 1 * 5 * 5 + 16 * 8 * 3 * 3 + 32 * 16 * 3 * 3 + 32 * 32 * 3 * 3 + 32 * 10
    biases = 8 + 16 + 32 + 32 + 10
    assert r.total.params == weights + biases == 15_594
    assert [m.output_shape for m in r.layers if m.type == "Conv2d"] == [
        (64, 8, 14, 14), (64, 16, 7, 7), (64, 32, 4, 4), (64, 32, 2, 2),
    ]  # fmt: skip


def test_nin_output_sizes_round_down():
    """(224 − 11) / 4 + 1 = 54.25: PyTorch floors to 54."""
    r = netcost.analyze(nin(), input_size=(1, 1, 224, 224))
    first = r.layer("0.0")
    assert (
        first.output_shape == (1, 96, (224 - 11) // 4 + 1, (224 - 11) // 4 + 1) == (1, 96, 54, 54)
    )
    pools = [m.output_shape for m in r.layers if m.type == "MaxPool2d"]
    assert pools == [(1, 96, 26, 26), (1, 256, 12, 12), (1, 384, 5, 5)]
    assert r.modules[-1].output_shape == (1, 10)
    convs = sum(
        cout * cin * k * k + cout
        for cin, cout, k in [(1, 96, 11), (96, 96, 1), (96, 96, 1), (96, 256, 5), (256, 256, 1),
                             (256, 256, 1), (256, 384, 3), (384, 384, 1), (384, 384, 1),
                             (384, 10, 3), (10, 10, 1), (10, 10, 1)]
    )  # fmt: skip
    assert r.total.params == convs


def test_seed_001_ops_function():
    """The forum's ops(): 648 multiplications for conv(3→6, 3x3, s2, p1) on 3x4x4, 1296 for the
    stride-1 conv after it."""
    a = nn.Conv2d(3, 6, 3, stride=2, padding=1, bias=False)
    b = nn.Conv2d(6, 6, 3, stride=1, padding=1, bias=False)
    r = netcost.analyze(nn.Sequential(a, b), input_size=(1, 3, 4, 4))
    assert [m.cost.macs for m in r.layers] == [6 * 2 * 2 * 3 * 9, 6 * 2 * 2 * 6 * 9] == [648, 1296]


def test_fastai_resnet18_matches_learn_summary():
    """The parameter counts of fastai's learn.summary() in seed 002."""
    with torch.device("meta"):
        model = fastai_resnet18()
    r = netcost.analyze(model, input_size=(64, 3, 28, 28))
    assert r.total.params == 11_708_992
    assert r.layer("0.0").output_shape == (64, 64, 14, 14)
    assert r.layer("0.3").output_shape == (64, 64, 7, 7)
    head = [m for m in r.layers if m.path.startswith("1.")]
    assert [m.params for m in head if m.params] == [2 * 1024, 1024 * 512, 2 * 512, 512 * 10]
    assert r.modules[-1].output_shape == (64, 10)


def test_fastbook_simple_cnn_inference_memory():
    """The first conv's output and the ReLU's output are alive together: 2 · 64·4·14·14 floats."""
    with torch.no_grad():
        m = netcost.analyze(simple_cnn().eval(), input_size=(64, 1, 28, 28)).memory
    assert m.activation_peak_bytes == 2 * 64 * 4 * 14 * 14 * 4
    assert (m.params_bytes, m.inputs_bytes) == (6_722 * 4, 64 * 28 * 28 * 4)
