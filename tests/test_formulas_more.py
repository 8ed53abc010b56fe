"""Selection, detection, spectral, sampling and expert ops: exact counts by hand, and fake
shapes equal to real PyTorch's."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

import netcost


class Fn(nn.Module):
    def __init__(self, fn: Callable[..., torch.Tensor]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        return self.fn(*args)


def op_cost(fn: Callable[..., torch.Tensor], *inputs: torch.Tensor, op: str):
    """The summed cost of every call of `op` when `fn` runs on fake tensors."""
    r = netcost.analyze(Fn(fn), tuple(inputs), execution="fake")
    assert r.complete, [d.message for d in r.diagnostics]
    (summary,) = [o for o in r.ops if o.op == op]
    return summary.cost


def test_sort_and_topk():
    x = torch.randn(3, 8)
    assert op_cost(lambda t: torch.sort(t).values, x, op="aten.sort.default").flops == 3 * 8 * 3
    y = torch.randn(2, 10)
    # a heap of k = 3: ⌈log₂ 4⌉ = 2 comparisons per element
    assert op_cost(lambda t: t.topk(3).values, y, op="aten.topk.default").flops == 2 * 10 * 2


def test_nonzero_keeps_every_element_on_fake_tensors():
    r = netcost.analyze(Fn(lambda t: (t > 0).nonzero().float().sum()), torch.randn(4, 5))
    (nz,) = [o for o in r.ops if o.op == "aten.nonzero.default"]
    assert nz.cost.flops == 4 * 5
    assert "Fn: aten.nonzero.default kept 20" in [d.message for d in r.diagnostics]


def test_nms_and_roi_align():
    ops = pytest.importorskip("torchvision.ops")
    boxes = torch.tensor([[0, 0, 10, 10]] * 6, dtype=torch.float32) + torch.arange(6.0)[:, None]
    scores = torch.rand(6)
    cost = op_cost(lambda b, s: ops.nms(b, s, 0.5), boxes, scores, op="torchvision.nms.default")
    # areas 3·6, sort 6·⌈log₂ 6⌉, every pair's IoU 13 · 6·5/2
    assert cost.flops == 3 * 6 + 6 * 3 + 13 * 15
    features = torch.randn(1, 4, 16, 16)
    rois = torch.tensor([[0, 0, 0, 8, 8], [0, 2, 2, 12, 12]], dtype=torch.float32)

    def align(f, r):
        return ops.roi_align(f, r, (7, 7), sampling_ratio=2)

    cost = op_cost(align, features, rois, op="torchvision.roi_align.default")
    assert cost.flops == 2 * 4 * 7 * 7 * (8 * 2 * 2 + 1)


def test_roi_align_with_adaptive_sampling_is_reported_not_guessed():
    ops = pytest.importorskip("torchvision.ops")
    features, rois = torch.randn(1, 4, 16, 16), torch.tensor([[0.0, 0, 0, 8, 8]])
    r = netcost.analyze(Fn(lambda f, b: ops.roi_align(f, b, (7, 7))), (features, rois))
    assert not r.complete
    (d,) = [d for d in r.diagnostics if d.kind == "uncounted_op"]
    assert "depends on the boxes' sizes" in d.message


@pytest.mark.parametrize(
    ("a", "b", "offs", "macs"),
    [
        ((8, 16), (4, 16, 32), (2, 4, 6, 8), 8 * 16 * 32),  # tokens × experts' weights
        ((4, 8, 16), (4, 16, 32), None, 4 * 8 * 16 * 32),  # batched
        ((8, 32), (32, 16), (8, 16, 24, 32), 8 * 32 * 16),  # K split between groups
    ],
)
def test_grouped_mm_in_float32_is_costed_whatever_the_routing(a, b, offs, macs):
    """The CPU kernel runs float32 (PyTorch's meta kernel refuses it): fake shapes equal real."""
    args = [torch.randn(a), torch.randn(b)]
    if offs is not None:
        args.append(torch.tensor(offs, dtype=torch.int32))

    def grouped(x, w, o=None):
        return torch._grouped_mm(x, w, offs=o)

    real = grouped(*args)
    r = netcost.analyze(Fn(grouped), tuple(args), execution="fake")
    (op,) = [o for o in r.ops if o.op == "aten._grouped_mm.default"]
    assert op.cost.macs == macs
    assert r.modules[0].output_shapes == (tuple(real.shape),)


def test_grouped_mm_reads_the_weights_of_the_experts_its_rows_reach():
    """2 rows (one token, top-2) against 8 experts of 16 × 32: under balanced routing 2 groups get
    rows, so the kernel reads 2 of the 8 weight matrices; 20 rows reach all 8."""

    def grouped(x, w, o):
        return torch._grouped_mm(x, w, offs=o)

    w = torch.randn(8, 16, 32)
    for rows, groups in ((2, 2), (20, 8)):
        offs = torch.arange(1, 9, dtype=torch.int32).clamp(max=rows)
        r = netcost.analyze(Fn(grouped), (torch.randn(rows, 16), w, offs), execution="fake")
        (op,) = [o for o in r.ops if o.op == "aten._grouped_mm.default"]
        assert op.cost.bytes_read == rows * 16 * 4 + groups * 16 * 32 * 4 + 8 * 4
        assert op.cost.bytes_written == rows * 32 * 4


def test_fft_family():
    x = torch.randn(2, 16)
    cost = op_cost(lambda t: torch.fft.rfft(t).abs(), x, op="aten._fft_r2c.default")
    assert cost.flops == 5 * 2 * 16 * 4 // 2
    z = torch.randn(2, 8, dtype=torch.complex64)
    cost = op_cost(lambda t: torch.fft.fft(t, norm="ortho").abs(), z, op="aten._fft_c2c.default")
    assert cost.flops == 5 * 2 * 8 * 3 + 2 * 8  # + the 1/√n normalisation
    h = torch.randn(2, 9, dtype=torch.complex64)
    cost = op_cost(lambda t: torch.fft.irfft(t), h, op="aten._fft_c2r.default")
    assert cost.flops == 5 * 2 * 16 * 4 // 2 + 2 * 16  # backward norm divides by n


def test_grid_sample_and_antialiased_resize():
    x, grid = torch.randn(1, 3, 8, 8), torch.rand(1, 5, 5, 2) * 2 - 1
    cost = op_cost(
        lambda t, g: nn.functional.grid_sample(t, g, align_corners=False),
        x,
        grid,
        op="aten.grid_sampler_2d.default",
    )
    assert cost.flops == 3 * 5 * 5 * 7
    y = torch.randn(1, 1, 8, 8)

    def down(t):
        return nn.functional.interpolate(t, size=(4, 4), mode="bilinear", antialias=True)

    cost = op_cost(down, y, op="aten._upsample_bilinear2d_aa.default")
    taps = 2 * 2 + 1  # support 1 widened by the scale 2
    assert cost.flops == 8 * 4 * (2 * taps - 1) + 4 * 4 * (2 * taps - 1)


def test_small_families():
    x = torch.randn(3, 4)
    assert op_cost(nn.functional.logsigmoid, x, op="aten.log_sigmoid_forward.default").flops == 72
    cost = op_cost(lambda t: torch.histc(t, bins=5, min=-1, max=1), x, op="aten.histc.default")
    assert cost.flops == 12 * 4
    a, b = torch.randn(4, 4).triu() + 4 * torch.eye(4), torch.randn(4, 3)
    cost = op_cost(
        lambda m, r: torch.linalg.solve_triangular(m, r, upper=True),
        a,
        b,
        op="aten.linalg_solve_triangular.default",
    )
    assert (cost.macs, cost.flops) == (3 * 4 * 3 // 2, 2 * 18 + 12)
    mag, ang = torch.rand(5), torch.rand(5)
    assert (
        op_cost(lambda m, t: torch.polar(m, t).abs(), mag, ang, op="aten.polar.default").flops == 20
    )


def test_weight_norm():
    layer = nn.utils.parametrizations.weight_norm(nn.Linear(4, 8))
    r = netcost.analyze(layer, torch.randn(2, 4), execution="fake")
    (op,) = [o for o in r.ops if o.op == "aten._weight_norm_interface.default"]
    assert op.cost.flops == 3 * 8 * 4 + 2 * 8


def test_quantized_resnet18_costs_its_int8_layers():
    """torchvision's quantized resnet18 (built int8, as `torchvision:quantized_resnet18` is):
    the float model's MACs (torchvision publishes 1.814 G for both), conv1 by hand; its packed
    weights count as (frozen) parameters: BatchNorm is folded into the convs' biases, so one
    parameter per BatchNorm channel fewer than the float model's 11,689,512."""
    from netcost.sources import resolve

    model = resolve("torchvision:quantized_resnet18").model
    r = netcost.analyze(model, input_size=(1, 3, 224, 224))
    assert r.complete
    assert r.layer("conv1").cost.macs == 64 * 3 * 7 * 7 * 112 * 112
    # + bias, ReLU and requantization of every output element
    assert r.layer("conv1").cost.flops == 2 * 64 * 3 * 7 * 7 * 112 * 112 + 5 * 64 * 112 * 112
    float_model = resolve("torchvision:resnet18").model
    float_r = netcost.analyze(float_model, input_size=(1, 3, 224, 224))
    assert r.total.macs == float_r.total.macs
    bn_channels = sum(
        m.num_features for m in float_model.modules() if isinstance(m, nn.BatchNorm2d)
    )
    assert r.total.params == 11_689_512 - bn_channels
    assert r.total.trainable_params == 0


def test_euclidean_distance():
    x1, x2 = torch.randn(3, 4), torch.randn(5, 4)
    cost = op_cost(torch._euclidean_dist, x1, x2, op="aten._euclidean_dist.default")
    pairs, d = 3 * 5, 4
    assert cost.macs == pairs * (d + 2)
    assert cost.flops == 2 * pairs * (d + 2) + 2 * d * (3 + 5) + 3 * 4 + 2 * pairs


def test_losses():
    x, y = torch.randn(4, 5), torch.randn(4, 5)
    mse = op_cost(nn.functional.mse_loss, x, y, op="aten.mse_loss.default")
    assert mse.flops == 3 * 20 + 1  # subtract, square, add; the mean's divide
    mse_sum = op_cost(
        lambda a, b: nn.functional.mse_loss(a, b, reduction="sum"), x, y, op="aten.mse_loss.default"
    )
    assert mse_sum.flops == 3 * 20
    logits, target = torch.randn(6, 10), torch.randint(0, 10, (6,))
    nll = op_cost(nn.functional.cross_entropy, logits, target, op="aten.nll_loss_forward.default")
    assert nll.flops == 6 + 1


def test_bucketize_and_isin():
    x, bounds = torch.rand(3, 5), torch.linspace(0, 1, 7)
    cost = op_cost(torch.bucketize, x, bounds, op="aten.bucketize.Tensor")
    assert cost.flops == 15 * 3  # ⌈log₂ 8⌉ comparisons per value
    small, test = torch.arange(4), torch.arange(100)
    # 4 < 10 · 100^0.145 ≈ 19.5: brute force, 4 · 100 comparisons
    assert op_cost(torch.isin, small, test, op="aten.isin.Tensor_Tensor").flops == 400
    large = torch.arange(64)
    # 64 values against 100: sort 164 values (⌈log₂ 164⌉ = 8), then one comparison each
    assert op_cost(torch.isin, large, test, op="aten.isin.Tensor_Tensor").flops == 164 * 8 + 164


def test_repeat_interleave_with_known_repeats():
    """Repeat counts given with values: the output size is exact (1 + 2 + 3 rows), and the
    counts' cumulative sum costs one add each."""
    x, repeats = torch.randn(3, 2), torch.tensor([1, 2, 3])
    r = netcost.analyze(
        Fn(lambda t, n: torch.repeat_interleave(t, n, dim=0)), (x, repeats), execution="fake"
    )
    assert r.modules[0].output_shapes == ((6, 2),)
    (op,) = [o for o in r.ops if o.op == "aten.repeat_interleave.Tensor"]
    assert op.cost.flops == 3


def test_embedding_bag_and_multinomial():
    bag = nn.EmbeddingBag(50, 8, mode="mean")
    ids, offsets = torch.tensor([1, 2, 3, 4, 5, 6, 7]), torch.tensor([0, 3])
    r = netcost.analyze(bag, (ids, offsets), execution="fake")
    assert r.complete and r.modules[0].output_shapes == ((2, 8),) == (
        tuple(bag(ids, offsets).shape),
    )
    (summary,) = [o for o in r.ops if o.op.startswith("aten._embedding_bag")]
    # 7 gathered rows of 8 accumulated, then 2 bags × 8 divided (mean)
    assert summary.cost.flops == 7 * 8 + 2 * 8
    # reads 7 int64 ids, 2 int64 offsets and the 7 selected rows of 8 float32; writes 2 bags
    assert summary.cost.bytes_read == 7 * 8 + 2 * 8 + 7 * 8 * 4
    assert summary.cost.bytes_written == 2 * 8 * 4
    # 2 rows of 16 weights: 16 adds for the running sum, then ⌈log₂ 16⌉ = 4 per each of 5 samples
    weights = torch.ones(2, 16)
    cost = op_cost(
        lambda w: torch.multinomial(w, 5).float(), weights, op="aten.multinomial.default"
    )
    assert cost.flops == 2 * (16 + 5 * 4)


@pytest.mark.parametrize(
    ("p", "macs", "flops"),
    [
        # 3 batches of 8 × 6 pairs of 5-feature rows: 144 pairs
        (2.0, 144 * 5, 2 * 144 * 5 + 144 * (5 + 1)),  # d MACs; d subtractions and a root
        (1.0, 0, 144 * 3 * 5),  # subtract, absolute value, add
        (float("inf"), 0, 144 * 3 * 5),  # subtract, absolute value, maximum
        (0.0, 0, 144 * 2 * 5),  # compare, add
        (3.0, 0, 144 * (4 * 5 + 1)),  # subtract, absolute value, power, add; a root
    ],
)
def test_cdist_computed_directly_by_hand(p, macs, flops):
    """Few rows: PyTorch computes every distance directly (aten._cdist_forward), which was
    "not counted" before."""
    x1, x2 = torch.randn(3, 8, 5), torch.randn(3, 6, 5)
    cost = op_cost(lambda a, b: torch.cdist(a, b, p=p), x1, x2, op="aten._cdist_forward.default")
    assert (cost.macs, cost.flops) == (macs, flops)


def test_cdist_of_many_rows_is_a_product():
    """Over 25 rows, p = 2 goes through the matrix-product identity instead, as PyTorch runs it."""
    x1, x2 = torch.randn(30, 5), torch.randn(40, 5)
    cost = op_cost(torch.cdist, x1, x2, op="aten._euclidean_dist.default")
    assert cost.macs == 30 * 40 * (5 + 2)


def test_log_determinant_by_hand():
    """LU of each 4 × 4 matrix: (n − 1)·n·(2n − 1)/6 = 14 MACs, n·(n − 1)/2 = 6 divisions, and
    3n = 12 for the diagonal's absolute values, logarithms and sum; 3 matrices."""
    cost = op_cost(torch.logdet, torch.randn(3, 4, 4), op="aten._linalg_slogdet.default")
    assert (cost.macs, cost.flops) == (3 * 14, 3 * (2 * 14 + 6 + 12))
