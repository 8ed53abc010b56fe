"""Time on a device from the fake run: roofline lower bounds checked by hand, and the device
table checked against the datasheets' sparse figures."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import netcost
from netcost.cli import main, run
from netcost.devices import DTYPES, builtin, load
from netcost.errors import NetcostError


def on_meta(module: nn.Module) -> nn.Module:
    return module.to("meta")


def test_a_bf16_matmul_on_h100_is_compute_bound_at_the_dense_peak():
    """8192 × 8192 × 8192 in bf16: 2 · 8192³ FLOPs at H100 SXM's dense 989.4 TFLOP/s (not the
    sparse 1979)."""
    with torch.device("meta"):
        layer = nn.Linear(8192, 8192, bias=False, dtype=torch.bfloat16)
    report = netcost.analyze(layer, input_size="8192x8192:bfloat16", device="h100-sxm")
    assert report.time.inference_s == 2 * 8192**3 / 989.4e12
    assert report.time.layers[0].bound == "compute"


def test_a_bf16_relu_on_h100_is_memory_bound_at_its_bandwidth():
    """ReLU on 8192 × 8192 bf16: read and write 8192² · 2 bytes each at 3.35 TB/s."""
    report = netcost.analyze(nn.ReLU(), input_size="8192x8192:bfloat16", device="h100-sxm")
    assert report.time.inference_s == 2 * 8192**2 * 2 / 3.35e12
    assert report.time.layers[0].bound == "memory"


def test_fp32_convolutions_run_as_tf32_and_matmuls_as_fp32_unless_asked():
    """cuDNN's default lets fp32 convolutions use TF32; PyTorch's keeps matmuls in FP32."""
    from netcost.analysis.timing import peak

    h100 = load("h100-sxm")
    assert peak(h100, True, "float32", "aten.convolution.default", False) == (
        494.7e12,
        "matrix tf32",
    )
    assert peak(h100, True, "float32", "aten.mm.default", False) == (66.9e12, "vector fp32")
    assert peak(h100, True, "float32", "aten.mm.default", True) == (494.7e12, "matrix tf32")
    assert peak(load("mi300x"), True, "float32", "aten.mm.default", False) == (
        163.4e12,
        "matrix fp32",
    )


def test_no_device_figure_is_a_sparse_one():
    """Where a datasheet prints 2:4-sparse matrix peaks, the table keeps them under `sparse`;
    every dense figure must be about half of its sparse one — a sparse figure copied as dense
    would be the whole. (L40S's own datasheet prints 362.05 dense beside 733 sparse: 49.4 %.)"""
    checked = 0
    for device in builtin().values():
        for dtype, sparse in device.sparse.items():
            dense = device.matrix[dtype]
            assert 0.49 <= dense / sparse <= 0.51, (device, dtype)
            checked += 1
        assert set(device.matrix) <= set(DTYPES) and set(device.vector) <= set(DTYPES)
        assert device.memory_bytes > 0 and device.bandwidth > 0 and device.source
    assert checked >= 40
    assert load("h100-sxm").matrix["bf16"] == 989.4e12  # LLM-Viewer's 1979 is the sparse one


def test_the_issues_devices_are_all_there():
    expected = {"h100-sxm", "h100-pcie", "h200", "b200", "a100-40gb-sxm", "a100-80gb-sxm",
                "a10g", "l4", "l40s", "t4", "v100", "rtx-3090", "rtx-4090", "mi250x",
                "mi300x"}  # fmt: skip
    assert set(builtin()) == expected
    listing = run(["devices"])
    assert listing.splitlines()[1].split()[:2] == ["h100-sxm", "NVIDIA"]
    # Turing and Volta have fp16 tensor cores, no bf16: their 16-bit peak says which
    t4 = next(line for line in listing.splitlines() if line.startswith("t4 "))
    assert "65 (fp16; no bf16)" in t4
    assert listing.splitlines()[-1] == (
        "A calibrated estimate beside the bound from measured kernels on h100-sxm, h200, b200, "
        "a100-80gb-sxm and l40s (pip install 'netcost[gpu]': aiconfigurator-core 0.12.0)."
    )


def test_memory_is_what_the_card_reports_where_a_source_gives_it():
    # nvidia-smi's memory.total: 81,559 MiB on an H100 SXM (its datasheet's "80 GB" is 80 GiB
    # of HBM stacks), 143,771 MiB on an H200; an A100 80 GB reports all 80 GiB
    assert load("h100-sxm").memory_bytes == 81_559 * 2**20  # 79.65 GiB, not 80e9 = 74.51 GiB
    assert load("h200").memory_bytes == 143_771 * 2**20
    assert load("a100-80gb-sxm").memory_bytes == 80 * 2**30
    assert load("h100-pcie").memory_bytes == 80 * 10**9  # no source: the datasheet, decimal
    h100 = next(line for line in run(["devices"]).splitlines() if line.startswith("h100-sxm "))
    assert "79.65 GiB" in h100


def test_a_device_without_a_compute_peak_times_by_bytes_and_says_so():
    report = netcost.analyze(nn.Linear(64, 64), input_size=(32, 64), device="a10g")
    assert report.time.notes == (
        "a10g gives no compute peak for float32: those ops are timed by their bytes alone",
        "no calibrated estimate on a10g: aiconfigurator-core 0.12.0 measured no kernels on it "
        "(only h100-sxm, h200, b200, a100-80gb-sxm and l40s); the bound stands alone",
    )
    assert report.time.inference_s == report.total.cost.bytes_moved / 600e9


def test_your_own_device_file(tmp_path):
    (tmp_path / "mine.toml").write_text(
        '[laptop]\nname = "my laptop"\nmemory_gb = 16\nbandwidth_gbs = 100\n'
        "vector = { fp32 = 1.0 }\n"
    )
    assert load(str(tmp_path / "mine.toml")).memory_bytes == 16 * 10**9  # the datasheet's GB
    (tmp_path / "card.toml").write_text(
        '[card]\nname = "a card"\nmemory_gb = 24\nmemory_mib = 23034\nbandwidth_gbs = 300\n'
    )
    assert load(str(tmp_path / "card.toml")).memory_bytes == 23_034 * 2**20  # as it reports
    report = netcost.analyze(nn.ReLU(), input_size=(1000, 1000), device=str(tmp_path / "mine.toml"))
    # a million fp32 ReLUs: 1e6 FLOPs at 1 TFLOP/s = 1 µs; 8 MB at 100 GB/s = 80 µs
    assert report.time.inference_s == 8e6 / 100e9
    with pytest.raises(NetcostError, match=r"unknown device 'h100'; did you mean .*h100-sxm"):
        load("h100")
    (tmp_path / "bad.toml").write_text("[x]\nname = 1\n")
    with pytest.raises(NetcostError, match=r"\[x\] needs memory_gb"):
        load(str(tmp_path / "bad.toml"))


def test_layers_and_phases_add_up_and_the_json(tmp_path):
    model = nn.Sequential(nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 10))
    report = netcost.analyze(model, input_size=(64, 256), train=True, device="l4")
    t = report.time
    leaves = sum(t.layers[m.index].seconds for m in report.layers)
    assert t.inference_s == pytest.approx(leaves, rel=1e-12)  # sums in another order
    assert dict(t.phases).keys() == {"forward", "backward", "optimizer"}
    assert t.training_s == sum(s for _, s in t.phases) > t.inference_s
    data = report.to_dict()
    assert data["time"]["device"] == "l4" and data["time"]["method"] == "roofline"
    assert data["time"]["inference_s"] == t.inference_s
    assert data["layers"][0]["time_s"] == t.layers[report.layers[0].index].seconds
    assert data["layers"][1]["bound"] == "memory"
    json.dumps(data)


