"""Training economics: FLOPs per token against 6·N and 6·N + 12·L·H·Q·T, MFU from a measured
step, and a run's duration, each by hand from the exact step compute."""

from __future__ import annotations

import math

import netcost
from netcost.analysis.economics import economics
from netcost.cli import run
from netcost.inputs import parse_input
from netcost.sources import resolve

TINY = (
    "hf:llama:hidden_size=64,intermediate_size=128,num_hidden_layers=2,num_attention_heads=4,"
    "vocab_size=100"
)


def report():  # type: ignore[no-untyped-def]
    model = resolve(TINY).model
    inputs = {"input_ids": netcost.api.shape_only(*parse_input("2x32:int64"))}
    return netcost.analyze(model, inputs, train=True, device="h100-sxm")


def test_flops_per_token_against_the_formulas_and_mfu_and_a_run():
    r = report()
    c = r.training_compute
    e = economics(r, step_time=0.001, train_tokens=10**9, devices=8)
    tokens = 2 * 32
    assert e.tokens == tokens
    assert e.flops_per_token == (c.forward.flops + c.backward.flops) // tokens
    # N outside the embedding table: per layer q, k, v, o 4·64·64 and the MLP 3·64·128, two
    # RMSNorm weights of 64; the final norm 64; the LM-head-free base model
    n = 2 * (4 * 64 * 64 + 3 * 64 * 128 + 2 * 64) + 64
    assert e.six_n == 6 * n
    assert e.with_attention == 6 * n + 12 * 2 * 4 * 16 * 32  # L·H·Q·T
    peak = 66.9e12  # fp32 matrix products on H100 run on the vector units (no TF32 by default)
    assert e.peak == peak
    assert e.mfu == (c.forward.flops + c.backward.flops) / 0.001 / peak
    assert e.run_seconds == 10**9 * (c.forward.flops + c.backward.flops) / tokens / (
        8 * peak * e.mfu
    )


def test_the_memory_view_shows_them():
    flags = "-i 2x32:int64 --train --device h100-sxm --tokens-per-second 64000 --train-tokens 1e9"
    text = run([TINY, *flags.split(), "--mfu", "0.4"])
    assert "Training FLOPs per token (forward + backward, 64 tokens a step)" in text
    assert "MFU of the measured step:" in text
    assert "1,000,000,000 tokens on 1 device at 40 % MFU:" in text


def test_figures_that_no_step_can_reach_are_refused():
    import pytest

    from netcost.errors import NetcostError

    r = report()
    flops = r.training_compute.forward.flops + r.training_compute.backward.flops
    fastest = flops / 66.9e12  # the step at exactly the fp32 peak: MFU 100 %
    assert economics(r, step_time=fastest).mfu == pytest.approx(1.0)
    with pytest.raises(NetcostError, match=r"MFU of 200 % .* fp32; dtype=bfloat16"):
        economics(r, step_time=fastest / 2)
    for kwargs, message in [
        ({"step_time": -1.0}, "--step-time must be positive and finite, not -1"),
        ({"step_time": 0.0}, "--step-time must be positive and finite, not 0"),
        ({"step_time": math.inf}, "--step-time must be positive and finite, not inf"),
        ({"step_time": math.nan}, "--step-time must be positive and finite, not nan"),
        ({"tokens_per_second": -3.0}, "--tokens-per-second must be positive"),
        ({"train_tokens": -5}, "--train-tokens must be positive and finite, not -5"),
        ({"step_time": 1.0, "tokens_per_second": 1e4}, "are one measurement: give one"),
        ({"train_tokens": 10**9, "mfu": 40.0}, r"--mfu must be in \(0, 1\]"),
        ({"train_tokens": 10**9, "mfu": 0.0}, r"--mfu must be in \(0, 1\]"),
    ]:
        with pytest.raises(NetcostError, match=message):
            economics(r, **kwargs)
    untimed = netcost.analyze(
        resolve(TINY).model,
        {"input_ids": netcost.api.shape_only(*parse_input("2x32:int64"))},
        train=True,
    )
    with pytest.raises(NetcostError, match="--step-time needs --device"):
        economics(untimed, step_time=1.0)


def test_hf_causal_lms_train_with_their_lm_head_and_json_has_the_economics():
    import json

    flags = "-i 2x32:int64 --train --device h100-sxm --step-time 0.5 --format json"
    data = json.loads(run([TINY, *flags.split()]))
    e = data["training"]["economics"]
    # the base model's N (as above) plus the LM head's 64 · 100 weights
    n = 2 * (4 * 64 * 64 + 3 * 64 * 128 + 2 * 64) + 64 + 64 * 100
    assert e["six_n"] == 6 * n
    flops = data["training"]["forward"]["flops"] + data["training"]["backward"]["flops"]
    assert e["flops_per_token"] == flops // 64
    assert e["mfu"] == flops / 0.5 / 66.9e12
