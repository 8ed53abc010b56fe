"""Receptive fields: which input positions each position of each tensor can depend on.

Per spatial dimension of the model's first input with ≥ 3 dims (N, C, spatial…), a field is
(lo, hi, jump): position x depends on input positions lo + x·jump … hi + x·jump, padding included
(lo may be negative, hi past the input's end). size = hi − lo + 1; the center of position 0 is
(lo + hi) / 2; jump 0 means every position sees the same field (after global pooling, flatten,
matrix products over features, attention, statistics over space).

Rules: a conv or pool window of span d·(k − 1) + 1, stride s, padding p maps (lo, hi, j) to
(lo − p·j, hi + (span − 1 − p)·j, s·j). Element-wise ops, residual adds and channel
concatenations take the union of their inputs' fields. A transposed convolution, interpolation,
adaptive pooling with uneven windows and any op without a rule give a bound (exact = False):
transposed, output o reads inputs (o + p − t·d) / s, so the field is bounded by
(lo + (p − span + 1)/s·j, hi + p/s·j, j/s).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from netcost.analysis.geometry import Window, windows
from netcost.cost import Cost
from netcost.formulas import lookup
from netcost.report import OpRecord, ReceptiveField
from netcost.trace import OpEvent, TensorSpec, Trace


@dataclass(frozen=True)
class Dim:
    lo: Fraction
    hi: Fraction
    jump: Fraction

    def spread(self, positions: int) -> Dim:
        """The union over `positions` neighbouring positions: position-independent."""
        if self.jump == 0:
            return self
        return Dim(self.lo, self.hi + (positions - 1) * self.jump, Fraction(0))


@dataclass(frozen=True)
class Field:
    dims: tuple[Dim, ...]
    exact: bool = True


def union(a: Dim, b: Dim, positions: int) -> tuple[Dim, bool]:
    """The union of two fields of the same tensor, and whether it is exact."""
    if a.jump == b.jump:
        return Dim(min(a.lo, b.lo), max(a.hi, b.hi), a.jump), True
    moving, still = (a, b) if b.jump == 0 else (b, a)
    if still.jump == 0:
        spread = moving.spread(positions)
        if still.lo <= spread.lo and still.hi >= spread.hi:
            return still, True  # the fixed field already holds every moving one
        return Dim(min(spread.lo, still.lo), max(spread.hi, still.hi), Fraction(0)), False
    wide = a.spread(positions)
    other = b.spread(positions)
    return Dim(min(wide.lo, other.lo), max(wide.hi, other.hi), Fraction(0)), False


MIXING = ("matmul", "attention", "rnn", "reduction")  # every output reads every position
COPIES = ("clone", "_to_copy", "copy_", "_copy_from", "lift_fresh_copy", "contiguous")


#: ops that slide a window over (N, C, spatial…) tensors: a model with none of them has no
#: spatial layout to read (a batch-first sequence (B, T, F) is not (N, C, W))
WINDOW_OPS = ("convolution", "pool", "im2col", "upsample", "grid_sampler")


def propagate(trace: Trace) -> dict[int, Field]:
    """The field of every tensor that depends on the model's reference input: its first input of
    three or more dims, read as (N, C, spatial…) — only in a model that slides windows over one
    (convolutions, pooling); a sequence model's (B, T, F) has no such layout."""
    reference = next((t for t in trace.inputs if len(t.shape) >= 3), None)
    if reference is None or not any(w in e.op for e in trace.events for w in WINDOW_OPS):
        return {}
    nd = len(reference.shape) - 2
    point = Dim(Fraction(0), Fraction(0), Fraction(1))  # each input position sees itself
    fields = {reference.tid: Field((point,) * nd)}
    for event in trace.events:
        inputs = [t for t in _tensors(event.args) if t.tid in fields]
        if not inputs or not event.outputs:
            continue
        field = _rule(event, inputs, fields, nd)
        for out in event.outputs:
            fields[out.tid] = field
    return fields


def _tensors(values: Any) -> list[TensorSpec]:
    found: list[TensorSpec] = []
    for v in values.values() if isinstance(values, dict) else values:
        if isinstance(v, TensorSpec):
            found.append(v)
        elif isinstance(v, tuple):
            found += _tensors(v)
    return found


def _spatial(t: TensorSpec, nd: int) -> tuple[int, ...] | None:
    return t.shape[-nd:] if len(t.shape) >= nd + 2 else None


def _everywhere(inputs: list[TensorSpec], fields: dict[int, Field], exact: bool) -> Field:
    """Every output position depends on every position of every input."""
    dims: list[Dim] | None = None
    ok = exact
    for t in inputs:
        f = fields[t.tid]
        spatial = t.shape[-len(f.dims) :] if len(t.shape) >= len(f.dims) + 2 else None
        spread = [
            d.spread(spatial[i] if spatial else 1) if d.jump else d for i, d in enumerate(f.dims)
        ]
        ok = ok and f.exact
        if dims is None:
            dims = spread
        else:
            dims = [
                Dim(min(a.lo, b.lo), max(a.hi, b.hi), Fraction(0))
                for a, b in zip(dims, spread, strict=True)
            ]
    assert dims is not None
    return Field(tuple(dims), ok)