def test_device_flags(capsys):
    assert main(["examples:simple_cnn", "--explain", "--device", "l4"]) == 2
    assert "--device does not apply to --explain" in capsys.readouterr().err
    assert main(["examples:simple_cnn", "--tf32-matmul"]) == 2
    assert "--tf32-matmul needs --device" in capsys.readouterr().err
    text = run(["examples:simple_cnn", "--device", "a100-80gb-sxm"])
    header = next(line for line in text.splitlines() if line.startswith("┃"))
    cells = [cell.strip() for cell in header.strip("┃").split("┃")]
    assert cells[-3:] == ["Time", "% time", "Bound"]
    assert "Time on a100-80gb-sxm (NVIDIA A100 SXM4 80 GB), roofline lower bound:" in text
    assert "Memory on a100-80gb-sxm: inference peaks at" in text


def test_the_summary_says_how_much_time_is_memory_bound():
    """A bf16 matmul alone: all its time compute-bound; a ReLU alone: all memory-bound."""
    with torch.device("meta"):
        layer = nn.Linear(8192, 8192, bias=False, dtype=torch.bfloat16)
    compute = netcost.analyze(layer, input_size="8192x8192:bfloat16", device="h100-sxm")
    memory = netcost.analyze(nn.ReLU(), input_size="8192x8192:bfloat16", device="h100-sxm")
    from netcost.render.timing import timing_lines

    assert "; 0 % of it in memory-bound ops" in timing_lines(compute.time)[0]
    assert "; 100 % of it in memory-bound ops" in timing_lines(memory.time)[0]


