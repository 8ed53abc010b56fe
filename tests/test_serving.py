"""Serving at concurrency (netcost/serving.py): closed-loop clients under iteration-level
batching, on hand-made step times — every time below by hand, step by step."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from conftest import tiny_llama
from netcost.errors import UnsupportedError, UsageError
from netcost.serving import (
    ENGINES,
    Scheduler,
    Served,
    StepTimes,
    analysed_batch,
    positions,
    serve,
    served_floor,
    simulate,
    simulate_apart,
)  # fmt: skip


def hand_tables(monkeypatch: pytest.MonkeyPatch, dtype: str = "bfloat16") -> None:
    """Measured tables made by hand for every device: one GEMM curve of `dtype`."""
    from netcost.gpu_tables import Curve, GemmTable, Tables

    gemm = GemmTable({(128, 64): Curve((1.0, 64.0), (2e-6, 4e-6))})
    hand = Tables("test", "hand-made tables", {dtype: gemm}, None, None, 1e12, 1e-6)
    monkeypatch.setattr("netcost.analysis.timing.gpu_tables", lambda device: hand)


def flat(prompt: int = 100, new: int = 3, batch: int = 2) -> StepTimes:
    """A prefill of 0.5 s a prompt; decode steps of 0.1 s for one sequence, 0.1 s more for
    each other one (at `batch` = 2: 0.2 s), whatever the context."""
    return StepTimes(prompt, new, 0.5, (0.1, 0.1), (0.2, 0.2), batch)


def test_one_client_waits_for_its_own_prefill_and_decode_steps_only():
    # P = 100, NEW = 5: the prefill (0.5 s) makes token 1; steps at 101…104 positions make
    # tokens 2…5 in 0.10, 0.11, 0.12, 0.13 s (affine between first and last)
    steps = StepTimes(100, 5, 0.5, (0.10, 0.13), (0.10, 0.13), 1)
    served = simulate(1, steps, capacity=105, rounds=6, warmup=1)
    assert served.ttft_s == pytest.approx(0.5)
    assert served.tpot_s == pytest.approx((0.10 + 0.11 + 0.12 + 0.13) / 4)
    assert served.request_s == pytest.approx(0.96)
    # 5 measured requests of 5 tokens between the end of the first (0.96 s) and the sixth
    assert served.requests == 5
    assert served.output_tokens_per_s == pytest.approx(5 * 5 / (6 * 0.96 - 0.96))


def test_prompts_the_budget_holds_share_one_step_and_decode_together():
    # two prompts of 100 in a budget of 8,192: one step of 2 · 0.5 s; then both decode at
    # batch 2 (0.2 s a step); they finish together and their clients send again together
    served = simulate(2, flat(new=5), capacity=2 * 105)
    assert served.ttft_s == pytest.approx(1.0)
    assert served.tpot_s == pytest.approx(0.2)
    assert served.request_s == pytest.approx(1.0 + 4 * 0.2)


def test_clients_started_apart_stay_apart_and_interleave_their_prefills_with_decodes():
    # two clients, the second's first request at 2.0 / 2 = 1.0 s (P = 100, NEW = 3):
    # c1: prefill 0–0.5, decodes 0.5–0.6–0.7, ends; its next request prefills 0.7–1.2
    # c2 arrives at 1.0 mid-step, admitted at 1.2: its prefill beside c1's decode, 0.5 +
    #   max(0.1 − 0.1, 0) → 1.7; both decode (0.2) → 1.9: c1 ends, sends again
    # from there each request alone prefills beside the other's decode (0.5 s), decodes at
    # batch 2 (0.2 s), then decodes beside the other's prefill (0.5 s): TTFT 0.5 s, TPOT
    # (0.2 + 0.5) / 2, a request 1.2 s; in step (both at 0) both prompts share one step and
    # both decode at batch 2: TTFT 1.0 s, TPOT 0.2 s, a request 1.4 s
    apart = simulate(2, flat(), capacity=10_000, rounds=6, warmup=2, start=2.0)
    assert (apart.ttft_s, apart.tpot_s, apart.request_s) == pytest.approx((0.5, 0.35, 1.2))
    together = simulate(2, flat(), capacity=10_000, rounds=6, warmup=2)
    assert (together.ttft_s, together.tpot_s, together.request_s) == pytest.approx((1.0, 0.2, 1.4))
    # an idle server waits for the first request: one client starting late is served alone
    late = simulate(1, flat(), capacity=103, rounds=2, warmup=1, start=5.0)
    assert (late.ttft_s, late.request_s) == pytest.approx((0.5, 0.7))


def test_serving_reports_clients_apart_with_the_in_step_time_to_first_token_beside():
    # four clients, P = 100, NEW = 5: in step all four prompts share a step (2.0 s) and every
    # round queues them again; spread over that run's request latency they mostly do not
    steps = StepTimes(100, 5, 0.5, (0.1, 0.1), (0.4, 0.4), 4)
    together = simulate(4, steps, capacity=10_000)
    assert together.ttft_s == pytest.approx(2.0)
    served = simulate_apart(4, steps, capacity=10_000)
    assert served.ttft_in_step_s == together.ttft_s
    assert served == replace(simulate(4, steps, capacity=10_000, start=together.request_s),
                             ttft_in_step_s=together.ttft_s)  # fmt: skip
    assert served.ttft_s < 1.0  # under two prompts a step, on the mean


def test_a_prompt_past_the_budget_is_chunked_and_a_mixed_step_reads_the_weights_once():
    # budget 150, P = 100, NEW = 3, two clients at t = 0:
    # step 1: prompt 1 whole and 50 of prompt 2: 0.5 · 150/100 = 0.75 s → r1's token 1
    # step 2: r1 decodes (1 of the budget), prompt 2's last 50: 0.25 + max(0.1 − 0.1, 0) =
    #         0.25 s → t = 1.0: r2's token 1, r1's token 2
    # step 3: both decode: 0.2 s → t = 1.2: r1 ends (token 3), its client sends r3
    # step 4: r2 decodes, r3's whole prompt: 0.5 + 0 → t = 1.7: r2 ends
    served = simulate(2, flat(), capacity=2 * 103, scheduler=Scheduler(token_budget=150), rounds=1,
                      warmup=0)  # fmt: skip
    assert served.ttft_s == pytest.approx((0.75 + 1.0) / 2)
    assert served.tpot_s == pytest.approx(((1.2 - 0.75) / 2 + (1.7 - 1.0) / 2) / 2)
    assert served.request_s == pytest.approx((1.2 + 1.7) / 2)
    assert served.output_tokens_per_s == pytest.approx(2 * 3 / 1.7)


def test_prefill_first_pauses_decoding_while_a_prompt_is_filled():
    # as above, but step 2 prefills only (r1 waits): 0.25 s → t = 1.0; then both decode twice
    # (0.2 s each): r1 and r2 end at 1.4
    prefill_first = Scheduler(token_budget=150, mixed=False)
    served = simulate(2, flat(), capacity=2 * 103, scheduler=prefill_first, rounds=1, warmup=0)
    assert served.ttft_s == pytest.approx((0.75 + 1.0) / 2)
    assert served.tpot_s == pytest.approx(((1.4 - 0.75) / 2 + (1.4 - 1.0) / 2) / 2)


def test_a_request_the_cache_cannot_hold_waits_for_one_to_end():
    # room for one: r1 prefills (0.5) and decodes once (0.1), ending at 0.6; only then r2
    # is admitted, its token 1 at 1.1 s after it was sent at 0
    served = simulate(2, flat(new=2), capacity=102, rounds=1, warmup=0)
    assert served.ttft_s == pytest.approx((0.5 + 1.1) / 2)
    assert served.request_s == pytest.approx((0.6 + 1.2) / 2)
    # the same when the cache has room but the engine runs one request at a time
    one_at_a_time = simulate(2, flat(new=2), capacity=10_000, rounds=1, warmup=0,
                             scheduler=Scheduler(max_running=1))  # fmt: skip
    assert one_at_a_time.ttft_s == pytest.approx((0.5 + 1.1) / 2)


def test_a_cache_that_runs_out_pre_empts_the_latest_request_which_computes_again():
    # without whole reservations, 202 positions, P = 100, NEW = 3, two clients:
    # step 1: both prompts admitted (100 + 100 ≤ 202) and prefilled: 1.0 s → token 1 each
    # step 2: both decode, 200 + 2 = 202 positions fit: 0.2 s → t = 1.2, token 2 each
    # step 3: 202 + 2 do not fit: r2, the latest, is pre-empted (its 101 positions freed, to
    #         compute again); r1 decodes alone: 0.1 s → t = 1.3, r1 ends; r3 is sent
    # step 4: r2 (101 positions to compute again) and r3 (100) admitted, 201 ≤ 202, and both
    #         prefilled: 0.5 · 201 / 100 = 1.005 s → t = 2.305, r3's token 1
    # step 5: 201 + 2 do not fit: r3 pre-empted; r2 decodes: 0.1 s → t = 2.405, r2 ends
    served = simulate(2, flat(), capacity=202, scheduler=Scheduler(reserve_whole=False),
                      rounds=1, warmup=0)  # fmt: skip
    assert served.running == 2
    assert served.ttft_s == pytest.approx(1.0)
    assert served.tpot_s == pytest.approx(((1.3 - 1.0) / 2 + (2.405 - 1.0) / 2) / 2)
    assert served.request_s == pytest.approx((1.3 + 2.405) / 2)
    # reserving whole requests (103 positions each), the same cache runs both without a stop
    whole = simulate(2, flat(), capacity=206, rounds=1, warmup=0)
    assert whole.request_s == pytest.approx(1.0 + 2 * 0.2)


def test_the_decode_step_is_analysed_at_the_requests_the_cache_holds_at_mean_context():
    # 10,000 positions, requests of 900 + 200 at their mean context of 1,000: 10 of them
    assert analysed_batch(64, 10_000, 900, 200, Scheduler()) == 10
    assert analysed_batch(4, 10_000, 900, 200, Scheduler()) == 4  # no more than the clients
    assert analysed_batch(64, 10_000, 900, 200, Scheduler(max_running=6)) == 6
    assert analysed_batch(64, 500, 900, 200, ENGINES["sglang"]) == 1  # at least one


def test_a_cache_holds_its_bytes_over_a_tokens():
    assert positions(1e6, 100) == 10_000
    assert positions(999, 100) == 9


def test_each_engine_gives_its_cache_the_memory_its_defaults_say():
    # 141 GB beside 70 GB of weights: TensorRT-LLM 0.9 of the 71 GB left; vLLM 0.9 of all
    # 141 GB, less the weights; SGLang 0.88 of all, less the weights
    memory, weights = 141e9, 70e9
    assert ENGINES["trtllm"].cache_bytes(memory, weights) == pytest.approx(0.9 * 71e9)
    assert ENGINES["vllm"].cache_bytes(memory, weights) == pytest.approx(0.9 * 141e9 - 70e9)
    assert ENGINES["sglang"].cache_bytes(memory, weights) == pytest.approx(0.88 * 141e9 - 70e9)
    assert not ENGINES["sglang"].mixed and not ENGINES["vllm"].reserve_whole


def test_bad_serving_input_is_a_one_line_error():
    with pytest.raises(UsageError, match="1 client or more"):
        simulate(0, flat(), capacity=103)
    with pytest.raises(
        UsageError, match="a request of 100 \\+ 3 tokens does not fit a KV cache of 102"
    ):
        simulate(1, flat(), capacity=102)
    with pytest.raises(UsageError, match="token budget must be 1 or more"):
        simulate(4, flat(), capacity=1000, scheduler=Scheduler(token_budget=0))
    with pytest.raises(UsageError, match="warm-up rounds"):
        simulate(1, flat(), capacity=103, rounds=1, warmup=1)
    with pytest.raises(UsageError, match="start over 0 seconds or more"):
        simulate(2, flat(), capacity=1000, start=-1.0)


def test_one_client_is_served_as_generate_estimates_one_request(monkeypatch):
    """serve() at concurrency 1 is generate's estimate: its prefill, then its decode steps."""
    import netcost

    hand_tables(monkeypatch)
    model = tiny_llama().to(torch.bfloat16)
    g = netcost.generate(model, 40, 8, 1, device="h100-sxm")
    served = serve(model, 40, 8, 1, device="h100-sxm")
    assert served.running == 1
    assert served.ttft_s == pytest.approx(g.estimate["time_to_first_token_s"])
    assert served.tpot_s == pytest.approx(g.estimate["decode_s"] / 7)
    # the caller's batch-1 generation, given, stands for serve's own: no analysis again
    assert serve(model, 40, 8, 1, device="h100-sxm", single=g) == served


