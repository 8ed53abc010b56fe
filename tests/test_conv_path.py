"""Which CPU convolution path a convolution takes, and the calibrated family it reads there."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import netcost
from netcost.devices import Device
from netcost.measure.calibrate import _conv
from netcost.measure.conv_path import native_conv, native_conv_of

pytestmark = pytest.mark.skipif(
    not torch.backends.mkldnn.is_available(), reason="PyTorch built without oneDNN"
)


@pytest.fixture
def two_threads():
    """PyTorch's rule for 1 × 1 kernels differs on one thread: these tests run on two."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def conv(batch: int, cin: int, side: int, cout: int, k: int = 1, groups: int = 1) -> bool:
    x = torch.empty(batch, cin, side, side)
    w = torch.empty(cout, cin // groups, k, k)
    return native_conv(x, w, (1, 1), (k // 2, k // 2), groups=groups)


def test_small_single_images_take_pytorchs_own_path(two_threads):
    """PyTorch runs an fp32 CPU convolution through its own im2col + BLAS path unless the input
    holds more than 20,480 elements, has more than one image, or the convolution is grouped
    (ConvUtils.h, use_mkldnn): 24 · 28² = 18,816 and 16 · 7² = 784 stay, 32 · 28² = 25,088 and
    a batch of two go to oneDNN, as does any depthwise one."""
    assert 24 * 28 * 28 == 18_816 and 32 * 28 * 28 == 25_088
    assert conv(1, 24, 28, 96)
    assert conv(1, 16, 7, 16, k=3)
    assert not conv(1, 32, 28, 128)
    assert not conv(2, 24, 28, 96)
    assert not conv(1, 32, 14, 32, k=3, groups=32)


def test_a_recorded_convolution_reads_the_same_path(two_threads):
    """The path of a recorded convolution (its arguments as TensorSpecs, from a run on fake
    tensors) is the path of the real one."""
    for cin, side in ((24, 28), (32, 28)):
        x = torch.randn(1, cin, side, side, device="meta")
        r = netcost.analyze(nn.Conv2d(cin, 96, 1).to("meta"), x)
        (op,) = [o for m in r.modules for o in m.ops]
        assert native_conv_of(op.args) == conv(1, cin, side, 96)


def test_calibrated_convolutions_read_the_probes_of_their_own_path(two_threads):
    """A calibration that timed both paths (1 × 1: oneDNN's at 0.6 of the peak, PyTorch's own at
    0.2): a 24-channel map at 28² reads its own path's, a 32-channel one oneDNN's; a calibration
    without the distinction (a GPU's, an older one) reads one curve for both."""
    flat = lambda e: [[1.0, e], [1e15, e]]  # noqa: E731
    both = {"overhead_s": 0.0, "module_overhead_s": 0.0,
            "conv_1x1": flat(0.6), "conv_1x1_native": flat(0.2)}  # fmt: skip
    one = {"overhead_s": 0.0, "module_overhead_s": 0.0, "conv_1x1": flat(0.6)}
    for calibration, shares in ((both, (0.2, 0.6)), (one, (0.6, 0.6))):
        device = Device("hand", "by hand", "test", 10**12, 1e15, {"fp32": 1e12},
                        {"fp32": 1e12}, calibration=calibration)  # fmt: skip
        for cin, share in zip((24, 32), shares, strict=True):
            model = nn.Conv2d(cin, 96, 1, bias=False).to("meta")
            r = netcost.analyze(model, torch.randn(1, cin, 28, 28, device="meta"), device=device)
            flops = 2 * 96 * 28 * 28 * cin
            assert r.time.estimates[0] == pytest.approx(flops / (1e12 * share), rel=1e-12)


def test_calibration_probes_are_named_by_their_path(two_threads):
    """Each probe's family says its kind and path: a 1 × 1 convolution of 24 channels at 28²
    `conv_1x1_native`, of 32 channels `conv_1x1`, a 3 × 3 one of 16 channels at 7²
    `conv_native`, a depthwise one `conv_depthwise`; its FLOPs 2 · out positions · C_out ·
    C_in / groups · k²."""
    assert _conv("cpu", 1, 24, 28, 96, 1, 1, 1).family == "conv_1x1_native"
    assert _conv("cpu", 1, 32, 28, 128, 1, 1, 1).family == "conv_1x1"
    dense = _conv("cpu", 1, 16, 7, 16, 3, 1, 1)
    assert dense.family == "conv_native" and dense.work == 2 * 49 * 16 * 16 * 9
    depthwise = _conv("cpu", 1, 96, 56, 96, 3, 2, 96)
    assert depthwise.family == "conv_depthwise" and depthwise.work == 2 * 28 * 28 * 96 * 9