def test_calibrated_estimates_read_each_family_by_hand():
    """A device calibrated by hand: fp32 matrix peak 1 TFLOP/s, bandwidth 1 TB/s, 1 µs per op,
    no module overhead. Matrix products read the matmul curve (flat 0.5), attention cores their
    own (0.25), GELU the transcendental curve (0.1 of the vector peak), a fused LSTM layer the
    recurrent curve (0.4)."""
    from netcost.analysis.calibrated import estimate
    from netcost.devices import Device

    flat = lambda e: [[1.0, e], [1e15, e]]  # noqa: E731
    device = Device(
        "hand", "by hand", "test", 10**12, 1e12, {"fp32": 1e12}, {"fp32": 1e12},
        calibration={"overhead_s": 1e-6, "module_overhead_s": 0.0, "matmul": flat(0.5),
                     "attention": flat(0.25), "transcendental_curve": flat(0.1),
                     "rnn": flat(0.4)},
    )  # fmt: skip
    q = torch.randn(1, 4, 64, 32, device="meta")

    def sdpa(x: torch.Tensor) -> torch.Tensor:
        return nn.functional.scaled_dot_product_attention(x, x, x)

    class Fn(nn.Module):
        def __init__(self, fn) -> None:  # type: ignore[no-untyped-def]
            super().__init__()
            self.fn = fn

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fn(x)

    r = netcost.analyze(Fn(sdpa), q, device=device)
    (op,) = [o for o in r.ops if "attention" in o.op]
    flops = max(op.cost.flops, 2 * op.cost.macs)
    compute = flops / (1e12 * 0.25)
    assert compute > op.cost.bytes_moved / 1e12  # compute-bound at this size
    assert r.time.estimates[0] == pytest.approx(compute + 1e-6, rel=1e-12)

    g = netcost.analyze(nn.GELU(), torch.randn(1000, 1000, device="meta"), device=device)
    (gelu,) = g.ops
    by_compute = gelu.cost.flops / (1e12 * 0.1)
    assert g.time.estimates[0] == pytest.approx(
        max(by_compute, gelu.cost.bytes_moved / 1e12) + 1e-6, rel=1e-12
    )

    lstm = nn.LSTM(16, 32).to("meta")
    x = torch.randn(10, 2, 16, device="meta")  # 10 steps of a batch of 2
    rl = netcost.analyze(lstm, x, device=device)
    recorded = [o for m in rl.modules for o in m.ops]
    assert sum("rnn_layer" in o.op for o in recorded) == 1
    # 10 · 2 · 4·32 · (16 + 32) MACs; per step and unit 4 gate sums, 8 bias adds, 9 cell FLOPs
    fused = (2 * 10 * 2 * 4 * 32 * (16 + 32) + 10 * 2 * 32 * (4 + 8 + 9)) / (1e12 * 0.4) + 1e-6
    others = sum(  # the initial states' zeros and the final states' stacks
        estimate(device, o.op, "float32", o.cost) for o in recorded if "rnn_layer" not in o.op
    )
    assert rl.time.estimates[0] == pytest.approx(fused + others, rel=1e-9)


