"""Receptive fields against brute force: the input positions with a non-zero gradient of one
output element, on random networks (positive weights and inputs, so no gradient cancels)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import netcost
from netcost.sources import torchvision_model


class Residual(nn.Module):
    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x):
        return x + self.body(x)


class Concat(nn.Module):
    def __init__(self, a: nn.Module, b: nn.Module) -> None:
        super().__init__()
        self.a, self.b = a, b

    def forward(self, x):
        return torch.cat([self.a(x), self.b(x)], dim=1)


@st.composite
def networks(draw):
    layers: list[nn.Module] = []
    channels = 2
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["conv", "pool", "residual", "concat", "dilated"]))
        k = draw(st.integers(1, 4))
        if kind == "conv":
            s, p = draw(st.integers(1, 3)), draw(st.integers(0, k // 2))
            layers.append(nn.Conv2d(channels, 3, k, s, p))
            channels = 3
        elif kind == "dilated":
            layers.append(nn.Conv2d(channels, channels, k, 1, 0, dilation=2))
        elif kind == "pool":
            s, p = draw(st.integers(1, 3)), draw(st.integers(0, k // 2))
            layers.append(nn.AvgPool2d(k, s, p, count_include_pad=False))  # max-pool geometry
        elif kind == "residual":
            k = 2 * (k // 2) + 1  # odd, padded to keep the size
            layers.append(Residual(nn.Conv2d(channels, channels, k, 1, k // 2)))
        else:
            odd = 2 * (k // 2) + 1  # a padded odd kernel beside a 1x1: both keep the size
            layers.append(
                Concat(nn.Conv2d(channels, 1, odd, 1, odd // 2), nn.Conv2d(channels, 2, 1))
            )
            channels = 3
    model = nn.Sequential(*layers)
    for p in model.parameters():
        nn.init.uniform_(p, 0.1, 1.0)
    return model


def brute_force(model: nn.Module, x: torch.Tensor, path: str, at: tuple[int, int]) -> list:
    """Per dim, the (first, last) input position whose gradient for output[0, :, *at] is not 0."""
    x = x.clone().requires_grad_()
    found = {}
    module = model.get_submodule(path) if path else model
    handle = module.register_forward_hook(lambda m, i, o: found.setdefault("out", o))
    model(x)
    handle.remove()
    found["out"][0, :, at[0], at[1]].sum().backward()  # a field covers all channels
    nonzero = (x.grad[0, 0] != 0).nonzero()
    return [(int(nonzero[:, d].min()), int(nonzero[:, d].max())) for d in (0, 1)]


def skips_positions(model: nn.Module) -> bool:
    for m in model.modules():
        if isinstance(m, nn.Conv2d | nn.AvgPool2d):
            k, s = m.kernel_size, m.stride
            k, s = (k[0] if isinstance(k, tuple) else k), (s[0] if isinstance(s, tuple) else s)
            d = m.dilation[0] if isinstance(m, nn.Conv2d) else 1
            if s > d * (k - 1) + 1:
                return True
    return False


@settings(max_examples=40, deadline=None)
@given(networks(), st.integers(12, 20), st.data())
def test_fields_match_the_gradient(model, size, data):
    x = torch.rand(1, 2, size, size) + 0.5
    try:
        with torch.no_grad():
            model(x)
    except RuntimeError:
        return  # the random stack shrank the input away
    report = netcost.analyze(model, x)
    # where a window skips or drops input positions, the report warns, and the field is a span
    # some of whose positions are never read; elsewhere it must equal the gradient's extent
    holes = any(m.warnings for m in report.modules) or skips_positions(model)
    for layer in report.modules:
        shape = layer.output_shape
        f = layer.receptive_field
        if f is None or shape is None or len(shape) != 4 or 0 in shape:
            continue
        assert f.exact
        at = (data.draw(st.integers(0, shape[2] - 1)), data.draw(st.integers(0, shape[3] - 1)))
        expected = []
        for d in (0, 1):
            lo = f.center[d] - (f.size[d] - 1) / 2 + at[d] * f.jump[d]
            hi = lo + f.size[d] - 1
            expected.append((max(0, int(lo)), min(size - 1, int(hi))))
        found = brute_force(model, x, layer.path, at)
        if holes:  # positions skipped or dropped: the field is a span with holes in it
            assert all(e[0] <= f[0] and f[1] <= e[1] for f, e in zip(found, expected, strict=True))
        else:
            assert found == expected, layer.path


def test_resnet18_field_is_435():
    """The published theoretical receptive field of ResNet-18's last block."""
    r = netcost.analyze(torchvision_model("resnet18"), input_size=(1, 3, 224, 224))
    last = r.layer("layer4")
    assert last.receptive_field.size == (435, 435)
    assert last.receptive_field.jump == (32, 32)
    assert r.layer("fc").receptive_field.jump == (0, 0)  # every logit sees the same field


