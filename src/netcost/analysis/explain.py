"""Explanations: each number of a layer derived with its real values, as a learner would check it.

Conv, linear/matmul, attention and pooling get a derivation of their own; every other op is
explained by its formula's docstring (formulas/) and the numbers it produced.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from netcost.analysis.geometry import Window, dim_names, windows
from netcost.conventions import under
from netcost.errors import NetcostError
from netcost.formulas import lookup
from netcost.report import Layer, OpRecord, ReceptiveField, Report
from netcost.text import binary_size, count, shape
from netcost.trace import TensorSpec


@dataclass(frozen=True)
class Line:
    label: str
    text: str


@dataclass(frozen=True)
class Explanation:
    path: str
    description: str
    inputs: tuple[tuple[int, ...], ...]
    outputs: tuple[tuple[int, ...], ...]
    lines: tuple[Line, ...]


def dots(*factors: int) -> str:
    """8, 7, 7 -> '8·7·7'."""
    return "·".join(str(f) for f in factors)


def explain(report: Report, path: str | None = None) -> list[Explanation]:
    """Every leaf layer, or the layer at `path` (a container: each leaf inside it)."""
    if path is None:
        chosen = [m for m in report.layers if m.ops or m.params]
    else:
        root = report.layer(path)
        chosen = [root] if root.is_leaf else _leaves(report, root)
    return [explain_layer(m, report.convention) for m in chosen]


def _leaves(report: Report, layer: Layer) -> list[Layer]:
    found: list[Layer] = []
    for child in layer.children:
        m = report.modules[child]
        found += [m] if m.is_leaf else _leaves(report, m)
    return found


def explain_layer(layer: Layer, convention: str = "netcost") -> Explanation:
    lines: list[Line] = []
    for record in layer.ops:
        lines += _explain_op(record)
    lines += _params(layer)
    shown = under(layer.cost, convention)
    if shown.macs or shown.flops:
        extra = layer.cost.flops - 2 * layer.cost.macs
        if convention == "netcost" and layer.cost.macs:
            other = f" + {count(extra)} other arithmetic" if extra else ""
            text = f"2 · {count(layer.cost.macs)} MACs{other} = {count(layer.cost.flops)}"
        else:
            text = count(shown.flops)
        lines.append(Line("FLOPs", f"{text}  ({convention} convention)"))
    lines.append(Line("bytes moved", _bytes(layer)))
    lines += [Line("activations", _activation(layer))]
    if layer.receptive_field is not None:
        lines.append(Line("receptive field", _receptive(layer.receptive_field)))
    lines += [Line("warning", w) for w in layer.warnings]
    return Explanation(
        layer.name,
        layer.description or layer.type,
        layer.input_shapes,
        layer.output_shapes,
        tuple(lines),
    )


def _explain_op(record: OpRecord) -> list[Line]:
    if record.family == "conv":
        return _conv(record)
    if record.op.split(".")[1] in ("addmm", "mm", "bmm", "baddbmm"):
        return _matmul(record)
    if "multi_head_attention" in record.op:
        return _multi_head(record)
    if record.family == "attention" and "query" in record.args:
        return _attention(record)
    if record.family == "pool" and windows(record):
        return _pool(record)
    if record.family == "norm" and isinstance(record.args.get("input"), TensorSpec):
        return _norm(record)
    return _generic(record)


def _size_line(geometry: list[Window]) -> Line:
    parts = []
    for name, w in zip(dim_names(len(geometry)), geometry, strict=True):
        if w.transposed:
            text = (
                f"({w.size} − 1)·{w.stride} − 2·{w.padding} + {w.dilation}·({w.kernel} − 1)"
                f" + {w.output_padding} + 1 = {w.formula_out}"
            )
        else:
            reach = f"{w.kernel}" if w.dilation == 1 else f"{w.dilation}·({w.kernel} − 1) − 1"
            bracket, close = ("⌈", "⌉") if w.ceil_mode else ("⌊", "⌋")
            text = f"{bracket}({w.size} + 2·{w.padding} − {reach}) / {w.stride}{close} + 1"
            if (
                w.ceil_mode
                and w.formula_out != -(-(w.size + 2 * w.padding - w.span) // w.stride) + 1
            ):
                text += " − 1 (the last window would start in the padding)"
            text += f" = {w.formula_out}"
        parts.append(f"{name}: {text}")
    return Line("output size", "    ".join(parts))


def _conv(record: OpRecord) -> list[Line]:
    a = record.args
    x, w = a["input"], a["weight"]
    groups = a.get("groups", 1) or 1
    kernel = tuple(w.shape[2:])
    out = record.output_shapes[0]
    geometry = windows(record) or []
    batch = x.shape[0] if len(x) == len(w) else 1
    per_group = "" if groups == 1 else f" (per group of {groups})"
    lines = [_size_line(geometry)] if geometry else []
    if a.get("transposed"):
        cin, cout_g = x.shape[-len(kernel) - 1], w.shape[1]
        positions = x.shape[-len(kernel) :]
        per_sample = cin * prod(positions) * cout_g * prod(kernel)
        lines.append(
            Line(
                "MACs",
                f"{cin} in channels · {dots(*positions)} input positions · {cout_g} out "
                f"channels{per_group} · {dots(*kernel)} kernel = {count(per_sample)} per sample "
                "(each input element is scattered through the kernel)",
            )
        )
    else:
        cout, cin_g = w.shape[0], w.shape[1]
        positions = out[-len(kernel) :]
        per_sample = cout * prod(positions) * cin_g * prod(kernel)
        lines.append(
            Line(
                "MACs",
                f"{cout} out channels · {dots(*positions)} positions · {cin_g} in channels"
                f"{per_group} · {dots(*kernel)} kernel = {count(per_sample)} per sample",
            )
        )
    if batch != 1:
        lines.append(Line("", f"× {batch} samples = {count(per_sample * batch)}"))
    _agrees(record, "MACs", per_sample * batch, record.cost.macs)
    outputs = prod(out)
    bias = a.get("bias") is not None
    if not a.get("transposed"):
        k = w.shape[1] * prod(kernel)
        adds = f"{k - 1} + 1 (bias)" if bias else f"{k - 1}"
        lines += [
            Line(
                "exact ops",
                f"each output is a {dots(w.shape[1], *kernel)} = {k}-term dot product: "
                f"{k} multiplications, {adds} additions",
            ),
            Line(
                "",
                f"{count(outputs)} outputs: {count(outputs * k)} multiplications, "
                f"{count(outputs * (k - 1 + bias))} additions",
            ),
        ]
    return lines


def _matmul(record: OpRecord) -> list[Line]:
    a = record.args
    name = record.op.split(".")[1]
    left = a.get("mat1") or a.get("batch1") or a.get("self")
    right = a.get("mat2") or a.get("batch2")
    if not isinstance(left, TensorSpec) or not isinstance(right, TensorSpec):
        return _generic(record)
    if name in ("bmm", "baddbmm"):
        b, m, k = left.shape
        n = right.shape[2]
        macs_text = f"{b} batches · {m} rows · {k} inner · {n} columns = {count(b * m * k * n)}"
        outputs, terms = b * m * n, k
        _agrees(record, "MACs", b * m * k * n, record.cost.macs)
    else:
        m, k = left.shape
        n = right.shape[1]
        macs_text = f"{m} rows · {k} in features · {n} out features = {count(m * k * n)}"
        outputs, terms = m * n, k
        _agrees(record, "MACs", m * k * n, record.cost.macs)
    bias = name in ("addmm", "baddbmm")
    adds = f"{terms - 1} + 1 (bias)" if bias else f"{terms - 1}"
    return [
        Line("MACs", f"{macs_text}   ({name} {shape(left.shape)} @ {shape(right.shape)})"),
        Line(
            "exact ops",
            f"each of {count(outputs)} outputs: {terms} multiplications, {adds} additions",
        ),
    ]


def _attention(record: OpRecord) -> list[Line]:
    from netcost.formulas.attention import causal_scores

    a = record.args
    q, k, v = a["query"], a["key"], a["value"]
    heads = prod(q.shape[:-2])
    length, keys, e, ev = q.shape[-2], k.shape[-2], q.shape[-1], v.shape[-1]
    causal = bool(a.get("is_causal"))
    scores = causal_scores(length, keys) if causal else length * keys
    score_text = (
        f"causal: Σ min(i + 1, {keys}) over {length} queries = {count(scores)}"
        if causal
        else f"{length}·{keys} = {count(scores)}"
    )
    _agrees(record, "MACs", heads * scores * (e + ev), record.cost.macs)
    return [
        Line("scores", f"{score_text} per head, {count(heads)} batch·heads"),
        Line(
            "MACs",
            f"{count(heads)} · {count(scores)} · ({e} for Q·Kᵀ + {ev} for P·V) = "
            f"{count(heads * scores * (e + ev))}   ({record.op})",
        ),
    ]


def _multi_head(record: OpRecord) -> list[Line]:
    """nn.MultiheadAttention's fused op: four E × E projections and the heads' attention."""
    a = record.args
    q, k = a["query"], a["key"]
    e, h = a["embed_dim"], a["num_head"]
    (b, length), (_, keys) = (
        (t.shape[0], t.shape[1]) if len(t.shape) == 3 else (1, t.shape[0]) for t in (q, k)
    )
    projections = (2 * b * length + 2 * b * keys) * e * e
    core = b * h * length * keys * 2 * (e // h)
    _agrees(record, "MACs", projections + core, record.cost.macs)
    return [
        Line(
            "projections",
            f"Q and output: 2 · {b}·{length} tokens · {e}·{e}; K and V: 2 · {b}·{keys} tokens · "
            f"{e}·{e} = {count(projections)} MACs",
        ),
        Line(
            "attention",
            f"{b}·{h} batch·heads · {length}·{keys} scores · ({e // h} for Q·Kᵀ + {e // h} for "
            f"P·V) = {count(core)} MACs",
        ),
        Line("MACs", f"{count(projections)} + {count(core)} = {count(record.cost.macs)}"),
    ]


def _pool(record: OpRecord) -> list[Line]:
    """Window reads per dimension (taps in padding or past the input are not read)."""
    from netcost.formulas.pool import window_reads

    geometry = windows(record) or []
    out = record.output_shapes[0]
    leading = out[: len(out) - len(geometry)]
    per_dim = [
        window_reads(w.size, w.out, w.kernel, w.stride, w.padding, w.dilation) for w in geometry
    ]
    reads = prod(leading) * prod(per_dim)
    names = dim_names(len(geometry))
    detail = ", ".join(
        f"{n}: {w.out} windows, {r} reads" for n, w, r in zip(names, geometry, per_dim, strict=True)
    )
    verb = "comparisons" if "max" in record.op else "additions"
    lines = [
        _size_line(geometry),
        Line(
            "window reads",
            f"{dots(*leading)} · {dots(*per_dim)} = {count(reads)} {verb}   ({detail})",
        ),
    ]
    flops = reads
    if "avg" in record.op:  # and one division per output
        flops += prod(out)
        lines.append(
            Line(
                "FLOPs", f"{count(reads)} additions + {count(prod(out))} divisions = {count(flops)}"
            )
        )
    _agrees(record, "FLOPs", flops, record.cost.flops)
    return lines


def _norm(record: OpRecord) -> list[Line]:
    """The per-element and per-group terms of formulas/norm.py, with this layer's numbers."""
    from netcost.formulas.norm import (
        INV_STD_FLOPS,
        NORMALISE_FLOPS,
        RUNNING_UPDATE_FLOPS,
        STATS_FLOPS,
    )

    a = record.args
    x = a["input"]
    elements = prod(x.shape)
    name = record.op.split(".")[1]
    if "layer_norm" in name:
        groups, stats, running = elements // prod(a["normalized_shape"]), True, False
        what = f"{count(groups)} rows of {count(prod(a['normalized_shape']))}"
    elif "group_norm" in name:
        groups, stats, running = a["N"] * a["group"], True, False
        what = f"{a['N']} samples · {a['group']} groups"
    else:
        stats = bool(a.get("training")) and "no_training" not in name
        running = stats and a.get("running_mean") is not None
        groups = x.shape[1] if len(x.shape) > 1 else 1
        what = f"{groups} channels" + (" (batch statistics)" if stats else " (running statistics)")
    terms = [(STATS_FLOPS, "mean and variance")] if stats else []
    terms += [(NORMALISE_FLOPS, "normalise")]
    terms += [(1, "weight")] if a.get("weight") is not None else []
    terms += [(1, "bias")] if a.get("bias") is not None else []
    per_element = sum(n for n, _ in terms)
    per_group = INV_STD_FLOPS + (2 * RUNNING_UPDATE_FLOPS if running else 0)
    spelled = " + ".join(f"{n} {label}" for n, label in terms)
    _agrees(record, "FLOPs", per_element * elements + per_group * groups, record.cost.flops)
    return [
        Line("statistics", what),
        Line(
            "FLOPs",
            f"({spelled}) · {count(elements)} elements + {per_group} · {count(groups)} "
            f"= {count(per_element * elements + per_group * groups)}",
        ),
    ]