def test_a_matrix_family_reads_the_kernels_nearest_in_size_and_intensity():
    """Two 3 × 3 convolutions of equal FLOPs, one streaming a large weight over a small map
    (intensity 24 FLOPs/byte, 0.5 of the peak), one a small weight over a large map (132, 0.8):
    each op reads the nearer, weighted 1 / (distance + 0.05)² in log₁₀ (FLOPs, intensity) and
    averaged in logs; the two ops here sit at the calibrated sizes."""
    import math

    from netcost.devices import Device

    late = nn.Conv2d(512, 512, 3, padding=1, bias=False).to("meta")
    early = nn.Conv2d(64, 64, 3, padding=1, bias=False).to("meta")
    x_late = torch.randn(1, 512, 7, 7, device="meta")
    x_early = torch.randn(1, 64, 56, 56, device="meta")
    flops = 2 * 512 * 49 * 512 * 9
    assert flops == 2 * 64 * 56 * 56 * 64 * 9  # equal FLOPs
    bytes_late = 4 * (512 * 49 + 512 * 512 * 9 + 512 * 49)
    bytes_early = 4 * (64 * 56 * 56 + 64 * 64 * 9 + 64 * 56 * 56)
    i_late, i_early = flops / bytes_late, flops / bytes_early
    device = Device(
        "hand", "by hand", "test", 10**12, 1e15, {"fp32": 1e12}, {"fp32": 1e12},
        calibration={"overhead_s": 0.0, "module_overhead_s": 0.0,
                     "conv": [[flops, 0.5, i_late], [flops, 0.8, i_early]]},
    )  # fmt: skip
    apart = abs(math.log10(i_early / i_late))
    near, far = 1 / 0.05**2, 1 / (apart + 0.05) ** 2
    for conv, x, mine, other in ((late, x_late, 0.5, 0.8), (early, x_early, 0.8, 0.5)):
        r = netcost.analyze(conv, x, device=device)
        (op,) = r.ops
        assert op.cost.bytes_moved == (bytes_late if mine == 0.5 else bytes_early)
        share = math.exp((near * math.log(mine) + far * math.log(other)) / (near + far))
        assert r.time.estimates[0] == pytest.approx(flops / (1e12 * share), rel=1e-12)


def test_below_the_smallest_calibrated_size_a_kernel_takes_the_smallest_ones_time():
    """Point-wise rates calibrated from 10³ FLOPs (1 % of the vector peak): a ReLU of 10
    elements takes what the 10³-element one did, 10³ / (10¹² · 0.01) s, not 100 times less."""
    from netcost.devices import Device

    device = Device(
        "hand", "by hand", "test", 10**12, 1e15, {"fp32": 1e12}, {"fp32": 1e12},
        calibration={"overhead_s": 0.0, "pointwise_curve": [[1e3, 0.01], [1e6, 0.02]]},
    )  # fmt: skip
    r = netcost.analyze(nn.ReLU(), torch.randn(10, device="meta"), device=device)
    assert r.time.estimates[0] == pytest.approx(1e3 / (1e12 * 0.01), rel=1e-12)


def test_the_first_op_after_a_product_reads_the_after_product_curve():
    """Linear → ReLU → ReLU → Identity → Linear → Identity on a hand device (module overhead
    1 µs, 3 µs right after a product): the first ReLU runs right after the product (0.5 % of
    the vector peak), the second after a ReLU (1 %); the first Identity follows a ReLU (1 µs),
    the second a product (3 µs)."""
    from netcost.devices import Device

    flat = lambda e: [[1.0, e], [1e15, e]]  # noqa: E731
    device = Device(
        "hand", "by hand", "test", 10**12, 1e15, {"fp32": 1e12}, {"fp32": 1e12},
        calibration={"overhead_s": 0.0, "module_overhead_s": 1e-6,
                     "module_overhead_after_s": 3e-6, "matmul": flat(0.5),
                     "pointwise_curve": flat(0.01), "pointwise_after_curve": flat(0.005)},
    )  # fmt: skip
    model = nn.Sequential(
        nn.Linear(100, 100, bias=False), nn.ReLU(), nn.ReLU(), nn.Identity(),
        nn.Linear(100, 100, bias=False), nn.Identity(),
    ).to("meta")  # fmt: skip
    r = netcost.analyze(model, torch.randn(10, 100, device="meta"), device=device)
    product = 2 * 10 * 100 * 100 / (1e12 * 0.5) + 1e-6
    first, second = 1000 / (1e12 * 0.005) + 1e-6, 1000 / (1e12 * 0.01) + 1e-6
    leaves = [r.time.estimates[m.index] for m in r.layers]
    assert leaves == pytest.approx([product, first, second, 1e-6, product, 3e-6], rel=1e-12)
    assert r.time.estimates[0] == pytest.approx(1e-6 + sum(leaves), rel=1e-12)


