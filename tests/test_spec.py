"""Layer lists: the grammar round-trips every supported layer; bad specs point at their token."""

from __future__ import annotations

import pytest
from torch import nn

import netcost
from netcost.cli import run
from netcost.spec import build, to_spec, tokenize

SUPPORTED = [
    "Conv1d(3, 8, 3)", "Conv2d(1, 8, 5, stride=2, padding=2)", "Conv3d(2, 4, (1, 3, 3), groups=2)",
    "Conv2d(8, 8, 3, padding='same', dilation=2, bias=False)", "ConvTranspose1d(4, 2, 4, stride=2)",
    "ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)", "ConvTranspose3d(2, 2, 2)",
    "Linear(32, 10)", "Linear(32, 10, bias=False)", "Bilinear(4, 5, 6)", "Embedding(100, 16)",
    "ReLU()", "ReLU6()", "GELU()", "GELU(approximate='tanh')", "SiLU()", "Mish()", "Sigmoid()",
    "Tanh()", "LeakyReLU(0.1)", "ELU()", "SELU()", "PReLU(8)", "Hardswish()", "Softplus()",
    "Softmax(dim=1)", "LogSoftmax(dim=-1)", "BatchNorm1d(16)", "BatchNorm2d(8, momentum=0.01)",
    "BatchNorm3d(4)", "LayerNorm(32)", "GroupNorm(4, 16)", "InstanceNorm2d(8)",
    "LocalResponseNorm(5)",
    "MaxPool1d(2)", "MaxPool2d(3, stride=2, ceil_mode=True)", "MaxPool3d(2)", "AvgPool1d(3)",
    "AvgPool2d(2, padding=1, count_include_pad=False)", "AvgPool3d(2)", "AdaptiveAvgPool2d((7, 7))",
    "AdaptiveMaxPool2d(1)", "AdaptiveAvgPool1d(4)", "Dropout(0.5)", "Dropout2d(0.1)",
    "Flatten()", "Flatten(0, -1)", "Unflatten(1, (4, 8))", "Identity()",
    "Upsample(scale_factor=2.0, mode='nearest')", "Upsample(size=(8, 8), mode='bilinear')",
    "ZeroPad2d(1)", "ReflectionPad2d(2)", "PixelShuffle(2)", "ChannelShuffle(2)",
]  # fmt: skip


@pytest.mark.parametrize("layer", SUPPORTED)
def test_every_supported_layer_round_trips(layer):
    model = build(layer)
    again = build(to_spec(model))  # PyTorch's repr of a layer is a spec that builds it again
    assert repr(again) == repr(model)
    assert len(model) == 1


def test_terse_form_matches_constructor_form():
    terse = build("conv(8,16,k3,s2,p1) relu bn(16) maxpool(k2) gap flatten fc(16, 10) drop(0.5)")
    full = build(
        "Conv2d(8, 16, kernel_size=3, stride=2, padding=1) ReLU BatchNorm2d(16) "
        "MaxPool2d(kernel_size=2) AdaptiveAvgPool2d(1) Flatten Linear(16, 10) Dropout(0.5)"
    )
    assert repr(terse) == repr(full)


def test_separators_comments_and_files(tmp_path):
    text = "# a small net\nConv2d(1, 4, 3)  # first\n-> ReLU;\nFlatten | Linear(4 * 1, 2)"
    with pytest.raises(netcost.NetcostError, match=r"cannot read argument '4 \* 1'"):
        build(text)
    path = tmp_path / "model.txt"
    path.write_text(text.replace("4 * 1", "4"))
    assert [type(m).__name__ for m in build(str(path))] == ["Conv2d", "ReLU", "Flatten", "Linear"]
    assert [t.text for t in tokenize("A(1, (2, 3)) B")] == ["A(1, (2, 3))", "B"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("Conv2d(1, 8, 3) Relu6 Conv3x3(8, 8)", "unknown layer 'Conv3x3' at layer 3"),
        ("Conv2d(1, 8, 3) Lienar(8, 2)", "did you mean Linear"),
        ("Conv2d(1, 8, 3", "unclosed '(' in 'Conv2d(1, 8, 3' at character 1"),
        ("ReLU Conv2d(1, 8, 3))", "unmatched ')' at character 21"),
        ("Conv2d(1, 8)", "layer 1 'Conv2d(1, 8)' (character 1): Conv2d refuses these arguments"),
        ("conv(1, 8, q3)", "Conv2d refuses these arguments"),  # q3 is a word, not a size
        ("conv(1, 8, 3 +)", "cannot read the arguments of layer 1"),
        ("", "no layers given"),
    ],
)
def test_bad_specs_point_at_their_token(spec, message):
    with pytest.raises(netcost.NetcostError) as info:
        build(spec)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


COURSE = (
    "Conv2d(1, 8, 5, padding=2, stride=2) ReLU Conv2d(8, 16, 3, padding=1, stride=2) ReLU "
    "Conv2d(16, 32, 3, padding=1, stride=2) ReLU Conv2d(32, 32, 3, padding=1, stride=2) ReLU "
    "AdaptiveAvgPool2d(1) Flatten Linear(32, 10)"
)


def test_spec_command_answers_the_mini_review():
    """The tutorial counts 1,240 parameters; with biases the network has 15,594."""
    text = run(["spec", COURSE, "--input", "1x28x28", "--format", "json"])
    import json

    d = json.loads(text)
    assert d["inputs"][0]["shape"] == [1, 1, 28, 28]  # one sample, batch 1 put in front
    assert d["total"]["params"] == 15_594
    batch = json.loads(run(["spec", COURSE, "--input", "1x28x28", "--batch", "64", "-f", "json"]))
    assert batch["total"]["macs"] == 64 * d["total"]["macs"]


@pytest.mark.parametrize(
    ("spec", "shape", "message"),
    [
        (
            "Conv2d(1, 64, 3) Flatten Linear(32, 10)",
            "1x5x5",
            "layer 3 Linear(in_features=32, out_features=10, bias=True) receives 1x576 from "
            "layer 2 Flatten: it expects 32 features, gets 576; use Linear(576, 10)",
        ),  # 64 channels · 3·3 positions = 576
        (
            "conv(1, 8, k3) relu conv(4, 8, k3)",
            "1x9x9",
            "layer 3 Conv2d(4, 8, kernel_size=(3, 3), stride=(1, 1)) receives 1x8x7x7 from layer "
            "2 ReLU: it expects 4 channels, gets 8; use Conv2d(8, 8, kernel_size=(3, 3), "
            "stride=(1, 1))",
        ),
        (
            "conv(1, 8, k3) bn(4)",
            "1x9x9",
            "layer 2 BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, bias=True, "
            "track_running_stats=True) receives 1x8x7x7 from layer 1 Conv2d: it expects 4 "
            "channels, gets 8; use BatchNorm2d(8)",
        ),
    ],
)
def test_mismatched_layers_get_the_fix_the_numbers_suggest(spec, shape, message):
    with pytest.raises(netcost.NetcostError) as info:
        run(["spec", spec, "--input", shape])
    assert str(info.value) == f"spec: {message}"


def test_a_printed_sequential_is_a_spec():
    """docs/spec.md: a printed nn.Sequential (nested ones flattened) pastes back."""
    printed = nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.Sequential(nn.ReLU(), nn.Flatten()), nn.Linear(8 * 26 * 26, 10)
    )
    built = build(repr(printed))
    assert [type(m).__name__ for m in built] == ["Conv2d", "ReLU", "Flatten", "Linear"]
    assert (built[0].out_channels, built[3].in_features) == (8, 8 * 26 * 26)