class ExplanationMismatch(NetcostError):
    """A derivation that does not reach the number its formula gave: a bug in netcost."""


def _agrees(record: OpRecord, what: str, derived: int, costed: int) -> None:
    """Every number a derivation prints is the formula's, or the explanation is refused."""
    if derived != costed:
        raise ExplanationMismatch(
            f"explaining {record.op}: the derivation of {what} gives {derived:,} but its formula "
            f"gave {costed:,} (a bug in netcost: please report it)"
        )


def _doc(record: OpRecord) -> str:
    entry = lookup(record.op, record.op.rsplit(".", 1)[0])
    text = " ".join((entry.reason if entry else "").split())
    return text.split(". ")[0].rstrip(".") if text else "no formula"


def _generic(record: OpRecord) -> list[Line]:
    c = record.cost
    numbers = ", ".join(
        part
        for part in (
            f"{count(c.macs)} MAC{'s' * (c.macs != 1)}" if c.macs else "",
            f"{count(c.flops)} FLOP{'s' * (c.flops != 1)}" if c.flops else "",
        )
        if part
    )
    return [Line(record.op.split(".")[1], f"{_doc(record)}: {numbers or 'no arithmetic'}")]


def _params(layer: Layer) -> list[Line]:
    if not layer.params:
        return []
    frozen = layer.params - layer.trainable_params
    state = "trainable" if not frozen else f"{count(frozen)} frozen"
    weight_line = _weight_arithmetic(layer)
    text = f"{weight_line} = {count(layer.params)}" if weight_line else count(layer.params)
    return [Line("parameters", f"{text} ({state})")]


