"""Generation through the model's own KV cache: prefill, decode steps, cache bytes, checked by
hand on small configs and against a real tiny model's generate() on the CPU."""

from __future__ import annotations

import json

import pytest
import torch

import netcost
from conftest import tiny_llama
from netcost.cli import run
from netcost.generation import _TwoCalls, generate
from netcost.sources import resolve

pytest.importorskip("transformers")

# LLaMA with grouped-query attention: 4 heads of 16 sharing 2 key/value heads, 2 layers
TINY_LLAMA = (
    "hf:llama:hidden_size=64,intermediate_size=128,num_hidden_layers=2,num_attention_heads=4,"
    "num_key_value_heads=2,vocab_size=100,max_position_embeddings=256"
)


def real_cache_bytes(source: str, batch: int, prompt: int, new: int, **options: object) -> int:
    """Bytes of the cache a real tiny model (built from the `hf:` source's keys, seeded
    weights) holds after a greedy generate() of `new` tokens on a `prompt`-token batch."""
    import transformers

    from netcost.generation import _cache_bytes

    model_type, _, keys = source.removeprefix("hf:").partition(":")
    fields = {k: int(v) for k, v in (item.split("=") for item in keys.split(","))}
    config = transformers.AutoConfig.for_model(model_type, **fields)
    torch.manual_seed(0)
    auto = (
        transformers.AutoModelForSeq2SeqLM
        if config.is_encoder_decoder
        else transformers.AutoModelForCausalLM
    )
    real = auto.from_config(config).eval()
    with torch.no_grad():
        out = real.generate(torch.randint(0, 100, (batch, prompt)), max_new_tokens=new,
                            min_new_tokens=new, do_sample=False, return_dict_in_generate=True,
                            pad_token_id=0, **options)  # fmt: skip
    return _cache_bytes(out.past_key_values)


def decode_macs(context: int) -> int:
    """One token through TINY_LLAMA attending to `context` positions: per layer the projections
    q, o 64·64 and k, v 64·32 (12,288), the MLP 3·64·128 (24,576) and attention 2·4·16·context;
    then the LM head 64·100."""
    return 2 * (12_288 + 24_576 + 2 * 4 * 16 * context) + 64 * 100


def test_decode_costs_by_hand_and_the_kv_cache_per_token():
    model = resolve(TINY_LLAMA, causal_lm=True).model
    g = generate(model, 10, 6)
    assert g.decode_first.macs == decode_macs(11)
    assert g.decode_last.macs == decode_macs(15)
    assert g.decode_total.macs == sum(decode_macs(c) for c in range(11, 16))
    # 2 (keys, values) · 2 layers · 2 key/value heads · 16 · 4 bytes
    assert g.kv_cache_bytes_per_token == 2 * 2 * 2 * 16 * 4
    assert g.kv_cache_bytes == 2 * 2 * 2 * 16 * 4 * 15


def test_the_affine_law_equals_every_step_analysed_one_by_one():
    model = resolve(TINY_LLAMA, causal_lm=True).model
    g = generate(model, 7, 5, batch=2)
    steps = []
    for fed in range(7, 11):  # step k feeds a cache of `fed` positions
        report = netcost.analyze(
            _TwoCalls(model),
            {
                "input_ids": torch.zeros(2, fed, dtype=torch.int64, device="meta"),
                "next_ids": torch.zeros(2, 1, dtype=torch.int64, device="meta"),
            },
        )
        steps.append([m for m in report.modules if m.path == "lm"][1].cost)
    total = steps[0]
    for s in steps[1:]:
        total = total + s
    assert g.decode_total == total


def test_the_kv_cache_equals_a_real_generate_on_the_cpu():
    """A real tiny model, real weights, greedy generate(): its cache's tensors after the last
    step hold PROMPT + NEW − 1 positions, byte for byte what netcost reports."""
    real_bytes = real_cache_bytes(TINY_LLAMA, 3, 12, 5)
    g = generate(resolve(TINY_LLAMA, causal_lm=True).model, 12, 5, batch=3)
    assert g.kv_cache_bytes == real_bytes == 3 * 2 * 2 * 2 * 16 * 4 * (12 + 5 - 1)


