"""Serving at concurrency: C clients in a closed loop (each sends its next request the moment
its last one returns, as a benchmark at fixed concurrency does), served by iteration-level
("in-flight", "continuous") batching, simulated step by step on netcost's step times.

The scheduler (`Scheduler`), each step:
1. admits waiting requests, first come first served, while the KV cache can hold them: with
   `reserve_whole`, PROMPT + NEW positions for every running request (no request is ever
   evicted), else PROMPT + NEW / 2 (the mean context; an engine that pre-empts);
2. gives every request past its prefill one decode token, and the rest of `token_budget` to
   prompts in arrival order, the last one chunked where the budget ends (with `mixed` False a
   step that prefills decodes nothing: prefill first);
3. takes `StepTimes.step` seconds; a prompt's last chunk makes its first token, a decode step
   one more, and the NEW-th ends the request and sends that client's next one.

A step's time (`StepTimes.step`), from the model's own analyses: p prompt tokens cost p / PROMPT
of one prompt's prefill (its products are compute-bound); d decoding sequences at mean context
L cost the decode step at (d, L), linear in the batch between 1 and the analysed batch and in
the context between the first and last step (both affine in the analyses); a step doing both
reads the weights once, so it costs the prefill plus what the decode step adds to one
sequence's first step: prefill + max(decode(d, L) − decode(1, PROMPT + 1), 0).

What it reports (`Served`) are the means a benchmark reports: time to first token, time per
output token after it ((end − first token) / (NEW − 1)) and the request's latency, over the
requests that finish after the first `warmup` rounds, and the output tokens per second over
that window.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from statistics import mean
from typing import Any

from netcost.errors import UsageError
from netcost.shown import ShownAsText


@dataclass(frozen=True)
class Scheduler:
    """An iteration-level batching scheduler. Defaults: TensorRT-LLM's (max_num_tokens 8,192;
    the capacity scheduler's GUARANTEED_NO_EVICT policy; context and generation requests in
    one step)."""

    token_budget: int = 8192
    reserve_whole: bool = True
    mixed: bool = True


@dataclass(frozen=True)
class StepTimes:
    """Seconds of one server step, from analyses of the model: one prompt's prefill alone, and
    decode steps of 1 and of `batch` sequences at their first (PROMPT + 1 positions) and last
    (PROMPT + NEW − 1) step."""

    prompt: int
    new: int
    prefill_s: float
    decode_one: tuple[float, float]  # (first step, last step), batch 1
    decode_many: tuple[float, float]  # the same at `batch`
    batch: int

    def decode(self, sequences: int, context: float) -> float:
        """A decode step of `sequences` at mean `context` positions (bilinear, see above)."""
        span = self.new - 2
        x = (context - self.prompt - 1) / span if span > 0 else 0.0
        one = self.decode_one[0] + (self.decode_one[1] - self.decode_one[0]) * x
        many = self.decode_many[0] + (self.decode_many[1] - self.decode_many[0]) * x
        if self.batch == 1:
            return one
        return one + (many - one) * (sequences - 1) / (self.batch - 1)

    def step(self, prompt_tokens: int, contexts: list[int]) -> float:
        """A step of `prompt_tokens` prefill tokens and one decode token for each context."""
        prefill = self.prefill_s * prompt_tokens / self.prompt
        if not contexts:
            return prefill
        decode = self.decode(len(contexts), sum(contexts) / len(contexts))
        if not prompt_tokens:
            return decode
        return prefill + max(decode - self.decode_one[0], 0.0)


@dataclass(frozen=True)
class Served(ShownAsText):
    """Means over the measured requests (seconds; tokens per second)."""

    clients: int
    prompt: int
    new: int
    running: int  # the most requests the cache admits at once
    ttft_s: float
    tpot_s: float
    request_s: float
    output_tokens_per_s: float
    requests: int  # measured
    scheduler: Scheduler = field(default_factory=Scheduler)
    device: str = ""
    source: str = ""  # what timed the steps

    def __repr__(self) -> str:
        return (
            f"<Served {self.prompt}:{self.new} to {self.clients} clients: TTFT "
            f"{self.ttft_s:.4g} s, TPOT {self.tpot_s:.4g} s>"
        )

    def to_dict(self) -> dict[str, float | int | bool | str | None]:
        return {
            "clients": self.clients, "prompt_tokens": self.prompt, "new_tokens": self.new,
            "running": self.running, "time_to_first_token_s": self.ttft_s,
            "time_per_output_token_s": self.tpot_s, "request_s": self.request_s,
            "output_tokens_per_s": self.output_tokens_per_s, "requests": self.requests,
            "token_budget": self.scheduler.token_budget,
            "reserve_whole": self.scheduler.reserve_whole, "mixed": self.scheduler.mixed,
            "device": self.device or None, "source": self.source or None,
        }  # fmt: skip


def admitted(cache_bytes: float, bytes_per_token: float, prompt: int, new: int,
             scheduler: Scheduler) -> int:  # fmt: skip
    """Requests the KV cache holds at once: cache ÷ (bytes a token · positions reserved a
    request: PROMPT + NEW, or PROMPT + NEW / 2 without `reserve_whole`)."""
    positions = prompt + new if scheduler.reserve_whole else prompt + new / 2
    return int(cache_bytes // (bytes_per_token * positions))


@dataclass
class _Request:
    arrival: float
    prefilled: int = 0
    tokens: int = 0
    first: float = 0.0


def simulate(
    clients: int,
    steps: StepTimes,
    running: int,
    scheduler: Scheduler | None = None,
    rounds: int = 6,
    warmup: int = 1,
) -> Served:
    """`clients` closed-loop clients served by `scheduler` with at most `running` requests in
    the cache, until clients · `rounds` requests have finished; the means over those after the
    first clients · `warmup`."""
    scheduler = scheduler or Scheduler()
    if clients < 1 or running < 1:
        raise UsageError(f"serving needs 1 client or more and room for 1 request, not "
                         f"{clients} clients and {running}")  # fmt: skip
    if not 0 <= warmup < rounds:
        raise UsageError(f"warm-up rounds must be fewer than rounds: {warmup} of {rounds}")
    busy = min(clients, running)
    if scheduler.token_budget <= busy:
        raise UsageError(f"a step's token budget of {scheduler.token_budget} leaves no room "
                         f"for a prompt beside {busy} decoding sequences")  # fmt: skip
    prompt, new = steps.prompt, steps.new
    now = 0.0
    waiting = deque(_Request(0.0) for _ in range(clients))
    active: list[_Request] = []
    done: list[tuple[_Request, float]] = []
    while len(done) < clients * rounds:
        while waiting and len(active) < running:
            active.append(waiting.popleft())
        decoding = [r for r in active if r.prefilled == prompt]
        filling = [r for r in active if r.prefilled < prompt]
        if filling and not scheduler.mixed:
            decoding = []
        budget = scheduler.token_budget - len(decoding)
        chunks = []
        for r in filling:
            take = min(prompt - r.prefilled, budget)
            if take <= 0:
                break
            chunks.append((r, take))
            budget -= take
        now += steps.step(sum(t for _, t in chunks), [prompt + r.tokens for r in decoding])
        for r, take in chunks:
            r.prefilled += take
            if r.prefilled == prompt:
                r.first, r.tokens = now, 1
        for r in decoding:
            r.tokens += 1
        for r in [r for r in active if r.prefilled == prompt and r.tokens >= new]:
            active.remove(r)
            done.append((r, now))
            waiting.append(_Request(now))
    measured = done[clients * warmup :]
    start = done[clients * warmup - 1][1] if warmup else 0.0
    tpot = mean((end - r.first) / (new - 1) for r, end in measured) if new > 1 else 0.0
    return Served(
        clients, prompt, new, running,
        ttft_s=mean(r.first - r.arrival for r, _ in measured),
        tpot_s=tpot,
        request_s=mean(end - r.arrival for r, end in measured),
        output_tokens_per_s=len(measured) * new / (measured[-1][1] - start),
        requests=len(measured),
        scheduler=scheduler,
    )  # fmt: skip


def serve(
    model: Any,
    prompt_tokens: int,
    new_tokens: int,
    clients: int,
    *,
    device: str,
    scheduler: Scheduler | None = None,
    weight_dtype: str | None = None,
    kv_dtype: str | None = None,
    cache_fraction: float = 0.9,
) -> Served:
    """`clients` at fixed concurrency on one `device`, the steps timed by the calibrated
    estimate (generation.generate at batch 1 and at the most requests the cache admits), the
    KV cache `cache_fraction` of the memory the weights leave (TensorRT-LLM's default
    kv_cache_free_gpu_mem_fraction, 0.9)."""
    from netcost.devices import load
    from netcost.errors import UnsupportedError
    from netcost.generation import generate

    if prompt_tokens < 1 or new_tokens < 2:
        raise UsageError("serving needs a prompt of 1 token or more and 2 new tokens or more")
    if not 0 < cache_fraction <= 1:
        raise UsageError(
            f"the cache's fraction of free memory must be in (0, 1], not {cache_fraction}"
        )
    scheduler = scheduler or Scheduler()

    def at(batch: int) -> Any:
        return generate(model, prompt_tokens, new_tokens, batch, device=device,
                        weight_dtype=weight_dtype, kv_dtype=kv_dtype)  # fmt: skip

    one = at(1)
    if not one.estimate:
        raise UnsupportedError(f"serving at concurrency is timed by the calibrated estimate, "
                               f"which {device} lacks: {one.estimate_source or 'no tables'} "
                               "(pip install 'netcost[gpu]')")  # fmt: skip
    if one.kv_cache_bytes_per_token is None:
        raise UnsupportedError("serving at concurrency needs the KV cache's bytes: "
                               + "; ".join(one.notes))  # fmt: skip
    memory = load(device).memory_bytes
    free = cache_fraction * (memory - one.weight_bytes)
    room = admitted(free, one.kv_cache_bytes_per_token, prompt_tokens, new_tokens, scheduler)
    if room < 1:
        raise UnsupportedError(
            f"one request of {prompt_tokens} + {new_tokens} tokens does not fit {device}'s "
            f"{memory / 2**30:.0f} GiB beside {one.weight_bytes / 2**30:.1f} GiB of weights"
        )
    running = min(clients, room)
    many = at(running) if running > 1 else one

    def pair(g: Any) -> tuple[float, float]:
        return (g.estimate["time_per_output_token_first_s"],
                g.estimate["time_per_output_token_last_s"])  # fmt: skip

    steps = StepTimes(prompt_tokens, new_tokens, one.estimate["time_to_first_token_s"],
                      pair(one), pair(many), running)  # fmt: skip
    served = simulate(clients, steps, running, scheduler)
    return replace(served, device=device, source=one.estimate_source)