def _elementwise(
    inputs: list[TensorSpec], fields: dict[int, Field], out: TensorSpec, nd: int
) -> Field:
    """The union of the inputs' fields; a broadcast input (spatial size 1) is seen everywhere."""
    out_spatial = _spatial(out, nd)
    if out_spatial is None:
        return _everywhere(inputs, fields, True)
    dims: list[Dim] | None = None
    exact = True
    for t in inputs:
        f = fields[t.tid]
        spatial = _spatial(t, nd)
        own = [
            d
            if spatial and spatial[i] == out_spatial[i]
            else d.spread(spatial[i] if spatial else 1)
            for i, d in enumerate(f.dims)
        ]
        exact = exact and f.exact
        if dims is None:
            dims = own
            continue
        merged = [
            union(a, b, out_spatial[i]) for i, (a, b) in enumerate(zip(dims, own, strict=True))
        ]
        dims = [m for m, _ in merged]
        exact = exact and all(ok for _, ok in merged)
    assert dims is not None
    return Field(tuple(dims), exact)


def _window(field: Field, geometry: list[Window], nd: int) -> Field:
    geometry = geometry[-nd:]
    if len(geometry) != nd:
        return Field(field.dims, False)
    dims, exact = [], field.exact
    for d, w in zip(field.dims, geometry, strict=True):
        if d.jump == 0:
            dims.append(d)
        elif w.transposed:
            s = Fraction(w.stride)
            dims.append(
                Dim(d.lo + (w.padding - w.span + 1) / s * d.jump, d.hi + w.padding / s * d.jump,
                    d.jump / s)
            )  # fmt: skip
            exact = False
        else:
            dims.append(
                Dim(d.lo - w.padding * d.jump, d.hi + (w.span - 1 - w.padding) * d.jump,
                    w.stride * d.jump)
            )  # fmt: skip
    return Field(tuple(dims), exact)