def test_gpt2_counts_its_tied_embedding_once_and_caches_every_head():
    model = resolve(
        "hf:gpt2:n_layer=2,n_embd=64,n_head=4,vocab_size=100,n_positions=64", causal_lm=True
    ).model
    g = generate(model, 8, 3)
    embeddings = 100 * 64 + 64 * 64  # tokens and positions; the LM head is the token table
    per_layer = 4 * 64 + 64 * 64 * 3 + 64 * 3 + 64 * 64 + 64 + 64 * 256 + 256 + 256 * 64 + 64
    assert g.params == embeddings + 2 * per_layer + 2 * 64
    assert g.kv_cache_bytes_per_token == 2 * 2 * 4 * 16 * 4


def step_cost(model, batch: int, context: int) -> netcost.Cost:  # type: ignore[no-untyped-def]
    report = netcost.analyze(
        _TwoCalls(model),
        {
            "input_ids": torch.zeros(batch, context - 1, dtype=torch.int64, device="meta"),
            "next_ids": torch.zeros(batch, 1, dtype=torch.int64, device="meta"),
        },
    )
    return [m for m in report.modules if m.path == "lm"][1].cost


@pytest.mark.parametrize(("prompt", "new"), [(4, 12), (9, 5), (7, 3)])
def test_a_sliding_window_is_summed_exactly(prompt, new):
    """Mistral with an 8-position window: decode steps grow up to it and stay level past it (the
    step at the window itself has its own masks); the piecewise sum equals every step analysed
    one by one, whether the window falls inside the decode, before it or at its end."""
    model = resolve(
        "hf:mistral:hidden_size=64,intermediate_size=128,num_hidden_layers=1,"
        "num_attention_heads=4,num_key_value_heads=2,vocab_size=100,sliding_window=8",
        causal_lm=True,
    ).model
    g = generate(model, prompt, new)
    total = netcost.Cost()
    for context in range(prompt + 1, prompt + new):
        total = total + step_cost(model, 1, context)
    assert g.decode_total == total
    assert any("sliding window of 8 positions" in note for note in g.notes)


def test_the_command_line_and_its_json():
    data = json.loads(
        run([TINY_LLAMA, "--generate", "10:6:2", "--device", "h100-sxm", "-f", "json"])
    )
    g = data["generation"]
    assert {"prompt_tokens", "new_tokens", "batch", "prefill", "decode_total", "decode_first",
            "decode_last", "kv_cache_bytes_per_token", "kv_cache_bytes"} <= set(g)  # fmt: skip
    assert g["decode_first"]["macs"] == 2 * decode_macs(11)
    assert set(g["prefill"]) == {"macs", "flops", "bytes_read", "bytes_written"}
    assert g["times_s"]["time_to_first_token_s"] > 0
    text = run([TINY_LLAMA, "--generate", "10:6"])
    assert text.startswith("Generation of hf:llama")
    with pytest.raises(netcost.NetcostError, match="write PROMPT:NEW or PROMPT:NEW:BATCH"):
        run([TINY_LLAMA, "--generate", "ten:6"])
    with pytest.raises(
        netcost.NetcostError, match="is neither a causal language model nor an encoder-decoder"
    ):
        run(["hf:vit", "--generate", "10:6"])