def _weight_arithmetic(layer: Layer) -> str:
    """'8 · 4 · 3·3 + 8' for a conv, 'out · in + out' for a linear; '' when not derivable."""
    for record in layer.ops:
        a = record.args
        if record.family == "conv":
            w = a["weight"]
            text = f"{w.shape[0]} · {w.shape[1]} · {dots(*w.shape[2:])}"
            bias = a.get("bias")
            total = prod(w.shape) + (prod(bias.shape) if bias is not None else 0)
            if bias is not None:
                text += f" + {bias.shape[0]}"
            return text if total == layer.params else ""
        if record.op.split(".")[1] in ("addmm", "mm") and isinstance(a.get("mat2"), TensorSpec):
            k, n = a["mat2"].shape
            bias = record.op.split(".")[1] == "addmm"
            total = k * n + (n if bias else 0)
            return f"{n} · {k}" + (f" + {n}" if bias else "") if total == layer.params else ""
    return ""


def _bytes(layer: Layer) -> str:
    c = layer.cost
    return (
        f"read {binary_size(c.bytes_read)} + written {binary_size(c.bytes_written)} = "
        f"{binary_size(c.bytes_moved)}"
    )


def _activation(layer: Layer) -> str:
    if not layer.output_shapes:
        return "none"
    parts = [dots(*s) if s else "1" for s in layer.output_shapes]
    itemsize = (
        layer.activation_bytes // layer.activation_elements if layer.activation_elements else 0
    )
    return (
        f"{' + '.join(parts)} = {count(layer.activation_elements)} elements · {itemsize} B = "
        f"{binary_size(layer.activation_bytes)}"
    )


def _receptive(f: ReceptiveField) -> str:
    """'H and W: 7 input positions, outputs 2 apart, output 0 centered at 0'."""
    groups: dict[tuple, list[str]] = {}
    for name, size, jump, center in zip(
        dim_names(len(f.size)), f.size, f.jump, f.center, strict=True
    ):
        groups.setdefault((size, jump, center), []).append(name)
    parts = []
    for (size, jump, center), names in groups.items():
        where = " and ".join(names)
        if jump == 0:
            parts.append(f"{where}: every output sees the same {size} input positions")
        else:
            parts.append(
                f"{where}: {size} input positions, outputs {jump} apart, output 0 centered at "
                f"{center}"
            )
    return "; ".join(parts) + ("" if f.exact else " (a bound)")