def test_a_vector_family_reads_its_curve_at_the_ops_size():
    """Point-wise rates calibrated at 10⁴ and 10⁶ FLOPs (1 % and 2 % of the vector peak): a ReLU
    of 10⁵ elements, half way in log FLOPs, runs at 1.5 % of 1 TFLOP/s."""
    from netcost.devices import Device

    device = Device(
        "hand", "by hand", "test", 10**12, 1e15, {"fp32": 1e12}, {"fp32": 1e12},
        calibration={"overhead_s": 0.0, "pointwise_curve": [[1e4, 0.01], [1e6, 0.02]]},
    )  # fmt: skip
    r = netcost.analyze(nn.ReLU(), torch.randn(100, 1000, device="meta"), device=device)
    (relu,) = r.ops
    assert relu.cost.flops == 10**5
    assert r.time.estimates[0] == pytest.approx(10**5 / (1e12 * 0.015), rel=1e-12)


def test_an_in_place_point_wise_op_reads_the_in_place_curve():
    """ReLU(inplace=True) runs aten.relu_, which writes into its input and allocates nothing: it
    reads the in-place curve (here 4 % of the vector peak), an out-of-place ReLU the point-wise
    one (1 %)."""
    from netcost.devices import Device

    device = Device(
        "hand", "by hand", "test", 10**12, 1e15, {"fp32": 1e12}, {"fp32": 1e12},
        calibration={"overhead_s": 0.0, "pointwise_curve": [[1.0, 0.01], [1e15, 0.01]],
                     "inplace_curve": [[1.0, 0.04], [1e15, 0.04]]},
    )  # fmt: skip
    x = torch.randn(100, 1000, device="meta")
    inplace = netcost.analyze(nn.ReLU(inplace=True), x, device=device)
    assert [o.op for o in inplace.ops] == ["aten.relu_.default"]
    assert inplace.time.estimates[0] == pytest.approx(10**5 / (1e12 * 0.04), rel=1e-12)
    plain = netcost.analyze(nn.ReLU(), x, device=device)
    assert plain.time.estimates[0] == pytest.approx(10**5 / (1e12 * 0.01), rel=1e-12)