def test_the_bound_is_a_request_s_own_floors_or_the_servers_arithmetic_whichever_is_longer():
    # one request: prefill floor 0.1 s, 4 decode steps' floors 0.4 s, 1 TFLOP at 100 TFLOP/s
    few = served_floor(8, 5, 0.1, 0.4, 1e12, 1e14)
    # 8 clients need 8 · 1e12 / 1e14 = 0.08 s of arithmetic a request: its own 0.5 s governs
    assert few == pytest.approx({"time_to_first_token_s": 0.1, "time_per_output_token_s": 0.1,
                                 "request_s": 0.5, "output_tokens_per_s": 8 * 5 / 0.5})  # fmt: skip
    # 100 clients: 100 · 0.01 s = 1.0 s a request; at most 100 · 5 tokens a second
    many = served_floor(100, 5, 0.1, 0.4, 1e12, 1e14)
    assert (many["request_s"], many["output_tokens_per_s"]) == pytest.approx((1.0, 500.0))
    # no peak: the request's own floors alone
    assert served_floor(100, 5, 0.1, 0.4, 1e12, 0.0)["request_s"] == pytest.approx(0.5)


def test_serve_puts_the_bound_beside_the_simulation(monkeypatch):
    import netcost

    hand_tables(monkeypatch)
    model = tiny_llama().to(torch.bfloat16)
    g = netcost.generate(model, 40, 8, 1, device="h100-sxm")
    # a decode step's kernels count the eager ops' FLOPs (no square mask to halve)
    assert g.kernel_flops["decode_first"] == g.decode_first.flops
    one = serve(model, 40, 8, 1, device="h100-sxm", single=g)
    assert one.bound["time_to_first_token_s"] == g.times["time_to_first_token_s"]
    assert one.bound["time_per_output_token_s"] == pytest.approx(g.times["decode_s"] / 7)
    assert one.bound["request_s"] == pytest.approx(g.times["time_to_first_token_s"]
                                                   + g.times["decode_s"])  # fmt: skip
    assert one.bound_source == "matrix bf16 peak, 989 TFLOP/s"  # the H100 SXM's dense bf16
    # 256 clients: a request waits for all their arithmetic at 989.4 TFLOP/s (about 2 µs,
    # four times its own floors)
    crowd = serve(model, 40, 8, 256, device="h100-sxm", single=g)
    flops = g.kernel_flops["prefill"] + g.kernel_flops["decode_total"]
    assert crowd.bound["request_s"] == pytest.approx(256 * flops / 989.4e12)
    assert crowd.bound["output_tokens_per_s"] == pytest.approx(989.4e12 * 8 / flops)
    for served in (one, crowd):  # a bound is never above the estimate it stands beside
        assert served.bound["time_to_first_token_s"] <= served.ttft_s
        assert served.bound["time_per_output_token_s"] <= served.tpot_s
        assert served.bound["request_s"] <= served.request_s
        assert served.bound["output_tokens_per_s"] >= served.output_tokens_per_s


