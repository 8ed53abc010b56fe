"""Property tests against real PyTorch: output shapes, FlopCounterMode's MACs, fake = real."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import netcost

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def conv_configs(draw):
    d = draw(st.sampled_from([1, 2, 3]))
    groups = draw(st.sampled_from([1, 2, 3]))
    cin = groups * draw(st.integers(1, 3))
    cout = groups * draw(st.integers(1, 3))
    k = draw(st.integers(1, 4))
    stride = draw(st.integers(1, 3))
    dilation = draw(st.integers(1, 2))
    padding = draw(st.integers(0, 2))
    transposed = draw(st.booleans())
    output_padding = draw(st.integers(0, max(stride, dilation) - 1)) if transposed else 0
    size = draw(st.integers(dilation * (k - 1) + 1, 9 if d < 3 else 7))
    if not transposed and size + 2 * padding < dilation * (k - 1) + 1:
        padding = 0
    batch = draw(st.integers(1, 2))
    bias = draw(st.booleans())
    return (
        d,
        groups,
        cin,
        cout,
        k,
        stride,
        dilation,
        padding,
        transposed,
        output_padding,
        size,
        batch,
        bias,
    )


@SETTINGS
@given(conv_configs())
def test_convolution_matches_pytorch(config):
    d, groups, cin, cout, k, stride, dilation, padding, transposed, opad, size, batch, bias = config
    cls = [nn.Conv1d, nn.Conv2d, nn.Conv3d][d - 1]
    if transposed:
        cls = [nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d][d - 1]
        layer = cls(cin, cout, k, stride, padding, opad, groups, bias, dilation)
    else:
        layer = cls(cin, cout, k, stride, padding, dilation, groups, bias)
    x = torch.randn(batch, cin, *([size] * d))
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            real = layer(x)
    except RuntimeError:
        # PyTorch refuses the configuration: netcost must refuse it too, in one line
        with pytest.raises(netcost.NetcostError, match=r"^[^\n]*aten\.convolution[^\n]*$"):
            netcost.analyze(layer, x)
        return
    if real.numel() == 0:
        return  # PyTorch's CPU kernel returns an empty output where its meta kernel refuses
    report = netcost.analyze(layer, x)
    assert report.modules[0].output_shape == tuple(real.shape)
    # FlopCounterMode counts 2 FLOPs per MAC of the convolution and nothing else
    assert 2 * report.total.macs == counter.get_total_flops()


@st.composite
def pool_configs(draw):
    kind = draw(st.sampled_from(["max", "avg"]))
    k = draw(st.integers(1, 4))
    stride = draw(st.integers(1, 3))
    padding = draw(st.integers(0, k // 2))
    ceil_mode = draw(st.booleans())
    size = draw(st.integers(k, 12))
    return kind, k, stride, padding, ceil_mode, size


@SETTINGS
@given(pool_configs())
def test_pool_output_shape_matches_pytorch(config):
    kind, k, stride, padding, ceil_mode, size = config
    layer = (nn.MaxPool2d if kind == "max" else nn.AvgPool2d)(
        k, stride, padding, ceil_mode=ceil_mode
    )
    x = torch.randn(1, 2, size, size + 1)
    real = layer(x)
    report = netcost.analyze(layer, x)
    assert report.modules[0].output_shape == tuple(real.shape)
    if kind == "max":
        # one comparison per window element inside the input: count with real unfold on a
        # -inf-padded input, where padded taps are the ones never read
        padded = nn.functional.pad(x, [padding] * 4, value=float("nan"))
        hits = 0
        for i in range(real.shape[2]):
            for j in range(real.shape[3]):
                window = padded[..., i * stride : i * stride + k, j * stride : j * stride + k]
                hits += int((~window.isnan()).sum())
        assert report.total.flops == hits


@st.composite
def small_nets(draw):
    """A small conv net and the input side it is built for: its Linear fits that input."""
    layers: list[nn.Module] = []
    channels = 3
    side = size = draw(st.integers(6, 12))
    for _ in range(draw(st.integers(1, 3))):
        out = draw(st.integers(1, 6))
        k = draw(st.integers(1, 3))
        layers.append(nn.Conv2d(channels, out, k, padding=k // 2))
        layers.append(draw(st.sampled_from([nn.ReLU(), nn.BatchNorm2d(out), nn.GELU()])))
        channels = out
        size += 2 * (k // 2) - k + 1
        if draw(st.booleans()) and size >= 4:
            layers.append(nn.MaxPool2d(2))
            size //= 2
    return layers, side


@SETTINGS
@given(small_nets(), st.integers(1, 5))
def test_fake_analysis_equals_real_analysis(net, classes):
    """The same analysis whether the ops ran on fake or on real tensors; the input is built from
    the drawn side, and the Linear from what the convolutions leave of it."""
    layers, side = net
    x = torch.randn(2, 3, side, side)
    with torch.no_grad():
        features = nn.Sequential(*layers).eval()(x)
    model = nn.Sequential(*layers, nn.Flatten(), nn.Linear(features[0].numel(), classes)).eval()
    fake = netcost.analyze(model, x, execution="fake").to_dict()
    real = netcost.analyze(model, x, execution="real").to_dict()
    assert fake.pop("execution") == "fake" and real.pop("execution") == "real"
    assert fake == real
