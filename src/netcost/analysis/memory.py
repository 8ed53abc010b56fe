"""Memory from tensor lifetimes: what is alive after each op of a forward pass (inference) or of
a training step."""

from __future__ import annotations

from netcost.capture.lifetimes import Block, live_after
from netcost.report import Memory, PhasePeak, TrainingMemory
from netcost.trace import StepTrace, Trace


def inference_memory(trace: Trace) -> Memory | None:
    """Resident bytes (parameters, buffers, inputs) and the activation peak: after op i,
    live = Σ allocated[≤ i] − Σ freed[< i]; the peak is the largest live value, of which
    autocast's low-precision weight copies are told apart. None when the
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
    copies = trace.weight_copies[at] if trace.weight_copies else 0
    return Memory(
        params_bytes=sum(p.nbytes for p in trace.params.values()),
        buffers_bytes=trace.buffers_bytes,
        inputs_bytes=sum(t.numel * t.itemsize for t in trace.inputs),
        activation_peak_bytes=peak - copies,
        weight_copies_bytes=copies,
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


#: The breakdown of a training peak, in the order it is shown.
PARTS = (
    "parameters",
    "buffers",
    "inputs",
    "optimizer state",
    "gradients",
    "activations",
    "weight copies",
    "temporaries",
)
_PART_OF_KIND = {
    "gradient": "gradients",
    "activation": "activations",
    "weight copy": "weight copies",
    "temporary": "temporaries",
}


def step_memory(trace: StepTrace) -> TrainingMemory:
    """Each phase's peak and what is alive at it: after op i, the resident state plus every block
    with born <= i <= died (capture/lifetimes.py)."""
    n = len(trace.ops)
    live = live_after(trace.blocks, n)
    bounds = (
        ("forward", 0, trace.backward_start),
        ("backward", trace.backward_start, trace.optimizer_start),
        ("optimizer step", trace.optimizer_start, n),
    )
    phases = tuple(
        _peak_of(trace, name, max(range(start, stop), key=live.__getitem__))
        for name, start, stop in bounds
        if stop > start
    )
    end_of_forward = trace.backward_start - 1
    saved = sum(
        b.nbytes
        for b in trace.blocks
        if b.kind in ("activation", "weight copy") and _alive(b, end_of_forward)
    )
    return TrainingMemory(
        optimizer=trace.optimizer,
        precision=trace.precision,
        phases=phases,
        saved_bytes=saved,
        notes=tuple(trace.notes),
    )


def _alive(block: Block, op: int) -> bool:
    return block.born <= op and (block.died is None or block.died >= op)


def _peak_of(trace: StepTrace, phase: str, at: int) -> PhasePeak:
    parts = dict.fromkeys(PARTS, 0)
    parts["parameters"] = trace.params_bytes
    parts["buffers"] = trace.buffers_bytes
    parts["inputs"] = trace.inputs_bytes
    parts["optimizer state"] = trace.state_bytes
    for b in trace.blocks:
        if _alive(b, at):
            parts[_PART_OF_KIND[b.kind]] += b.nbytes
    call = trace.op_calls[at]
    layer = ""
    if 0 <= call < len(trace.calls):
        c = trace.calls[call]
        layer = c.path or c.type
    return PhasePeak(phase, sum(parts.values()), tuple(parts.items()), layer, trace.ops[at])
