"""precision "fp8-mixed" (Transformer Engine's FP8 recipe): captured as bf16-mixed, every GEMM of
the forward and the backward timed on fp8 units (analysis/fusion.py fp8_products) — by hand."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import netcost
from conftest import T
from netcost.analysis.fusion import FlatOp, fp8_products
from netcost.cost import Cost
from netcost.errors import UsageError

M, N, K = 8192, 4096, 4096
#: one M×K by K×N product's FLOPs, and what it saves on an H100 SXM's fp8 units (1,978.9
#: TFLOP/s dense) against its bf16 ones (989.4)
FLOPS = 2 * M * N * K
SAVED = FLOPS / 989.4e12 - FLOPS / 1978.9e12


def test_fp8_products_put_every_2d_gemm_on_fp8_units_and_nothing_else():
    bf16 = torch.bfloat16
    mm = FlatOp("aten.mm.default", "matmul", {"self": T(8, 64, dtype=bf16),
                "mat2": T(64, 32, dtype=bf16)}, (T(8, 32, dtype=bf16),), Cost(macs=8 * 64 * 32),
                0)  # fmt: skip
    bmm = FlatOp("aten.bmm.default", "matmul", {"self": T(2, 8, 64, dtype=bf16),
                 "mat2": T(2, 64, 8, dtype=bf16)}, (T(2, 8, 8, dtype=bf16),),
                 Cost(macs=2 * 8 * 64 * 8), 0)  # fmt: skip
    add = FlatOp("aten.add.Tensor", "pointwise", {"self": T(8, 32, dtype=bf16)},
                 (T(8, 32, dtype=bf16),), Cost(flops=256), 0)  # fmt: skip
    product, batched, pointwise = fp8_products([mm, bmm, add])
    assert product.dtype == "float8_e4m3fn"
    assert [(a.dtype, a.itemsize) for a in product.args.values()] == [("float8_e4m3fn", 1)] * 2
    assert product.outputs == mm.outputs  # the result at its own width
    assert (batched, pointwise) == (bmm, add)  # attention's products and the rest: as traced


def test_the_modules_kept_run_their_gemms_as_traced():
    bf16 = torch.bfloat16
    head = FlatOp("aten.mm.default", "matmul", {"self": T(8, 64, dtype=bf16),
                  "mat2": T(64, 100, dtype=bf16)}, (T(8, 100, dtype=bf16),),
                  Cost(macs=8 * 64 * 100), 0, module="lm_head")  # fmt: skip
    assert fp8_products([head], kept=("lm_head",)) == [head]
    assert fp8_products([head])[0].dtype == "float8_e4m3fn"


def test_a_language_model_keeps_its_output_head_in_bf16_under_fp8_mixed(monkeypatch):
    # Megatron-Core builds the output layer outside Transformer Engine; torchtitan's Llama 3
    # FP8 configurations filter lm_head
    import netcost.analysis.timing as timing
    from conftest import tiny_llama
    from netcost.api import _kept

    seen = []

    def recording(ops, kept=()):  # what the timing asks fp8_products to keep, each time
        seen.append(tuple(kept))
        return fp8_products(ops, kept)

    monkeypatch.setattr(timing, "fp8_products", recording)
    ids = {"input_ids": torch.zeros(2, 16, dtype=torch.long)}
    fp8 = netcost.analyze(tiny_llama(), ids, train=True, precision="fp8-mixed", device="h100-sxm")
    assert fp8.precision_kept == ("lm_head",)
    assert seen == [("lm_head",), ("lm_head",)]  # the forward's kernels, then the step's
    assert _kept(tiny_llama(), "bf16-mixed") == ()  # nothing to keep from fp8 under bf16
    assert _kept(nn.Linear(8, 8), "fp8-mixed") == ()  # no output head


def test_a_linear_layer_s_gemms_run_at_the_fp8_peak_forward_and_backward():
    model = nn.Linear(K, N, bias=False)
    x = torch.empty(M, K, device="meta")

    def step(precision: str) -> netcost.Report:
        return netcost.analyze(model, x, train=True, precision=precision, device="h100-sxm")

    bf16, fp8 = step("bf16-mixed"), step("fp8-mixed")
    assert bf16.time is not None and fp8.time is not None
    # the same kernels but the product: its compute-bound time at twice the rate
    assert bf16.time.inference_s - fp8.time.inference_s == pytest.approx(SAVED)
    phases, phases8 = dict(bf16.time.phases), dict(fp8.time.phases)
    assert phases["forward"] - phases8["forward"] == pytest.approx(SAVED)
    # backward: the weight's gradient, Xᵀ · dY, one more such product (x needs no gradient)
    assert phases["backward"] - phases8["backward"] == pytest.approx(SAVED)
    assert phases["optimizer"] == phases8["optimizer"]
    assert fp8.training is not None
    assert fp8.training.notes[-1].startswith("fp8-mixed: memory counted as bf16-mixed's")


def test_fp8_mixed_needs_fp8_units_and_the_fused_view():
    model, x = nn.Linear(8, 8), torch.empty(4, 8)
    with pytest.raises(UsageError, match="kernels='fused'"):
        netcost.analyze(model, x, train=True, precision="fp8-mixed", device="h100-sxm",
                        kernels="eager")  # fmt: skip
    with pytest.raises(UsageError, match="a100-80gb-sxm lacks"):
        netcost.analyze(model, x, train=True, precision="fp8-mixed", device="a100-80gb-sxm")


def test_mfu_under_fp8_mixed_is_against_the_fp8_peak():
    from netcost.cli import run

    text = run(["hf:llama:hidden_size=64,intermediate_size=128,num_hidden_layers=1,"
                "num_attention_heads=4,num_key_value_heads=2,vocab_size=100", "-i", "2x16:int64",
                "--train", "--precision", "fp8-mixed", "--device", "h100-sxm", "--step-time",
                "1"])  # fmt: skip
    assert "MFU of the measured step: 0.0 % of 1978.9 TFLOP/s" in text.splitlines()
