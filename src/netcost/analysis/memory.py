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