def test_the_bound_takes_every_flop_at_the_fastest_units_the_step_runs_on():
    # H100 SXM dense peaks: bf16 989.4, fp8 1,978.9 TFLOP/s (data/devices.toml)
    from netcost.devices import load
    from netcost.serving import _fastest

    model, h100 = tiny_llama().to(torch.bfloat16), load("h100-sxm")
    assert _fastest(model, h100, None, None) == (989.4e12, "matrix bf16")
    assert _fastest(model, h100, "fp8", None) == (1978.9e12, "matrix fp8")  # W8A8 products
    assert _fastest(model, h100, None, "fp8") == (1978.9e12, "matrix fp8")  # fp8 attention
    assert _fastest(model, h100, "int4", "bf16") == (989.4e12, "matrix bf16")  # weight-only


def test_an_encoder_decoder_is_not_served(monkeypatch):
    from netcost.sources import resolve

    hand_tables(monkeypatch, "float32")
    t5 = resolve("hf:t5:num_layers=1,num_decoder_layers=1,d_model=32,d_ff=64,num_heads=2,"
                 "d_kv=16,vocab_size=100", causal_lm=True).model  # fmt: skip
    with pytest.raises(UnsupportedError, match="simulated for causal LMs"):
        serve(t5, 10, 4, 2, device="h100-sxm")


