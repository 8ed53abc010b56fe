"""Serving at concurrency (netcost/serving.py): closed-loop clients under iteration-level
batching, on hand-made step times — every time below by hand, step by step."""

from __future__ import annotations

import pytest
import torch

from netcost.errors import UnsupportedError, UsageError
from netcost.serving import Scheduler, StepTimes, admitted, serve, simulate


def flat(prompt: int = 100, new: int = 3, batch: int = 2) -> StepTimes:
    """A prefill of 0.5 s a prompt; decode steps of 0.1 s for one sequence, 0.1 s more for
    each other one (at `batch` = 2: 0.2 s), whatever the context."""
    return StepTimes(prompt, new, 0.5, (0.1, 0.1), (0.2, 0.2), batch)


def test_one_client_waits_for_its_own_prefill_and_decode_steps_only():
    # P = 100, NEW = 5: the prefill (0.5 s) makes token 1; steps at 101…104 positions make
    # tokens 2…5 in 0.10, 0.11, 0.12, 0.13 s (affine between first and last)
    steps = StepTimes(100, 5, 0.5, (0.10, 0.13), (0.10, 0.13), 1)
    served = simulate(1, steps, running=1, rounds=6, warmup=1)
    assert served.ttft_s == pytest.approx(0.5)
    assert served.tpot_s == pytest.approx((0.10 + 0.11 + 0.12 + 0.13) / 4)
    assert served.request_s == pytest.approx(0.96)
    # 5 measured requests of 5 tokens between the end of the first (0.96 s) and the sixth
    assert served.requests == 5
    assert served.output_tokens_per_s == pytest.approx(5 * 5 / (6 * 0.96 - 0.96))


def test_prompts_the_budget_holds_share_one_step_and_decode_together():
    # two prompts of 100 in a budget of 8,192: one step of 2 · 0.5 s; then both decode at
    # batch 2 (0.2 s a step); they finish together and their clients send again together
    served = simulate(2, flat(new=5), running=2)
    assert served.ttft_s == pytest.approx(1.0)
    assert served.tpot_s == pytest.approx(0.2)
    assert served.request_s == pytest.approx(1.0 + 4 * 0.2)


def test_a_prompt_past_the_budget_is_chunked_and_a_mixed_step_reads_the_weights_once():
    # budget 150, P = 100, NEW = 3, two clients at t = 0:
    # step 1: prompt 1 whole and 50 of prompt 2: 0.5 · 150/100 = 0.75 s → r1's token 1
    # step 2: r1 decodes (1 of the budget), prompt 2's last 50: 0.25 + max(0.1 − 0.1, 0) =
    #         0.25 s → t = 1.0: r2's token 1, r1's token 2
    # step 3: both decode: 0.2 s → t = 1.2: r1 ends (token 3), its client sends r3
    # step 4: r2 decodes, r3's whole prompt: 0.5 + 0 → t = 1.7: r2 ends
    served = simulate(2, flat(), running=2, scheduler=Scheduler(token_budget=150), rounds=1,
                      warmup=0)  # fmt: skip
    assert served.ttft_s == pytest.approx((0.75 + 1.0) / 2)
    assert served.tpot_s == pytest.approx(((1.2 - 0.75) / 2 + (1.7 - 1.0) / 2) / 2)
    assert served.request_s == pytest.approx((1.2 + 1.7) / 2)
    assert served.output_tokens_per_s == pytest.approx(2 * 3 / 1.7)


def test_prefill_first_pauses_decoding_while_a_prompt_is_filled():
    # as above, but step 2 prefills only (r1 waits): 0.25 s → t = 1.0; then both decode twice
    # (0.2 s each): r1 and r2 end at 1.4
    served = simulate(2, flat(), running=2, scheduler=Scheduler(token_budget=150, mixed=False),
                      rounds=1, warmup=0)  # fmt: skip
    assert served.ttft_s == pytest.approx((0.75 + 1.0) / 2)
    assert served.tpot_s == pytest.approx(((1.4 - 0.75) / 2 + (1.4 - 1.0) / 2) / 2)


def test_a_request_the_cache_cannot_hold_waits_for_one_to_end():
    # room for one: r1 prefills (0.5) and decodes once (0.1), ending at 0.6; only then r2
    # is admitted, its token 1 at 1.1 s after it was sent at 0
    served = simulate(2, flat(new=2), running=1, rounds=1, warmup=0)
    assert served.ttft_s == pytest.approx((0.5 + 1.1) / 2)
    assert served.request_s == pytest.approx((0.6 + 1.2) / 2)