def test_a_mixture_of_experts_says_which_experts_a_decode_step_touches():
    """Mixtral, 8 experts of 3 · 64 · 128 weights in each of 2 layers, top-2: a decode step of
    one token touches 2 experts a layer (2 · 2 · 24,576 · 4 B = 384 KiB of 1.5 MiB); of 3 tokens,
    min(8, 6) = 6."""
    source = (
        "hf:mixtral:hidden_size=64,intermediate_size=128,num_hidden_layers=2,"
        "num_attention_heads=4,num_key_value_heads=2,vocab_size=100,num_local_experts=8,"
        "num_experts_per_tok=2"
    )
    model = resolve(source, causal_lm=True).model
    (note,) = generate(model, 16, 4).notes
    assert "top-2 of 8" in note and "384.00 KiB of the experts' 1.50 MiB" in note
    assert 2 * 2 * 3 * 64 * 128 * 4 == 384 * 1024 and 2 * 8 * 3 * 64 * 128 * 4 == 1.5 * 2**20
    (note,) = generate(model, 16, 2, batch=3).notes
    assert 2 * 6 * 3 * 64 * 128 * 4 == 1.125 * 2**20  # 6 of 8 experts a layer
    assert "1.12 MiB of the experts' 1.50 MiB" in note
    assert generate(model, 16, 4).kv_cache_bytes_per_token == 2 * 2 * 2 * 16 * 4
    assert generate(model, 16, 4).expert_bytes_touched == 384 * 1024
    # a decode step's bytes grow with the router (64 · E · 4 B a layer), not with the experts
    more = resolve(source.replace("local_experts=8", "local_experts=64"), causal_lm=True).model
    first, wider = generate(model, 16, 2).decode_first, generate(more, 16, 2).decode_first
    router = 2 * 64 * 56 * 4  # 2 layers' extra router columns
    assert 0 <= wider.bytes_read - first.bytes_read - router < 4 * 1024


def test_a_serving_plan_fits_its_budget_and_finds_where_decode_turns_compute_bound():
    """The plan's batch fits the budget and one more does not (each checked by generate at that
    batch). The batch given for compute-bound decode on a T4 (fp32 at its 8.1 TFLOP/s vector
    peak, 320 GB/s) is compute-bound there when its first decode step is analysed directly at
    that batch, with the bytes the T4's kernels move (fused, its default), and the batch before
    it is not: the affine extrapolation holds against direct analyses. (A 512-wide model:
    narrower ones' element-wise traffic keeps decode memory-bound at any batch.)"""
    from netcost.devices import load
    from netcost.generation import serving_plan

    model = resolve(TINY_LLAMA, causal_lm=True).model
    budget = 4 * 2**20
    plan = serving_plan(model, 10, 6, budget)
    assert plan.batch > 1
    assert generate(model, 10, 6, plan.batch).serving_peak_bytes <= budget
    assert generate(model, 10, 6, plan.batch + 1).serving_peak_bytes > budget
    wide = resolve(
        "hf:llama:hidden_size=512,intermediate_size=2048,num_hidden_layers=1,"
        "num_attention_heads=4,num_key_value_heads=2,vocab_size=100",
        causal_lm=True,
    ).model
    t4 = load("t4")
    b = serving_plan(wide, 10, 2, 10**12, device="t4").compute_bound_batch
    assert b is not None and b > 1

    def compute_bound(batch: int) -> bool:
        g = generate(wide, 10, 2, batch, device="t4")
        return g.decode_first.flops / 8.1e12 >= g.moved["decode_first"] / t4.bandwidth

    assert compute_bound(b) and not compute_bound(b - 1)


def test_mixtral_decode_counts_the_router_and_two_experts_by_hand():
    """Mixtral, top-2 of 8 experts: one decoded token goes through its router (64 · 8) and two
    experts (2 · 3 · 64 · 128) a layer, under the balanced routing netcost states."""
    source = (
        "hf:mixtral:hidden_size=64,intermediate_size=128,num_hidden_layers=2,"
        "num_attention_heads=4,num_key_value_heads=2,vocab_size=100,num_local_experts=8,"
        "num_experts_per_tok=2"
    )
    g = generate(resolve(source, causal_lm=True).model, 10, 6)

    def macs(context: int) -> int:
        per_layer = 12_288 + 64 * 8 + 2 * 3 * 64 * 128 + 2 * 4 * 16 * context
        return 2 * per_layer + 64 * 100

    assert g.decode_first.macs == macs(11)
    assert g.decode_last.macs == macs(15)
    assert g.decode_total.macs == sum(macs(c) for c in range(11, 16))