def test_serving_without_measured_tables_says_so():
    with pytest.raises(UnsupportedError) as error:
        serve(tiny_llama().to(torch.bfloat16), 40, 8, 4, device="h100-sxm")
    assert str(error.value) == (
        "serving at concurrency is timed by the calibrated estimate, and h100-sxm has none: its "
        "measured kernel tables come with pip install 'netcost[gpu]' (aiconfigurator-core "
        "0.12.0)"
    )


TINY = ("hf:llama:hidden_size=64,intermediate_size=128,num_hidden_layers=2,"
        "num_attention_heads=4,num_key_value_heads=2,vocab_size=100")  # fmt: skip


def test_the_command_line_serves_clients_beside_the_generation(monkeypatch):
    import json

    from netcost.cli import run

    hand_tables(monkeypatch)
    args = [TINY, "--generate", "40:8", "--device", "h100-sxm", "--concurrency", "4"]
    text = run([*args, "--token-budget", "100"])
    served = text[text.index("Served to 4 clients") :].splitlines()
    assert served[0] == (
        "Served to 4 clients at fixed concurrency on h100-sxm (calibrated estimate; simulated: "
        "each client sends its next request when one returns, their first requests spread over "
        "one request's latency, 21 requests measured after a first round)"
    )
    assert served[1] == (
        "  scheduler (TensorRT-LLM's policy): 100 tokens a step, prompts chunked beside decode "
        "tokens; the KV cache 90 % of what the weights leave, whole requests reserved in it: 4 "
        "running at most"
    )
    assert served[2].startswith("  time to first token ")
    assert served[3].startswith("  clients that start at once stay in step: time to first token ")
    assert served[3].endswith(" (each round's prompts queue behind each other)")
    data = json.loads(run([*args, "--format", "json", "--engine", "sglang"]))["serving"]
    assert (data["clients"], data["running"], data["token_budget"]) == (4, 4, 8192)
    assert (data["engine"], data["mixed"], data["cache_fraction"]) == ("sglang", False, 0.88)
    assert data["time_to_first_token_s"] > 0 and data["device"] == "h100-sxm"
    assert set(data["bound"]) == {"time_to_first_token_s", "time_per_output_token_s",
                                  "request_s", "output_tokens_per_s"}  # fmt: skip
    # the command line's model is float32: no matrix float32 peak on an H100 (TF32 is off)
    assert data["bound_source"] == "vector fp32 peak, 67 TFLOP/s"
    assert served[4].startswith("  bound (no schedule beats it): time to first token ≥ ")
    assert data["time_to_first_token_in_step_s"] >= data["time_to_first_token_s"]