def test_the_cache_admits_whole_requests_or_their_mean_context():
    # 1 MB of cache, 100 bytes a token: 1e6 / (100 · (900 + 100)) = 10 whole requests of
    # 900 + 100 tokens; at their mean context, 1e6 / (100 · (700 + 600 / 2)) = 10 requests of
    # 700 + 600, where 7 whole ones fit (1e6 / (100 · 1,300) = 7.7)
    assert admitted(1e6, 100, 900, 100, Scheduler()) == 10
    assert admitted(1e6, 100, 700, 600, Scheduler(reserve_whole=False)) == 10
    assert admitted(1e6, 100, 700, 600, Scheduler()) == 7


def test_bad_serving_input_is_a_one_line_error():
    with pytest.raises(UsageError, match="1 client or more"):
        simulate(0, flat(), running=1)
    with pytest.raises(UsageError, match="token budget of 2 leaves no room"):
        simulate(4, flat(), running=4, scheduler=Scheduler(token_budget=2))
    with pytest.raises(UsageError, match="warm-up rounds"):
        simulate(1, flat(), running=1, rounds=1, warmup=1)


def _llama() -> torch.nn.Module:
    transformers = pytest.importorskip("transformers")
    config = transformers.LlamaConfig(
        hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, vocab_size=100,
    )  # fmt: skip
    with torch.device("meta"):
        model = transformers.LlamaForCausalLM(config)
    return model.to(torch.bfloat16)


def test_one_client_is_served_as_generate_estimates_one_request(monkeypatch):
    """serve() at concurrency 1 is generate's estimate: its prefill, then its decode steps."""
    import netcost
    from netcost.gpu_tables import Curve, GemmTable, Tables

    gemm = GemmTable({(128, 64): Curve((1.0, 64.0), (2e-6, 4e-6))})
    hand = Tables("test", "hand-made tables", {"bfloat16": gemm}, None, None, 1e12, 1e-6)
    monkeypatch.setattr("netcost.analysis.timing.gpu_tables", lambda device: hand)
    model = _llama()
    g = netcost.generate(model, 40, 8, 1, device="h100-sxm")
    served = serve(model, 40, 8, 1, device="h100-sxm")
    assert served.running == 1
    assert served.ttft_s == pytest.approx(g.estimate["time_to_first_token_s"])
    assert served.tpot_s == pytest.approx(g.estimate["decode_s"] / 7)


def test_serving_without_measured_tables_says_so():
    with pytest.raises(UnsupportedError, match="timed by the calibrated estimate"):
        serve(_llama(), 40, 8, 4, device="h100-sxm")


TINY = ("hf:llama:hidden_size=64,intermediate_size=128,num_hidden_layers=2,"
        "num_attention_heads=4,num_key_value_heads=2,vocab_size=100")  # fmt: skip


def test_the_command_line_serves_clients_beside_the_generation(monkeypatch):
    import json

    from netcost.cli import run
    from netcost.gpu_tables import Curve, GemmTable, Tables

    gemm = GemmTable({(128, 64): Curve((1.0, 64.0), (2e-6, 4e-6))})
    hand = Tables("test", "hand-made tables", {"bfloat16": gemm}, None, None, 1e12, 1e-6)
    monkeypatch.setattr("netcost.analysis.timing.gpu_tables", lambda device: hand)
    args = [TINY, "--generate", "40:8", "--device", "h100-sxm", "--concurrency", "4"]
    text = run([*args, "--token-budget", "100"])
    served = text[text.index("Served to 4 clients") :].splitlines()
    assert served[0] == (
        "Served to 4 clients at fixed concurrency on h100-sxm (calibrated estimate; simulated: "
        "each client sends its next request when one returns, 20 requests measured after a "
        "first round)"
    )
    assert served[1] == (
        "  scheduler: 100 tokens a step, prompts chunked beside decode tokens, whole requests "
        "reserved in the KV cache: 4 running at most"
    )
    assert served[2].startswith("  time to first token ")
    data = json.loads(run([*args, "--format", "json"]))["serving"]
    assert (data["clients"], data["running"], data["token_budget"]) == (4, 4, 8192)
    assert data["time_to_first_token_s"] > 0 and data["device"] == "h100-sxm"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--concurrency", "4"], "--concurrency needs --generate"),
        (["--generate", "40:8", "--token-budget", "100"], "--token-budget needs --concurrency"),
        (["--generate", "40:8", "--concurrency", "4"], "--concurrency times a server on a GPU"),
        (["--generate", "40:8", "--concurrency", "4", "--device", "h100-sxm", "--memory"],
         "--concurrency does not apply to a serving plan"),
    ],
)  # fmt: skip
def test_serving_flags_out_of_place_are_one_line_errors(args, message):
    from netcost.cli import run

    with pytest.raises(UsageError, match=message):
        run([TINY, *args])