def test_a_one_by_one_convolution_reads_its_own_curve():
    """A 1 × 1 convolution runs as a matrix product of its own shape: it reads the 1 × 1 curve
    (here 0.6 of the peak), a 3 × 3 one the convolution curve (0.3)."""
    from netcost.devices import Device

    device = Device(
        "hand", "by hand", "test", 10**12, 1e15, {"fp32": 1e12}, {"fp32": 1e12},
        calibration={"overhead_s": 0.0, "module_overhead_s": 0.0,
                     "conv": [[1.0, 0.3], [1e15, 0.3]], "conv_1x1": [[1.0, 0.6], [1e15, 0.6]]},
    )  # fmt: skip
    x = torch.randn(1, 64, 28, 28, device="meta")
    for kernel, share in ((1, 0.6), (3, 0.3)):
        conv = nn.Conv2d(64, 64, kernel, padding=kernel // 2, bias=False).to("meta")
        r = netcost.analyze(conv, x, device=device)
        flops = 2 * 64 * 28 * 28 * 64 * kernel * kernel
        assert r.time.estimates[0] == pytest.approx(flops / (1e12 * share), rel=1e-12)


def test_products_read_the_cold_kernels_when_the_forward_outgrows_the_caches():
    """A 64 → 64 linear layer on 10 rows peaks at 4 · (64·64 + 64) bytes of parameters, its
    4 · 10·64-byte input and as large an output: 21,760 bytes. Under a 21,760-byte cache its
    product reads the matmul curve (0.8 of the peak); under a 21,759-byte one, the curve timed
    with its weights evicted (0.4)."""
    from netcost.devices import Device

    flat = lambda e: [[1.0, e, 1.0], [1e15, e, 1.0]]  # noqa: E731
    model = nn.Linear(64, 64).to("meta")
    x = torch.randn(10, 64, device="meta")
    touched = 4 * (64 * 64 + 64) + 2 * 4 * 10 * 64
    assert touched == 21_760
    for cache, share in ((21_760, 0.8), (21_759, 0.4)):
        device = Device(
            "hand", "by hand", "test", 10**12, 1e15, {"fp32": 1e12}, {"fp32": 1e12},
            calibration={"overhead_s": 0.0, "module_overhead_s": 0.0, "cache_bytes": cache,
                         "matmul": flat(0.8), "matmul_cold": flat(0.4)},
        )  # fmt: skip
        r = netcost.analyze(model, x, device=device)
        (op,) = r.ops
        flops = max(op.cost.flops, 2 * op.cost.macs)
        assert r.memory.peak_bytes == touched
        assert r.time.estimates[0] == pytest.approx(flops / (1e12 * share), rel=1e-12)


def test_in_a_cold_forward_vector_ops_read_their_cold_curve_first():
    """Linear → ReLU with a 1-byte cache (every forward outgrows it): the ReLU right after the
    product reads the point-wise curve timed with all but its input evicted (0.002 of the vector
    peak), before the after-product one (0.005); with a cache large enough, the after-product
    one."""
    from netcost.devices import Device

    flat = lambda e: [[1.0, e], [1e15, e]]  # noqa: E731
    model = nn.Sequential(nn.Linear(100, 100, bias=False), nn.ReLU()).to("meta")
    for cache, share in ((1, 0.002), (10**9, 0.005)):
        device = Device(
            "hand", "by hand", "test", 10**12, 1e15, {"fp32": 1e12}, {"fp32": 1e12},
            calibration={"overhead_s": 0.0, "module_overhead_s": 0.0, "cache_bytes": cache,
                         "matmul": flat(0.5), "pointwise_curve": flat(0.01),
                         "pointwise_after_curve": flat(0.005),
                         "pointwise_cold_curve": flat(0.002)},
        )  # fmt: skip
        r = netcost.analyze(model, torch.randn(10, 100, device="meta"), device=device)
        relu = r.layers[1]
        assert r.time.estimates[relu.index] == pytest.approx(1000 / (1e12 * share), rel=1e-12)


def test_in_a_cold_forward_in_place_ops_keep_their_warm_curves():
    """Linear → SiLU(inplace=True) with a 1-byte cache: aten.silu_ writes into the input the
    product has just written, so it reads the transcendental after-product curve (0.005 of the
    vector peak), not the one timed after an eviction (0.002); out of place it reads that one."""
    from netcost.devices import Device

    flat = lambda e: [[1.0, e], [1e15, e]]  # noqa: E731
    device = Device(
        "hand", "by hand", "test", 10**12, 1e15, {"fp32": 1e12}, {"fp32": 1e12},
        calibration={"overhead_s": 0.0, "module_overhead_s": 0.0, "cache_bytes": 1,
                     "matmul": flat(0.5), "transcendental_curve": flat(0.01),
                     "transcendental_after_curve": flat(0.005),
                     "transcendental_cold_curve": flat(0.002)},
    )  # fmt: skip
    for inplace, op, share in (
        (True, "aten.silu_.default", 0.005),
        (False, "aten.silu.default", 0.002),
    ):
        model = nn.Sequential(nn.Linear(100, 100, bias=False), nn.SiLU(inplace=inplace)).to("meta")
        r = netcost.analyze(model, torch.randn(10, 100, device="meta"), device=device)
        silu = r.layers[1]
        assert [o.op for o in silu.ops] == [op]
        flops = silu.ops[0].cost.flops
        assert r.time.estimates[silu.index] == pytest.approx(flops / (1e12 * share), rel=1e-12)


def test_a_calibration_on_another_thread_count_says_so():
    """A CPU calibration holds for the threads it ran on: analysed on as many, no note; on
    another count, a note naming both."""
    from netcost.devices import Device

    now = torch.get_num_threads()
    for threads, noted in ((now, False), (now + 1, True)):
        device = Device(
            "hand", "by hand", "test", 10**12, 1e12, {"fp32": 1e12}, {"fp32": 1e12},
            calibration={"overhead_s": 0.0, "threads": float(threads)},
        )  # fmt: skip
        r = netcost.analyze(nn.ReLU(), torch.randn(10, device="meta"), device=device)
        said = f"calibrated on {now + 1} threads and torch runs {now} here" in " ".join(
            r.time.notes
        )
        assert said == noted


def test_in_a_cold_forward_a_layer_without_a_kernel_pays_the_cold_empty_call():
    """Linear → Dropout (eval: no kernel) → ReLU with a 1-byte cache: the dropout's call costs
    the module overhead (1 µs) plus what an empty layer adds after the eviction (here 20 µs; 3
    right after a product); with a cache large enough, 1 + 3 µs. The ReLU's call is unchanged."""
    from netcost.devices import Device

    flat = lambda e: [[1.0, e], [1e15, e]]  # noqa: E731
    model = nn.Sequential(nn.Linear(100, 100, bias=False), nn.Dropout(), nn.ReLU()).eval()
    for cache, dropout in ((1, 21e-6), (10**9, 4e-6)):
        device = Device(
            "hand", "by hand", "test", 10**12, 1e15, {"fp32": 1e12}, {"fp32": 1e12},
            calibration={"overhead_s": 0.0, "module_overhead_s": 1e-6,
                         "module_overhead_after_s": 4e-6, "module_overhead_cold_s": 21e-6,
                         "cache_bytes": cache, "matmul": flat(0.5),
                         "pointwise_curve": flat(0.01)},
        )  # fmt: skip
        r = netcost.analyze(model.to("meta"), torch.randn(10, 100, device="meta"), device=device)
        leaves = [r.time.estimates[m.index] for m in r.layers]
        assert leaves[1] == pytest.approx(dropout, rel=1e-12)
        assert leaves[2] == pytest.approx(1e-6 + 1000 / (1e12 * 0.01), rel=1e-12)


def test_gelu_other_transcendental_and_piecewise_linear_ops_read_their_own_curves():
    """GELU (erf) reads its own curve (here 0.05 of the vector peak), SiLU and sigmoid the
    transcendental one (0.1), hardsigmoid — piecewise linear despite its name — the point-wise
    one (0.2); a calibration without a GELU curve gives GELU the transcendental one."""
    from netcost.devices import Device

    flat = lambda e: [[1.0, e], [1e15, e]]  # noqa: E731
    curves = {"overhead_s": 0.0, "module_overhead_s": 0.0, "gelu_curve": flat(0.05),
              "transcendental_curve": flat(0.1), "pointwise_curve": flat(0.2)}  # fmt: skip
    x = torch.randn(100, 1000, device="meta")
    cases = ((nn.GELU(), 0.05), (nn.SiLU(), 0.1), (nn.Sigmoid(), 0.1), (nn.Hardsigmoid(), 0.2))
    without = {k: v for k, v in curves.items() if k != "gelu_curve"}
    for calibration, gelu in ((curves, 0.05), (without, 0.1)):
        device = Device("hand", "by hand", "test", 10**12, 1e15, {"fp32": 1e12}, {"fp32": 1e12},
                        calibration=calibration)  # fmt: skip
        for layer, share in cases:
            share = gelu if isinstance(layer, nn.GELU) else share
            r = netcost.analyze(layer, x, device=device)
            (op,) = r.ops
            assert r.time.estimates[0] == pytest.approx(op.cost.flops / (1e12 * share), rel=1e-12)