DEEPSEEK_V3 = (
    "hf:deepseek_v3:hidden_size=64,intermediate_size=128,moe_intermediate_size=32,"
    "num_hidden_layers=2,first_k_dense_replace=1,num_attention_heads=4,num_key_value_heads=4,"
    "n_routed_experts=8,num_experts_per_tok=2,n_shared_experts=1,n_group=1,topk_group=1,"
    "q_lora_rank=24,kv_lora_rank=16,qk_rope_head_dim=8,qk_nope_head_dim=16,v_head_dim=16,"
    "vocab_size=100"
)


def deepseek_decode_macs(context: int) -> int:
    """One token through DEEPSEEK_V3 at `context` positions. Latent attention per layer: q_a
    64·24 and q_b 24·(4·24), the latent 64·(16 + 8), o 64·64; the cache holds latents, so each
    step expands every position again with kv_b (16 · 4·(16 + 16)) before the scores (4 heads ·
    24) and the values (4 · 16). Layer 0 has a dense MLP (3·64·128); layer 1 a router (64·8),
    top-2 experts (2 · 3·64·32) and one shared expert (3·64·32). Then the LM head 64·100."""
    attention = 64 * 24 + 24 * 96 + 64 * 24 + 64 * 64 + context * (16 * 128 + 4 * 24 + 4 * 16)
    mlps = 3 * 64 * 128 + 64 * 8 + 2 * 3 * 64 * 32 + 3 * 64 * 32
    return 2 * attention + mlps + 64 * 100


def test_deepseek_v3_latent_attention_and_shared_experts_by_hand():
    """DeepSeek-V3's cache holds, per layer and token, its 16-wide latent and its 8-wide rotary
    key: (16 + 8) · 2 layers · 4 B = 192 B, not the 4 · (24 + 16) expanded keys and values; the
    same bytes a real tiny model's generate() leaves in its cache on the CPU."""

    model = resolve(DEEPSEEK_V3, causal_lm=True).model
    g = generate(model, 10, 6, batch=2)
    assert g.kv_cache_bytes_per_token == (16 + 8) * 2 * 4
    assert g.decode_first.macs == 2 * deepseek_decode_macs(11)
    assert g.decode_last.macs == 2 * deepseek_decode_macs(15)
    assert g.decode_total.macs == 2 * sum(deepseek_decode_macs(c) for c in range(11, 16))
    assert g.active_params is not None
    # active: everything but 6 of layer 1's 8 routed experts (3 · 64 · 32 weights each)
    assert g.params - g.active_params == 6 * 3 * 64 * 32

    assert real_cache_bytes(DEEPSEEK_V3, 2, 10, 6) == g.kv_cache_bytes == 2 * 192 * (10 + 6 - 1)


T5 = "hf:t5:d_model=64,d_ff=128,num_layers=2,num_heads=4,d_kv=16,vocab_size=100"


def t5_decode_macs(context: int, prompt: int) -> int:
    """One token through TINY T5's 2 decoder layers: self-attention projections 4·64·64 and its
    scores and values 2·4·16·context, cross-attention q and o 2·64·64 (its keys and values were
    cached from the encoded prompt) and 2·4·16·prompt, the ReLU MLP 2·64·128; the LM head 64·100."""
    per_layer = 4 * 64 * 64 + 2 * 4 * 16 * context + 2 * 64 * 64 + 2 * 4 * 16 * prompt
    return 2 * (per_layer + 2 * 64 * 128) + 64 * 100