def _adaptive(field: Field, data: TensorSpec, out: TensorSpec, nd: int) -> Field:
    dims, exact = [], field.exact
    for i, d in enumerate(field.dims):
        n, o = data.shape[-nd + i], out.shape[-nd + i]
        if d.jump == 0 or o == 1:
            dims.append(d.spread(n))
        elif n % o == 0:
            k = n // o
            dims.append(Dim(d.lo, d.hi + (k - 1) * d.jump, k * d.jump))
        else:  # windows [⌊i·n/o⌋, ⌈(i+1)·n/o⌉): bounded by one position either way
            dims.append(Dim(d.lo - d.jump, d.hi + (-(-n // o)) * d.jump, Fraction(n, o) * d.jump))
            exact = False
    return Field(tuple(dims), exact)


def _interpolate(field: Field, data: TensorSpec, out: TensorSpec, nd: int, taps: int) -> Field:
    dims = []
    for i, d in enumerate(field.dims):
        ratio = Fraction(data.shape[-nd + i], out.shape[-nd + i])
        reach = 0 if taps == 1 else 1
        dims.append(Dim(d.lo - (1 + reach) * d.jump, d.hi + (1 + reach) * d.jump, ratio * d.jump))
    return Field(tuple(dims), False)


def _data(event: OpEvent) -> TensorSpec | None:
    for name in ("input", "self", "x"):
        if isinstance(event.args.get(name), TensorSpec):
            return event.args[name]
    return None


def _rule(event: OpEvent, inputs: list[TensorSpec], fields: dict[int, Field], nd: int) -> Field:
    entry = lookup(event.op, event.packet)
    family = entry.family if entry else ""
    name = event.packet.split(".")[-1]
    out = event.outputs[0]
    data = _data(event)
    if data is not None and data.tid in fields:
        field = fields[data.tid]
        if family in ("conv", "pool"):
            shapes = tuple(t.shape for t in event.outputs)
            geometry = windows(OpRecord(event.op, family, event.args, shapes, Cost()))
            if geometry:
                return _window(field, geometry, nd)
        if name.startswith(("_adaptive_avg_pool", "adaptive_max_pool", "adaptive_avg_pool")):
            return _adaptive(field, data, out, nd)
        if name.startswith("upsample") or name.startswith("_upsample"):
            taps = 1 if "nearest" in name else 2
            return _interpolate(field, data, out, nd, taps)
        if name == "constant_pad_nd":
            return _pad(field, event.args.get("pad", ()), nd)
        if family == "free" or name in COPIES:
            return _view(field, data, out, nd, name, event.args)
        if family == "norm":
            return _norm(field, event, data, nd)
        if name in ("_softmax", "_log_softmax", "_safe_softmax"):
            return _along(field, data, event.args.get("dim"), nd)
    if family == "pointwise":
        return _elementwise(inputs, fields, out, nd)
    if name in ("cat", "stack"):
        dim = event.args.get("dim", 0)
        rank = len(out.shape)
        if (dim % rank) < rank - nd:
            return _elementwise(inputs, fields, out, nd)
    # flip, roll, gather, pixel_shuffle and ops with no rule: a bound (everything they read)
    return _everywhere(inputs, fields, family in MIXING)


def _permutation(name: str, args: dict, rank: int) -> tuple[int, ...] | None:
    """Which input dim each output dim of a permute or transpose comes from."""
    if name == "permute":
        return tuple(d % rank for d in args.get("dims", ()))
    if name in ("transpose", "transpose_"):
        order = list(range(rank))
        a, b = args.get("dim0", 0) % rank, args.get("dim1", 0) % rank
        order[a], order[b] = order[b], order[a]
        return tuple(order)
    return None


def _view(field: Field, data: TensorSpec, out: TensorSpec, nd: int, name: str, args: dict) -> Field:
    """Views keep the field when the spatial dims keep their place; slicing a spatial dim shifts
    and strides it; anything else mixes positions."""
    if name in ("slice",):
        dim = args.get("dim", 0) % len(data.shape)
        first = len(data.shape) - nd
        if dim < first:
            return field
        i = dim - first
        start = args.get("start") or 0
        step = args.get("step") or 1
        d = field.dims[i]
        dims = list(field.dims)
        dims[i] = Dim(d.lo + start * d.jump, d.hi + start * d.jump, step * d.jump)
        return Field(tuple(dims), field.exact)
    rank = len(data.shape)
    order = _permutation(name, args, rank)
    if order is not None and len(out.shape) == rank and rank >= nd + 2:
        first = rank - nd
        sources = order[first:]
        if all(s >= first for s in sources):  # spatial dims only reordered among themselves
            return Field(tuple(field.dims[s - first] for s in sources), field.exact)
        return _everywhere([data], {data.tid: field}, False)
    if _spatial(out, nd) == _spatial(data, nd) and _spatial(out, nd) is not None:
        return field
    # a reshape that folds spatial dims away: exact only when they held one position each
    spatial = _spatial(data, nd)
    return _everywhere([data], {data.tid: field}, spatial is None or all(n == 1 for n in spatial))


def _pad(field: Field, pad: Any, nd: int) -> Field:
    dims = list(field.dims)
    pad = list(pad)
    for k in range(min(len(pad) // 2, nd)):
        i = nd - 1 - k  # pad lists (left, right) pairs from the last dim backwards
        d = dims[i]
        dims[i] = Dim(d.lo - pad[2 * k] * d.jump, d.hi - pad[2 * k] * d.jump, d.jump)
    return Field(tuple(dims), field.exact)


def _along(field: Field, data: TensorSpec, dim: Any, nd: int) -> Field:
    """An op mixing positions along one dim (softmax): that spatial dim becomes fixed."""
    rank = len(data.shape)
    if dim is None:
        return field
    i = dim % rank - (rank - nd)
    if i < 0:
        return field
    dims = list(field.dims)
    dims[i] = dims[i].spread(data.shape[dim % rank])
    return Field(tuple(dims), field.exact)


def _norm(field: Field, event: OpEvent, data: TensorSpec, nd: int) -> Field:
    """Batch norm with running statistics is element-wise. Statistics computed over space reach
    every position along it: layer norm over the dims it normalises; training batch norm,
    instance norm and group norm over all spatial dims."""
    name = event.packet.split(".")[-1]
    statistics = event.args.get("training", name != "_native_batch_norm_legit_no_training")
    if "batch_norm" in name and not statistics:
        return field
    rank = len(data.shape)
    if rank < nd + 2:
        return field
    normalized = len(event.args.get("normalized_shape", ())) if "layer_norm" in name else nd
    dims = [
        d.spread(data.shape[rank - nd + i]) if rank - nd + i >= rank - normalized else d
        for i, d in enumerate(field.dims)
    ]
    return Field(tuple(dims), field.exact)


def layer_fields(trace: Trace) -> dict[int, ReceptiveField]:
    """The receptive field of each module call's first output (calls whose output does not
    depend on the reference input are left out)."""
    fields = propagate(trace)
    found: dict[int, ReceptiveField] = {}
    for call in trace.calls:
        if not call.outputs or call.outputs[0].tid not in fields:
            continue
        f = fields[call.outputs[0].tid]
        found[call.index] = ReceptiveField(
            size=tuple(_number(d.hi - d.lo + 1) for d in f.dims),
            jump=tuple(_number(d.jump) for d in f.dims),
            center=tuple(_number((d.lo + d.hi) / 2) for d in f.dims),
            exact=f.exact,
        )
    return found


def _number(x: Fraction) -> int | float:
    return int(x) if x.denominator == 1 else float(x)
