"""Quantised serving (--weight-dtype, --kv-dtype): weights' and the cache's bytes at their
widths, fp8 products on fp8 units, by hand on a small Llama."""

from __future__ import annotations

import pytest
import torch

from netcost.analysis.fusion import flat_ops, kernels, quantised
from netcost.errors import NetcostError

transformers = pytest.importorskip("transformers")

H, F, LAYERS, VOCAB, HEADS, KV_HEADS = 64, 128, 2, 100, 4, 2
HEAD = H // HEADS


def llama():  # type: ignore[no-untyped-def]
    config = transformers.LlamaConfig(
        hidden_size=H, intermediate_size=F, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
        num_key_value_heads=KV_HEADS, vocab_size=VOCAB,
    )  # fmt: skip
    with torch.device("meta"):
        return transformers.LlamaForCausalLM(config).to(torch.bfloat16)


#: every matrix product's weight quantised: q and o H·H, k and v H·(KV·HEAD), the MLP 3·H·F;
#: not the LM head's (H·VOCAB), which ModelOpt's, vLLM's and AWQ/GPTQ's recipes leave unquantised
MATRIX = LAYERS * (2 * H * H + 2 * H * KV_HEADS * HEAD + 3 * H * F)


def test_weights_and_cache_at_their_widths():
    from netcost.generation import generate

    model = llama()
    plain = generate(model, 10, 4, 3)
    narrow = generate(model, 10, 4, 3, weight_dtype="fp8", kv_dtype="fp8")
    assert plain.weight_bytes == sum(p.numel() for p in model.parameters()) * 2
    assert narrow.weight_bytes == plain.weight_bytes - MATRIX * (2 - 1)
    four = generate(model, 10, 4, 3, weight_dtype="int4")
    assert four.weight_bytes == plain.weight_bytes - MATRIX * 2 + MATRIX // 2
    # per token and sequence: K and V of KV heads · HEAD per layer, 1 byte each in fp8
    assert narrow.kv_cache_bytes_per_token == 2 * LAYERS * KV_HEADS * HEAD * 1
    assert plain.kv_cache_bytes_per_token == 2 * LAYERS * KV_HEADS * HEAD * 2
    assert narrow.kv_cache_bytes == plain.kv_cache_bytes // 2
    assert (
        narrow.serving_peak_bytes
        == plain.serving_peak_bytes
        - MATRIX
        - (plain.kv_cache_bytes - plain.kv_cache_bytes_first) // 2
    )
    assert narrow.to_dict()["weight_dtype"] == "fp8"


def test_fp8_products_read_one_byte_a_weight_and_run_on_fp8_units():
    from netcost.api import analyze
    from netcost.generation import _TwoCalls

    wrapper = _TwoCalls(llama())
    report = analyze(wrapper, wrapper.inputs(2, 5, 5))
    flat = flat_ops(report)
    narrow = quantised(flat, report.aliases, "fp8")
    lm_head = [i for i, o in enumerate(flat) if o.cost.macs and o.inputs[-1].shape == (H, VOCAB)]
    assert len(lm_head) == 2  # the prompt's last position, then the step's token
    (kernel,) = [k for k in kernels(narrow, report.aliases) if k.members[0] == lm_head[-1]]
    # the step's one hidden state per sequence (bf16) and the head's weight at 1 byte
    assert kernel.bytes_read == 2 * H * 2 + H * VOCAB * 1
    assert kernel.bytes_written == 2 * VOCAB * 2
    assert narrow[lm_head[-1]].dtype == "float8_e4m3fn"
    assert quantised(flat, report.aliases, "int8")[lm_head[-1]].dtype == ""  # weight-only
    # generate() keeps the model's output head at its width, as the engines' recipes do
    kept = quantised(flat, report.aliases, "fp8", kept=("lm.lm_head",))
    assert kept[lm_head[-1]] == flat[lm_head[-1]]
    (head,) = [k for k in kernels(kept, report.aliases) if k.members[0] == lm_head[-1]]
    assert head.bytes_read == 2 * H * 2 + H * VOCAB * 2


def test_bad_widths_are_one_line_errors():
    from netcost.generation import generate

    model = llama()
    with pytest.raises(NetcostError, match="unknown weight dtype 'fp4'; choose one of"):
        generate(model, 4, 2, weight_dtype="fp4")
    with pytest.raises(NetcostError, match="unknown KV dtype 'int4'"):
        generate(model, 4, 2, kv_dtype="int4")
    with pytest.raises(NetcostError, match="--kernels fused"):
        generate(model, 4, 2, device="h100-sxm", kernels="eager", weight_dtype="fp8")


def test_the_bytes_the_kernels_move_beside_the_ops_own():
    """Eager, every op is its own kernel: the kernels move exactly the rows' bytes. Fused, less,
    but never less than every matrix weight read once (bf16: 2 bytes each)."""
    from netcost.generation import generate

    model = llama()
    eager = generate(model, 10, 4, 1, device="h100-sxm", kernels="eager")
    assert eager.moved == {
        "prefill": eager.prefill.bytes_moved,
        "decode_first": eager.decode_first.bytes_moved,
        "decode_last": eager.decode_last.bytes_moved,
        "decode_total": eager.decode_total.bytes_moved,
    }
    fused = generate(model, 10, 4, 1, device="h100-sxm")
    for key, ops in (("prefill", fused.prefill), ("decode_last", fused.decode_last)):
        assert 2 * MATRIX <= fused.moved[key] < ops.bytes_moved, key
    assert "Moved by those kernels: prefill" in str(fused) and "Moved by" not in str(eager)
    assert fused.to_dict()["kernel_bytes"] == fused.moved