def test_an_encoder_decoder_encodes_once_then_decodes_through_both_caches():
    """T5: the prefill is the encoder on the prompt (per layer 4·64·64·10 projections, 2·4·16·10²
    scores and values, 2·64·128·10 MLP) and the decoder on its start token, whose cross-attention
    computes the encoded keys and values once (2·64·64·10). Decode step k attends to k + 1
    decoded positions; the self-attention cache grows by 2 layers · (keys, values) · 64 · 4 B a
    token, beside the cross-attention cache of the 10 encoded positions, as a real generate()
    leaves them."""

    g = generate(resolve(T5, causal_lm=True).model, 10, 6, batch=2)
    encoder = 2 * (4 * 64 * 64 * 10 + 2 * 4 * 16 * 10 * 10 + 2 * 64 * 128 * 10)
    first_decoder = t5_decode_macs(1, 10) + 2 * (2 * 64 * 64 * 10)
    assert g.prefill.macs == 2 * (encoder + first_decoder)
    assert (g.first_context, g.last_context) == (2, 6)
    assert g.decode_first.macs == 2 * t5_decode_macs(2, 10)
    assert g.decode_last.macs == 2 * t5_decode_macs(6, 10)
    assert g.decode_total.macs == 2 * sum(t5_decode_macs(c, 10) for c in range(2, 7))
    assert g.kv_cache_bytes_per_token == 2 * 2 * 64 * 4
    assert g.kv_cache_bytes == 2 * (2 * 2 * 64 * 4) * (6 + 10)

    assert real_cache_bytes(T5, 2, 10, 6, decoder_start_token_id=0) == g.kv_cache_bytes
    text = run([T5, "--generate", "10:6"])
    assert "(encoder on 10 tokens, decoder on its start token)" in text
    assert "attends to 6 positions and 10 encoded" in text
    with pytest.raises(
        netcost.NetcostError, match="hf:whisper is an encoder-decoder whose encoder"
    ):
        run(["hf:whisper:encoder_layers=1,decoder_layers=1", "--generate", "10:6"])


def test_a_static_cache_is_allocated_up_front_and_attended_whole():
    """A static cache holds PROMPT + NEW − 1 = 15 positions from the start (the last token is
    never fed): every decode step attends over all 15 (masked, as the kernel computes them), and
    its bytes are those a real generate() with cache_implementation="static" allocates."""
    model = resolve(TINY_LLAMA, causal_lm=True).model
    g = generate(model, 10, 6, batch=3, static_cache=True)
    assert g.decode_first.macs == g.decode_last.macs == 3 * decode_macs(15)
    assert g.decode_total.macs == 5 * 3 * decode_macs(15)
    assert g.kv_cache_bytes_per_token == 2 * 2 * 2 * 16 * 4
    assert any("static cache allocated for 15 positions" in note for note in g.notes)

    real = real_cache_bytes(TINY_LLAMA, 3, 10, 6, cache_implementation="static")
    assert real == g.kv_cache_bytes


def test_a_static_cache_costs_what_a_dynamic_one_does_as_engines_run_them():
    """In the fused view both write one position a step and attend over the valid positions
    only: the static cache's unused positions are never read. The two step times differ by
    far less than reading those positions would take (what remains: the code's masks over the
    allocated length)."""
    model = tiny_llama()
    prompt, new, batch = 40, 30, 2
    static = netcost.generate(model, prompt, new, batch, device="h100-sxm", static_cache=True)
    dynamic = netcost.generate(model, prompt, new, batch, device="h100-sxm", static_cache=False)
    # the first step attends to 41 of the 69 allocated positions: 28 unused, each holding K
    # and V of 2 KV heads of 16 in 2 layers, float32, for 2 sequences
    unused = (prompt + new - 1 - (prompt + 1)) * 2 * 2 * 2 * 16 * 4 * batch
    first = "time_per_output_token_first_s"
    gap = abs(static.times[first] - dynamic.times[first])
    assert gap < 0.1 * unused / 3350e9  # H100 SXM's bandwidth
    eager = netcost.generate(model, prompt, new, batch, device="h100-sxm", static_cache=True,
                             kernels="eager")  # fmt: skip
    assert eager.times[first] > static.times[first]
