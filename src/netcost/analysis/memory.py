"""Inference memory from tensor lifetimes: what is alive after each op of one forward pass."""

from __future__ import annotations

from netcost.capture.trace import Trace
from netcost.report import Memory


def inference_memory(trace: Trace) -> Memory | None:
    """Resident bytes (parameters, buffers, inputs) and the activation peak: after op i,
    live = Σ allocated[≤ i] − Σ freed[< i]; the peak is the largest live value. None when the
    capture ran with autograd on, whose saved tensors outlive the program's own references."""
    if trace.grad_enabled or not trace.events:
        return None
    live = peak = 0
    at = 0
    for i, (allocated, freed) in enumerate(zip(trace.allocated, trace.freed, strict=True)):
        live += allocated
        if live > peak:
            peak, at = live, i
        live -= freed
    event = trace.events[at]
    call = trace.calls[event.call] if trace.calls else None
    return Memory(
        params_bytes=sum(p.nbytes for p in trace.params.values()),
        buffers_bytes=trace.buffers_bytes,
        inputs_bytes=sum(t.numel * t.itemsize for t in trace.inputs),
        activation_peak_bytes=peak,
        peak_layer=(call.path or call.type) if call else "",
        peak_op=event.op,
    )


def live_after_layers(trace: Trace) -> dict[int, int]:
    """Activation bytes alive when each module call's last op has finished (its own results
    included, nothing freed yet); calls that ran no op are left out. Empty with autograd on."""
    if trace.grad_enabled or not trace.events:
        return {}
    live_after: list[int] = []
    live = 0
    for allocated, freed in zip(trace.allocated, trace.freed, strict=True):
        live += allocated
        live_after.append(live)
        live -= freed
    last: dict[int, int] = {}
    for event in trace.events:
        last[event.call] = event.index
    for call in reversed(trace.calls):  # children end before their parents
        ends = [last[c] for c in call.children if c in last]
        if call.index in last:
            ends.append(last[call.index])
        if ends:
            last[call.index] = max(ends)
    return {call: live_after[index] for call, index in last.items()}
