"""Reading measured kernel tables (netcost/gpu_tables.py) and the estimate built on them
(analysis/gpu_estimate.py), on small hand-made tables: every number by hand."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from conftest import T
from netcost.analysis.fusion import FlatOp, Kernel
from netcost.analysis.gpu_estimate import Sources, gemm_dims, kernel_estimate
from netcost.cost import Cost
from netcost.gpu_tables import (
    MEASURED,
    AttentionTable,
    Curve,
    GemmTable,
    Tables,
    available,
    missing,
    tables,
)


def test_a_curve_is_linear_between_points_proportional_past_them_and_held_below():
    curve = Curve((8.0, 16.0, 64.0), (1.0, 2.0, 5.0))
    assert curve.at(16) == (2.0, False)
    assert curve.at(40) == (2.0 + (40 - 16) / (64 - 16) * (5.0 - 2.0), False)
    assert curve.at(128) == (5.0 * 128 / 64, True)  # past the largest: ∝ M, extrapolated
    assert curve.at(2) == (1.0, True)  # below the smallest: held


def test_a_gemm_between_grid_points_scales_its_corners_and_blends_in_log_space():
    # two N columns, one K: latency 1 s and 4 s at M = 1
    table = GemmTable({(100, 10): Curve((1.0,), (1.0,)), (400, 10): Curve((1.0,), (4.0,))})
    assert table.latency(1, 100, 10) == (1.0, False)
    # N = 200 sits halfway in log between 100 and 400; both corners scaled to N = 200 give
    # 1 · 200/100 = 2 and 4 · 200/400 = 2
    seconds, outside = table.latency(1, 200, 10)
    assert seconds == pytest.approx(2.0) and not outside
    # a corner that runs faster per column weighs in geometrically: 1·2 and 3·0.5 → √(2·1.5)
    table = GemmTable({(100, 10): Curve((1.0,), (1.0,)), (400, 10): Curve((1.0,), (3.0,))})
    assert table.latency(1, 200, 10)[0] == pytest.approx(math.sqrt(2 * 1.5))
    assert table.latency(1, 800, 10) == (pytest.approx(3.0 * 800 / 400), True)


def test_attention_is_bilinear_in_log_batch_and_length_scaled_by_heads():
    grid = {(1, 100): 1.0, (4, 100): 4.0, (1, 400): 2.0, (4, 400): 8.0}
    table = AttentionTable({(32, 8, 128, "bfloat16"): grid})
    assert table.latency(2, 200, 32, 8, 128, "bfloat16") == (pytest.approx(math.sqrt(8)), False)
    # 64 query heads against the table's 32 (same grouping, 4 per KV head): twice the work
    doubled, scaled = table.latency(1, 100, 64, 16, 128, "bfloat16")
    assert doubled == pytest.approx(2.0) and scaled
    assert table.latency(1, 100, 32, 8, 64, "bfloat16") is None  # no head size 64
    assert table.latency(8, 100, 32, 8, 128, "bfloat16") == (pytest.approx(8.0), True)


def test_kernels_read_their_tables_never_below_their_floor():
    gemm = GemmTable({(256, 64): Curve((1.0, 8.0), (2e-6, 3e-6))})
    attention = AttentionTable({(8, 2, 64, "bfloat16"): {(1, 99): 5e-6, (2, 99): 6e-6}})
    t = Tables("test", "hand-made tables", {"bfloat16": gemm}, None, attention, 1e12, 1e-6)
    sources = Sources()
    mm = FlatOp("aten.mm.default", "matmul", {"self": T(8, 64), "mat2": T(64, 256)},
                (T(8, 256),), Cost(macs=8 * 64 * 256), 0)  # fmt: skip
    assert gemm_dims(mm) == (8, 256, 64)
    matrix = Kernel("matrix", (0,), 0, 0)
    assert kernel_estimate(matrix, [mm], ["bfloat16"], 1e-9, t, sources) == pytest.approx(3e-6)
    assert kernel_estimate(matrix, [mm], ["bfloat16"], 1e-3, t, sources) == 1e-3  # the floor
    decode = Kernel("attention", (0,), 0, 0, Cost(), "bfloat16", (2, 8, 2, 1, 100, 64, 2.0))
    assert kernel_estimate(decode, [mm], ["bfloat16"], 0.0, t, sources) == pytest.approx(6e-6)
    vector = Kernel("vector", (0,), 3000, 1000)
    assert kernel_estimate(vector, [mm], ["bfloat16"], 0.0, t, sources) == 4000 / 1e12 + 1e-6
    assert kernel_estimate(matrix, [mm], ["float32"], 2e-6, t, sources) == 2e-6  # no table
    assert sources.used["the bound (no table)"] == 1
    assert "2 the bfloat16 GEMM table" in sources.note("hand-made tables")


def test_a_weight_only_gemm_reads_its_own_table_where_the_device_has_one():
    """An int4-weight product (bf16 activations) at M = 8: the int4 weight-only table where the
    tables hold one (A100's), the bf16 table where not; an int8 weight without an int8 table
    reads the bf16 one too."""
    from dataclasses import replace as renamed

    bf16 = GemmTable({(256, 64): Curve((1.0, 8.0), (4e-8, 4e-8))})
    int4 = GemmTable({(256, 64): Curve((1.0, 8.0), (3e-8, 3e-8))})
    weight = renamed(T(64, 256), dtype="int4", itemsize=0.5)
    mm = FlatOp("aten.mm.default", "matmul", {"self": T(8, 64), "mat2": weight},
                (T(8, 256),), Cost(macs=8 * 64 * 256), 0)  # fmt: skip
    matrix, sources = Kernel("matrix", (0,), 0, 0), Sources()
    both = Tables("test", "hand", {"bfloat16": bf16, "int4_wo": int4}, None, None, 1e12, 0.0)
    assert kernel_estimate(matrix, [mm], ["bfloat16"], 0.0, both, sources) == pytest.approx(3e-8)
    assert sources.used == {"the int4 weight-only GEMM table": 1}
    plain = Tables("test", "hand", {"bfloat16": bf16}, None, None, 1e12, 0.0)
    assert kernel_estimate(matrix, [mm], ["bfloat16"], 0.0, plain, sources) == pytest.approx(4e-8)
    int8 = {"self": T(8, 64), "mat2": renamed(T(64, 256), dtype="int8", itemsize=1)}
    assert kernel_estimate(matrix, [renamed(mm, args=int8)], ["bfloat16"], 0.0, both,
                           sources) == pytest.approx(4e-8)  # fmt: skip
    assert sources.used["the bfloat16 GEMM table"] == 2


def test_an_fp8_gemm_with_few_rows_is_no_slower_than_bf16_streaming_the_same_weight():
    # N = 256, K = 64: the bf16 kernel moves 2·(256·64 + 8·64 + 8·256) = 37,888 bytes at M = 8
    # in 4e-8 s (its weight, 32,768 bytes, at 8.2e11 B/s: past half the tables' 1e12); the
    # fp8 one moves 256·64 + 8·64 + 2·8·256 = 20,992 bytes, so at the bf16 kernel's pace
    # 4e-8 · 20,992 / 37,888, where its own table says 1e-7 s
    bf16 = GemmTable({(256, 64): Curve((1.0, 8.0), (4e-8, 4e-8))})
    fp8 = GemmTable({(256, 64): Curve((1.0, 8.0), (1e-7, 1e-7))})
    t = Tables("test", "hand-made tables", {"bfloat16": bf16, "fp8": fp8}, None, None, 1e12, 0.0)
    sources = Sources()
    mm = FlatOp("aten.mm.default", "matmul", {"self": T(8, 64), "mat2": T(64, 256)},
                (T(8, 256),), Cost(macs=8 * 64 * 256), 0)  # fmt: skip
    matrix = Kernel("matrix", (0,), 0, 0)
    assert kernel_estimate(matrix, [mm], ["float8_e4m3fn"], 0.0, t, sources) == pytest.approx(
        4e-8 * 20_992 / 37_888
    )
    assert sources.used["the bfloat16 GEMM table's weight streaming (fp8)"] == 1
    # a bf16 kernel that does not stream its weight (32,768 B in 1e-7 s: 3.3e11 B/s, under
    # half of 1e12) says nothing of the fp8 one: its own table answers
    t.gemm["bfloat16"] = GemmTable({(256, 64): Curve((1.0, 8.0), (1e-7, 1e-7))})
    t.gemm["fp8"] = GemmTable({(256, 64): Curve((1.0, 8.0), (9e-8, 9e-8))})
    assert kernel_estimate(matrix, [mm], ["float8_e4m3fn"], 0.0, t, sources) == pytest.approx(9e-8)


def test_a_causal_attention_backward_runs_at_its_forward_kernels_measured_rate():
    # the prefill table's forward: 2 sequences of 99 queries, 8 heads on 2 KV heads, head size
    # 64: 6e-6 s for 2·8·(99·100/2)·(64 + 64) MACs; the backward's four products are twice
    # that (formulas/backward.py), so 1.2e-5 s
    context = AttentionTable({(8, 2, 64, "bfloat16"): {(1, 99): 5e-6, (2, 99): 6e-6}})
    t = Tables("test", "hand-made tables", {}, context, None, 1e12, 0.0)
    q, k = T(2, 8, 99, 64, dtype=torch.bfloat16), T(2, 2, 99, 64, dtype=torch.bfloat16)
    scores = 2 * 8 * 99 * 100 // 2
    args = {"grad_out": q, "query": q, "key": k, "value": k, "out": q, "is_causal": True}
    grad = FlatOp("aten._scaled_dot_product_flash_attention_backward.default", "backward",
                  args, (q, k, k), Cost(macs=scores * 2 * (64 + 64)), 0)  # fmt: skip
    matrix, sources = Kernel("matrix", (0,), 0, 0), Sources()
    assert kernel_estimate(matrix, [grad], ["bfloat16"], 1e-9, t, sources) == pytest.approx(1.2e-5)
    assert sources.used["the prefill attention table's forward (backward)"] == 1
    # no causal mask (or queries ≠ keys): no table is of that kernel, the floor stands
    plain = replace(grad, args={**args, "is_causal": False})
    assert kernel_estimate(matrix, [plain], ["bfloat16"], 1e-9, t, sources) == 1e-9
    assert sources.used["the bound (no table)"] == 1


@pytest.mark.skipif(not available(), reason="aiconfigurator-core (netcost[gpu]) not installed")
def test_the_installed_tables_answer_a_measured_point_exactly():
    h100 = tables("h100-sxm")
    assert h100 is not None and "aiconfigurator-core 0.12.0" in h100.source
    (n, k), curve = next(iter(h100.gemm["bfloat16"].curves.items()))
    m, seconds = curve.xs[3], curve.ys[3]
    assert h100.gemm["bfloat16"].latency(int(m), n, k) == (pytest.approx(seconds), False)
    assert tables("t4") is None  # not among the package's systems


@pytest.mark.skipif(not available(), reason="aiconfigurator-core (netcost[gpu]) not installed")
def test_the_devices_said_to_be_measured_are_those_the_installed_package_holds():
    from netcost.devices import builtin

    assert {key for key in builtin() if tables(key) is not None} == set(MEASURED)


def test_a_device_without_tables_is_told_why():
    only = "only h100-sxm, h200, b200, a100-80gb-sxm and l40s"
    assert missing("t4", installed=True) == (
        f"aiconfigurator-core 0.12.0 measured no kernels on it ({only})"
    )
    assert missing("t4", installed=False) == missing("t4", installed=True)  # installing won't do
    assert missing("h100-sxm", installed=False) == (
        "its measured kernel tables come with pip install 'netcost[gpu]' (aiconfigurator-core "
        "0.12.0)"
    )
    assert missing("h100-sxm", installed=True) == ""


def test_an_analysis_without_an_estimate_says_why_in_text_and_json(monkeypatch):
    """The autouse fixture stands for an installation without netcost[gpu]."""
    import json

    from torch import nn

    import netcost
    from netcost.render.json import render_json

    model = nn.Sequential(nn.Linear(64, 256), nn.GELU(), nn.Linear(256, 10))
    report = netcost.analyze(model, torch.randn(8, 64), device="h100-sxm")
    note = ("no calibrated estimate on h100-sxm: its measured kernel tables come with pip install "
            "'netcost[gpu]' (aiconfigurator-core 0.12.0); the bound stands alone")  # fmt: skip
    assert report.time.estimate_s is None
    assert report.time.notes[-1] == note
    assert f"! {note}" in str(report.time)
    assert json.loads(render_json(report))["time"]["notes"][-1] == note
    t4 = netcost.analyze(model, torch.randn(8, 64), device="t4").time
    assert t4.estimate_missing == missing("t4")
    # tables installed, but the eager view's kernels are not the ones they time
    monkeypatch.setattr("netcost.analysis.timing.tables_missing", lambda device: "")
    eager = netcost.analyze(model, torch.randn(8, 64), device="h100-sxm", kernels="eager").time
    assert eager.notes[-1] == (
        "no calibrated estimate on h100-sxm: the measured tables time the kernels an engine "
        "runs (--kernels fused); the bound stands alone"
    )
    assert not netcost.analyze(model, torch.randn(8, 64), device="h100-sxm").time.notes


def test_a_generation_without_an_estimate_says_why():
    from conftest import tiny_llama
    from netcost.generation import generate

    g = generate(tiny_llama(), 16, 4, device="t4")
    assert not g.estimate
    assert g.estimate_missing == missing("t4")
    assert g.notes[-1] == f"no calibrated estimate on t4: {missing('t4')}; the bound stands alone"
    assert f"! {g.notes[-1]}" in str(g)
    assert not generate(tiny_llama(), 16, 4).notes  # no device, no time, no note


def test_an_analysis_shows_the_estimate_beside_the_bound(monkeypatch):
    """Linear(64→256) → GELU → Linear(256→10) at batch 8 in bf16: two kernels, each a GEMM the
    hand-made table holds at M = 8."""
    import json

    import torch
    from torch import nn

    import netcost
    from netcost.render.json import render_json

    gemm = GemmTable({(256, 64): Curve((8.0,), (1e-5,)), (10, 256): Curve((8.0,), (2e-5,))})
    hand = Tables("test", "hand-made tables", {"bfloat16": gemm}, None, None, 1e12, 1e-6)
    monkeypatch.setattr("netcost.analysis.timing.gpu_tables", lambda device: hand)
    model = nn.Sequential(nn.Linear(64, 256), nn.GELU(), nn.Linear(256, 10)).to(torch.bfloat16)
    report = netcost.analyze(model, torch.randn(8, 64, dtype=torch.bfloat16), device="h100-sxm")
    assert report.time.estimate_s == pytest.approx(1e-5 + 2e-5)
    first, gelu, second = (report.time.estimates[m.index] for m in report.layers)
    assert first + gelu == pytest.approx(1e-5)  # the GELU is the first product's epilogue
    assert second == pytest.approx(2e-5)
    produced = json.loads(render_json(report))
    time = produced["time"]
    # each layer says which tables its kernels read: the GELU rides in the first GEMM's kernel,
    # so that kernel counts for both calls, and once for the model that holds them
    gemm = {"the bfloat16 GEMM table": 1}
    assert [layer["estimate_read"] for layer in produced["layers"]] == [gemm, gemm, gemm]
    root = next(m.index for m in report.modules if m.parent is None)
    assert report.time.estimate_reads[root].used == {"the bfloat16 GEMM table": 2}
    assert all("estimate_past_range" not in layer for layer in produced["layers"])
    # at 16 rows, past the tables' measured M = 8: each kernel says so
    wider = netcost.analyze(model, torch.randn(16, 64, dtype=torch.bfloat16), device="h100-sxm")
    assert json.loads(render_json(wider))["layers"][0]["estimate_past_range"] == gemm
    assert time["estimate"]["inference_s"] == pytest.approx(3e-5)
    assert time["estimate"]["source"].startswith("estimate from hand-made tables: kernels by 2")
    text = report.table()
    assert "Estimate" in text
    assert "Calibrated estimate on h100-sxm: 30 µs for inference" in str(report.time)
