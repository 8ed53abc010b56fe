"""Generation as text. Formatting only: every number comes from the Generation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from netcost import text as fmt
from netcost.render.timing import seconds

if TYPE_CHECKING:
    from netcost.generation import Generation


def render_generation(g: Generation) -> str:
    ctx_first, ctx_last = g.first_context, g.last_context
    if g.encoder_decoder:
        prefill = f"encoder on {g.prompt_tokens} tokens, decoder on its start token"
        also = f" and {g.prompt_tokens} encoded"
    else:
        prefill, also = f"{g.prompt_tokens} tokens, logits of the last", ""
    rows = [
        ("prefill", g.prefill, prefill),
        ("decode, first step", g.decode_first, f"attends to {ctx_first} positions{also}"),
        ("decode, last step", g.decode_last, f"attends to {ctx_last} positions{also}"),
        ("decode, all steps", g.decode_total, f"{g.new_tokens - 1} steps"),
    ]
    width = max(len(name) for name, _, _ in rows)
    lines = [
        f"Generation of {g.model}: {g.prompt_tokens}-token prompt, {g.new_tokens} new tokens, "
        f"batch {g.batch}",
        *(
            f"  {name:<{width}}  {fmt.count(c.macs):>20} MACs  {fmt.count(c.flops):>20} FLOPs  "
            f"{fmt.binary_size(c.bytes_moved):>11} moved  ({why})"
            for name, c, why in rows
        ),
    ]
    if g.kv_cache_bytes_per_token is not None and g.kv_cache_bytes is not None:
        lines.append(
            f"KV cache: {fmt.binary_size(g.kv_cache_bytes_per_token)} per token per sequence; "
            f"{fmt.binary_size(g.kv_cache_bytes)} for the batch at {ctx_last} positions"
            + (
                f" (and the cross-attention cache of the {g.prompt_tokens} encoded)"
                if g.encoder_decoder
                else ""
            )
        )
    serving = g.serving_peak_bytes
    if serving is not None:
        lines.append(
            f"Serving memory: {fmt.binary_size(serving)} = the prefill's peak (weights "
            f"{fmt.binary_size(g.weight_bytes)} included) + the cache grown to its end"
        )
    if g.times:
        t = g.times
        lines.append(
            f"On {g.device} (roofline lower bounds): time to first token "
            f"{seconds(t['time_to_first_token_s'])}; per output token "
            f"{seconds(t['time_per_output_token_first_s'])} first, "
            f"{seconds(t['time_per_output_token_last_s'])} last"
            + (
                f"; {t['decode_tokens_per_s']:,.0f} tokens/s over the decode"
                if "decode_tokens_per_s" in t
                else ""
            )
        )
        if g.estimate:
            e = g.estimate
            lines.append(
                f"Calibrated estimate on {g.device}: time to first token "
                f"{seconds(e['time_to_first_token_s'])}; per output token "
                f"{seconds(e['time_per_output_token_first_s'])} first, "
                f"{seconds(e['time_per_output_token_last_s'])} last"
                + (
                    f"; {e['decode_tokens_per_s']:,.0f} tokens/s over the decode"
                    if "decode_tokens_per_s" in e
                    else ""
                )
                + f" ({g.estimate_source})"
            )
        if g.kernels:
            from netcost.render.timing import KERNEL_WORDS

            lines.append(f"Kernels: {KERNEL_WORDS[g.kernels]}")
        if g.moved and g.kernels == "fused":
            m = g.moved
            lines.append(
                f"Moved by those kernels: prefill {fmt.binary_size(m['prefill'])}; decode steps "
                f"{fmt.binary_size(m['decode_first'])} first, "
                f"{fmt.binary_size(m['decode_last'])} last, "
                f"{fmt.binary_size(m['decode_total'])} in all (the rows above: each op its own "
                "kernel)"
            )
    lines += [f"! {note}" for note in g.notes]
    return "\n".join(lines) + "\n"
