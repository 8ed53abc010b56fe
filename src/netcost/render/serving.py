"""Serving at concurrency as text. Formatting only: every number comes from the Served."""

from __future__ import annotations

from typing import TYPE_CHECKING

from netcost import text as fmt
from netcost.render.timing import seconds

#: ENGINES' keys as their projects write them
ENGINE_NAMES = {"trtllm": "TensorRT-LLM", "vllm": "vLLM", "sglang": "SGLang"}

if TYPE_CHECKING:
    from netcost.serving import Served


def serving_lines(s: Served) -> list[str]:
    on = f" on {s.device}" if s.device else ""
    plan = s.scheduler
    prompts = "prompts chunked beside decode tokens" if plan.mixed else "a prefill step alone"
    reserve = (
        "whole requests reserved in it"
        if plan.reserve_whole
        else "requests admitted on their prompt, the latest pre-empted when it is full"
    )
    share = "of all memory less the weights" if plan.of_total else "of what the weights leave"
    in_step = s.ttft_in_step_s  # simulate_apart's: the clients apart
    lines = [
        f"Served to {fmt.counted(s.clients, 'client', 'clients')} at fixed concurrency{on} "
        "(calibrated estimate; simulated: each client sends its next request when one returns, "
        + (
            "their first requests spread over one request's latency, "
            if in_step is not None
            else ""
        )
        + f"{fmt.counted(s.requests, 'request', 'requests')} measured after a first round)",
        f"  scheduler ({ENGINE_NAMES.get(plan.engine, plan.engine)}'s policy): "
        f"{fmt.count(plan.token_budget)} tokens a step, {prompts}; the KV cache "
        f"{plan.cache_fraction * 100:g} % {share}, {reserve}: {fmt.count(s.running)} running "
        "at most",
        f"  time to first token {seconds(s.ttft_s)}, per output token {seconds(s.tpot_s)}, per "
        f"request {seconds(s.request_s)}; {s.output_tokens_per_s:,.0f} output tokens/s",
    ]
    if in_step is not None:
        lines.append(
            f"  clients that start at once stay in step: time to first token "
            f"{seconds(in_step)} (each round's prompts queue behind each other)"
        )
    if s.bound:
        b = s.bound
        lines.append(
            f"  bound (no schedule beats it): time to first token ≥ "
            f"{seconds(b['time_to_first_token_s'])}, per output token ≥ "
            f"{seconds(b['time_per_output_token_s'])}, per request ≥ {seconds(b['request_s'])}; "
            f"at most {b['output_tokens_per_s']:,.0f} output tokens/s (a request's own steps at "
            f"their floors" + (f"; every client's FLOPs at the {s.bound_source})" if s.bound_source
                               else ")")
        )  # fmt: skip
    if s.source:
        lines.append(f"  ({s.source})")
    return lines
