"""The fused view (analysis/fusion.py) on hand-built graphs: which ops share a kernel, and the
bytes each kernel moves, by hand; then on a real transformers decode step."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from conftest import T
from netcost.analysis.fusion import FlatOp, flat_ops, kernels
from netcost.cost import Cost
from netcost.formulas.attention import attention_cost, causal_scores
from netcost.trace import TensorSpec

F32, BF16 = 4, 2


def t(tid: int, *shape: int, dtype: torch.dtype = torch.float32) -> TensorSpec:
    return replace(T(*shape, dtype=dtype), tid=tid)


def op(name: str, family: str, out: TensorSpec | tuple, macs: int = 0, **args: object) -> FlatOp:
    outputs = out if isinstance(out, tuple) else (out,)
    return FlatOp(name, family, dict(args), outputs, Cost(macs=macs, flops=2 * macs), 0)


def test_a_pointwise_chain_is_one_kernel_reading_its_inputs_once():
    x, y = t(0, 1000), t(3, 1000)
    ops = [
        op("aten.relu.default", "pointwise", t(1, 1000), self=x),
        op("aten.mul.Tensor", "pointwise", t(2, 1000), self=t(1, 1000), other=t(1, 1000)),
        op("aten.add.Tensor", "pointwise", t(4, 1000), self=t(2, 1000), other=y),
        op("aten.mm.default", "matmul", t(5, 1, 1), 1000, self=t(4, 1, 1000), mat2=t(6, 1000, 1)),
    ]
    found = kernels(ops, {})
    assert [k.kind for k in found] == ["vector", "matrix"]
    chain = found[0]
    assert chain.members == (0, 1, 2)
    # x and y read once each; only the add's result, read by the product, is written
    assert (chain.bytes_read, chain.bytes_written) == (2 * 1000 * F32, 1000 * F32)


def test_an_epilogue_joins_its_product():
    x, w = t(0, 8, 64), t(1, 64, 256)
    ops = [
        op("aten.mm.default", "matmul", t(2, 8, 256), 8 * 64 * 256, self=x, mat2=w),
        op("aten.gelu.default", "pointwise", t(3, 8, 256), self=t(2, 8, 256)),
    ]
    (kernel,) = kernels(ops, {})
    assert kernel.members == (0, 1)
    assert kernel.bytes_read == (8 * 64 + 64 * 256) * F32
    assert kernel.bytes_written == 8 * 256 * F32  # the product's result never leaves


def test_views_are_followed_to_their_base():
    x = t(0, 4, 10)
    ops = [
        op("aten.neg.default", "pointwise", t(1, 4, 10), self=x),
        # t(2) is a transposed view of t(1): the same data
        op("aten.exp.default", "pointwise", t(3, 10, 4), self=t(2, 10, 4)),
    ]
    (kernel,) = kernels(ops, {2: 1})
    assert (kernel.bytes_read, kernel.bytes_written) == (40 * F32, 40 * F32)


def eager_attention(bh: int, length: int, keys: int, e: int, masked: bool) -> list[FlatOp]:
    """Q·Kᵀ (bmm) → scale (mul) → [+ mask] → softmax → P·V (bmm), as eager code runs it; Kᵀ
    is a view (tensor 11) of the keys (tensor 1)."""
    q, k_t, v = t(0, bh, length, e), t(11, bh, e, keys), t(2, bh, keys, e)
    s = (bh, length, keys)
    ops = [
        op("aten.bmm.default", "matmul", t(3, *s), bh * length * keys * e, self=q, mat2=k_t),
        op("aten.mul.Tensor", "pointwise", t(4, *s), self=t(3, *s), other=0.125),
    ]
    last = 4
    if masked:
        mask = t(5, 1, length, keys)
        ops.append(op("aten.add.Tensor", "pointwise", t(6, *s), self=t(4, *s), other=mask))
        last = 6
    ops += [
        op("aten._softmax.default", "reduction", t(7, *s), self=t(last, *s), dim=-1),
        op("aten.bmm.default", "matmul", t(8, bh, length, e), bh * length * keys * e,
           self=t(7, *s), mat2=v),
    ]  # fmt: skip
    return ops


def test_eager_attention_is_one_kernel_with_no_scores_in_memory():
    bh, length, e = 16, 128, 64
    ops = eager_attention(bh, length, length, e, masked=False)
    (kernel,) = kernels(ops, {11: 1})
    assert kernel.kind == "attention" and kernel.members == tuple(range(len(ops)))
    assert kernel.bytes_read == 3 * bh * length * e * F32  # Q, K and V once
    assert kernel.bytes_written == bh * length * e * F32
    assert kernel.arithmetic == attention_cost((bh, length, e), (bh, length, e), (bh, length, e))


def test_a_square_mask_is_taken_as_causal():
    bh, length, e = 4, 32, 16
    (kernel,) = kernels(eager_attention(bh, length, length, e, masked=True), {11: 1})
    assert kernel.arithmetic.macs == bh * causal_scores(length, length) * 2 * e
    assert kernel.arithmetic.macs == bh * (32 * 33 // 2) * 2 * e


def sdpa(q: TensorSpec, k: TensorSpec, v: TensorSpec, out: TensorSpec, **flags: object):
    return op(
        "aten._scaled_dot_product_flash_attention_for_cpu.default", "attention", (out,),
        attention_cost(q.shape, k.shape, v.shape).macs, query=q, key=k, value=v, **flags,
    )  # fmt: skip


def test_a_cache_append_writes_the_new_token_and_attention_reads_the_cache_once():
    # batch 2, 4 heads, 100 cached positions, 1 new, head 64, bf16: cat([past, new]) as
    # transformers' DynamicCache appends
    b, h, past, d = 2, 4, 100, 64
    kp, kn = t(0, b, h, past, d, dtype=torch.bfloat16), t(1, b, h, 1, d, dtype=torch.bfloat16)
    vp, vn = t(2, b, h, past, d, dtype=torch.bfloat16), t(3, b, h, 1, d, dtype=torch.bfloat16)
    k, v = (
        t(4, b, h, past + 1, d, dtype=torch.bfloat16),
        t(5, b, h, past + 1, d, dtype=torch.bfloat16),
    )
    q, out = t(6, b, h, 1, d, dtype=torch.bfloat16), t(7, b, h, 1, d, dtype=torch.bfloat16)
    ops = [
        op("aten.cat.default", "movement", k, tensors=(kp, kn), dim=-2),
        op("aten.cat.default", "movement", v, tensors=(vp, vn), dim=-2),
        sdpa(q, k, v, out),
    ]
    append_k, append_v, attention = kernels(ops, {})
    token = b * h * 1 * d * BF16
    assert (append_k.kind, append_k.bytes_read, append_k.bytes_written) == ("access", token, token)
    assert (append_v.bytes_read, append_v.bytes_written) == (token, token)
    assert attention.bytes_read == token + 2 * b * h * (past + 1) * d * BF16
    assert attention.bytes_written == token


def test_repeated_kv_heads_are_read_as_the_kv_heads():
    # 8 query heads share 2 KV heads: the code expands (a view, stride 0) and copies (clone)
    b, kv, rep, s, d = 1, 2, 4, 50, 32
    expanded = TensorSpec((b, kv, rep, s, d), (kv * s * d, s * d, 0, d, 1), "float32", 4, 1)
    v = t(5, b, kv * rep, s, d)
    q, out = t(6, b, kv * rep, s, d), t(7, b, kv * rep, s, d)
    ops = [
        op("aten.clone.default", "movement", t(2, b, kv, rep, s, d), self=expanded),
        sdpa(q, t(3, b, kv * rep, s, d), v, out, is_causal=True),
    ]
    (attention,) = kernels(ops, {1: 0, 3: 2})
    assert attention.members == (0, 1)  # the copy is the attention kernel's
    assert (
        attention.bytes_read == (b * kv * rep * s * d + b * kv * s * d + b * kv * rep * s * d) * 4
    )
    assert attention.arithmetic.macs == b * kv * rep * causal_scores(s, s) * 2 * d


def test_valid_keys_cap_a_static_cache():
    b, h, cache, d, valid = 1, 2, 1000, 16, 250
    q, k, v, out = t(0, b, h, 1, d), t(1, b, h, cache, d), t(2, b, h, cache, d), t(3, b, h, 1, d)
    (attention,) = kernels([sdpa(q, k, v, out, attn_mask=t(4, b, 1, 1, cache))], {},
                           valid_keys=lambda owner: valid)  # fmt: skip
    assert attention.bytes_read == (b * h * d + 2 * b * h * valid * d) * F32
    assert attention.arithmetic == attention_cost(
        (b * h, 1, d), (b * h, valid, d), (b * h, valid, d)
    )


def test_a_decode_step_reads_the_kv_cache_once():
    transformers = pytest.importorskip("transformers")
    from netcost.api import analyze
    from netcost.generation import _TwoCalls

    config = transformers.LlamaConfig(
        hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, vocab_size=100,
    )  # fmt: skip
    for implementation in ("eager", "sdpa"):
        config._attn_implementation = implementation
        with torch.device("meta"):
            model = transformers.LlamaForCausalLM(config)
        wrapper = _TwoCalls(model)
        report = analyze(wrapper, wrapper.inputs(3, 10, 10))
        flat = flat_ops(report)
        step = max(m.index for m in report.modules if m.path == "lm")
        under = {m.index for m in report.modules if m.index >= step}
        found = [k for k in kernels(flat, report.aliases) if flat[k.members[0]].owner in under]
        attention = [k for k in found if k.kind == "attention"]
        appends = [k for k in found if k.kind == "access" and "cat" in flat[k.members[0]].op]
        batch, kv_heads, head, context = 3, 2, 16, 11
        assert len(attention) == 2 and len(appends) == 4, implementation
        for k in appends:  # one position of K or V, per layer
            assert k.bytes_written == batch * kv_heads * 1 * head * F32
        for k in attention:  # the query, and K and V over the 11 positions once
            kv = 2 * batch * kv_heads * context * head * F32
            assert k.bytes_read == batch * 4 * 1 * head * F32 + kv, implementation


def test_timing_a_fused_mlp_by_hand():
    """Linear(64→256) → GELU → Linear(256→10) at batch 8, fp32, on an H100 SXM: two kernels,
    the GELU the first product's epilogue."""
    from torch import nn

    import netcost

    model = nn.Sequential(nn.Linear(64, 256), nn.GELU(), nn.Linear(256, 10))
    fused = netcost.analyze(model, torch.randn(8, 64), device="h100-sxm")
    eager = fused.on("h100-sxm", kernels="eager")
    assert (fused.time.kernels, fused.time.kernel_count) == ("fused", 2)
    assert (eager.time.kernels, eager.time.kernel_count) == ("eager", 3)
    bandwidth, fp32 = 3350e9, 66.9e12  # H100 SXM: no fp32 matrix peak, the vector one
    first_flops = 2 * 8 * 64 * 256 + 8 * 256 + 8 * 256  # products, bias, GELU (1 each)
    first_bytes = (256 + 8 * 64 + 256 * 64 + 8 * 256) * F32  # bias, x, W read; GELU out written
    second_flops = 2 * 8 * 256 * 10 + 8 * 10
    second_bytes = (10 + 8 * 256 + 10 * 256 + 8 * 10) * F32
    expected = max(first_flops / fp32, first_bytes / bandwidth) + max(
        second_flops / fp32, second_bytes / bandwidth
    )
    assert fused.time.inference_s == pytest.approx(expected, rel=1e-12)
    # eager: the product's result written, then read and written again by the GELU
    gelu = max(8 * 256 / fp32, 2 * 8 * 256 * F32 / bandwidth)
    first_eager = max((first_flops - 8 * 256) / fp32, (first_bytes + 0) / bandwidth)
    assert eager.time.inference_s == pytest.approx(
        first_eager + gelu + max(second_flops / fp32, second_bytes / bandwidth), rel=1e-12
    )
    assert fused.to_dict()["time"]["kernels"] == "fused"
    assert "Kernels: fused, as engines run the model" in str(fused.time)


def test_a_training_steps_phases_never_share_a_kernel():
    x = t(0, 100)
    forward = op("aten.relu.default", "pointwise", t(1, 100), self=x)
    backward = replace(
        op("aten.threshold_backward.default", "backward", t(2, 100), grad_output=t(1, 100),
           self=x, threshold=0),
        owner=1,
    )  # fmt: skip
    assert len(kernels([forward, backward], {})) == 1
    split = kernels([forward, backward], {}, across_owners=False)
    assert [k.members for k in split] == [(0,), (1,)]
    # the forward's result crosses memory: written by one, read by the other
    assert (split[0].bytes_read, split[0].bytes_written) == (100 * F32, 100 * F32)
    assert (split[1].bytes_read, split[1].bytes_written) == (200 * F32, 100 * F32)