def test_each_engine_s_policy_is_said_in_words():
    served = Served(8, 100, 3, 6, 0.25, 0.0125, 0.275, 87.3, 40, ENGINES["vllm"], "h200")
    assert str(served).splitlines() == [
        "Served to 8 clients at fixed concurrency on h200 (calibrated estimate; simulated: each "
        "client sends its next request when one returns, 40 requests measured after a first "
        "round)",
        "  scheduler (vLLM's policy): 8,192 tokens a step, prompts chunked beside decode tokens; "
        "the KV cache 90 % of all memory less the weights, requests admitted on their prompt, "
        "the latest pre-empted when it is full: 6 running at most",
        "  time to first token 250 ms, per output token 12.5 ms, per request 275 ms; 87 output "
        "tokens/s",
    ]
    bounded = replace(served, bound={"time_to_first_token_s": 0.05, "time_per_output_token_s":
                                     0.004, "request_s": 0.1, "output_tokens_per_s": 240.0},
                      bound_source="matrix fp8 peak, 4,500 TFLOP/s")  # fmt: skip
    assert str(bounded).splitlines()[3] == (
        "  bound (no schedule beats it): time to first token ≥ 50 ms, per output token ≥ 4 ms, "
        "per request ≥ 100 ms; at most 240 output tokens/s (a request's own steps at their "
        "floors; every client's FLOPs at the matrix fp8 peak, 4,500 TFLOP/s)"
    )
    sglang = str(replace(served, scheduler=ENGINES["sglang"])).splitlines()[1]
    assert sglang == (
        "  scheduler (SGLang's policy): 8,192 tokens a step, a prefill step alone; the KV cache "
        "88 % of all memory less the weights, requests admitted on their prompt, the latest "
        "pre-empted when it is full: 6 running at most"
    )
    assert repr(served) == "<Served 100:3 to 8 clients: TTFT 0.25 s, TPOT 0.0125 s>"
    one = replace(served, clients=1, requests=1)
    assert str(one).startswith("Served to 1 client at fixed concurrency on h200")
    assert "sends its next request when one returns, 1 request measured" in str(one)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--concurrency", "4"], "--concurrency needs --generate"),
        (["--generate", "40:8", "--token-budget", "100"], "--token-budget needs --concurrency"),
        (["--generate", "40:8", "--engine", "vllm"], "--engine needs --concurrency"),
        (["--generate", "40:8", "--concurrency", "4"], "--concurrency times a server on a GPU"),
        (["--generate", "40:8", "--concurrency", "4", "--device", "h100-sxm", "--memory"],
         "--concurrency does not apply to a serving plan"),
        (["--generate", "40:8", "--concurrency", "4", "--device", "h100-sxm", "--kernels",
          "eager"], "--concurrency is timed as engines run the model"),
    ],
)  # fmt: skip
def test_serving_flags_out_of_place_are_one_line_errors(args, message):
    from netcost.cli import run

    with pytest.raises(UsageError, match=message):
        run([TINY, *args])