def test_transposed_and_interpolated_fields_are_bounds():
    model = nn.Sequential(nn.Conv2d(1, 1, 3, 2), nn.ConvTranspose2d(1, 1, 3, 2))
    r = netcost.analyze(model, input_size=(1, 1, 16, 16))
    assert r.layer("0").receptive_field.exact
    assert not r.layer("1").receptive_field.exact
    assert r.layer("1").receptive_field.jump == (1, 1)  # stride 2 undone


def test_a_network_without_holes_equals_the_gradient_everywhere():
    model = nn.Sequential(
        nn.Conv2d(2, 3, 3, 1, 1),
        nn.AvgPool2d(2, 2),  # 16 → 8: stride = span, nothing skipped or dropped
        Residual(nn.Conv2d(3, 3, 5, 1, 4, dilation=2)),
        Concat(nn.Conv2d(3, 1, 3, 1, 1), nn.Conv2d(3, 2, 1)),
        nn.Conv2d(3, 2, 3, 1, 0),
    )
    for p in model.parameters():
        nn.init.uniform_(p, 0.1, 1.0)
    x = torch.rand(1, 2, 16, 16) + 0.5
    report = netcost.analyze(model, x)
    assert not any(m.warnings for m in report.modules)
    last = report.layer("4").receptive_field
    # 3 → +1 (pool, jump 2) → +2·4·2 (dilated 5-tap, jump 2) → +2·2 (concat's 3x3) → +2·2
    assert last.size == (3 + 1 + 16 + 4 + 4,) * 2 and last.jump == (2, 2)
    for i in range(6):
        for j in range(6):
            lo = [last.center[d] - (last.size[d] - 1) / 2 + (i, j)[d] * 2 for d in (0, 1)]
            expected = [(max(0, int(v)), min(15, int(v) + last.size[0] - 1)) for v in lo]
            assert brute_force(model, x, "4", (i, j)) == expected


class Then(nn.Module):
    """A (3, 1) conv, then one layout change."""

    def __init__(self, change) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, (3, 1))
        self.change = change

    def forward(self, x):
        return self.change(self.conv(x))


@pytest.mark.parametrize(
    ("change", "size", "exact"),
    [
        (lambda y: y.transpose(2, 3), (1, 3), True),  # rows and columns swap
        (lambda y: y.permute(0, 1, 3, 2), (1, 3), True),
        (lambda y: y.flip(3), (8, 8), False),  # reversed: bounded by all 6 rows of 3 read: 8
        (lambda y: y.flatten(2), (8, 8), False),  # positions folded into one dim: a bound
        (lambda y: y * 2, (3, 1), True),
    ],
)
def test_layout_changes_are_followed_or_bounded(change, size, exact):
    r = netcost.analyze(Then(change), input_size=(1, 1, 8, 8))
    assert r.layer("conv").receptive_field.size == (3, 1)
    field = r.modules[0].receptive_field
    assert (field.size, field.exact) == (size, exact)


def test_a_batch_first_sequence_model_has_no_receptive_field():
    # (B, T, F) is not (N, C, W): reading it so made a Linear's field its feature size
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 8))
    report = netcost.analyze(model, torch.randn(2, 10, 16))
    assert all(m.receptive_field is None for m in report.modules)
    lstm = netcost.analyze(nn.LSTM(16, 8, batch_first=True), torch.randn(2, 10, 16))
    assert all(m.receptive_field is None for m in lstm.modules)
