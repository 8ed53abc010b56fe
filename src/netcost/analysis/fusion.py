"""The fused view: a trace's ops grouped into the kernels an engine runs (TensorRT-LLM, vLLM,
FlashAttention, torch.compile), read from the trace's dataflow. One pass, four rules:

1. **Attention is one kernel** from Q, K and V to its output, whatever the code wrote: an SDPA op,
   or an eager chain score product → point-wise ops (scale, mask, casts) → softmax → point-wise
   ops (casts, dropout) → weighted sum. No score matrix crosses memory: the kernel reads Q, K and
   V once and writes its output. K and V are read where they come from, through the copies the
   code makes of them (`repeat_kv`'s expansion, casts, `contiguous`): a grouped-query model's
   KV heads, not their repeats. A square mask (L = S > 1 queries and keys) is taken as causal,
   so the floor counts L·(L + 1)/2 of the L·S pairs, as an engine's causal kernel does.
2. **A KV cache is written in place**: a two-input `cat` feeding attention's K or V (transformers'
   `DynamicCache` appends with `cat([past, new])`) writes only its second input into the cache;
   attention then reads the cache once. Partial writes (`index_copy_` into a static cache, a
   slice's `copy_`) and look-ups (embeddings) are kernels of their own at the bytes they touch.
   With `valid_keys`, attention over a cache allocated longer than the context (a static cache)
   reads and computes only the valid positions.
3. **Point-wise, normalisation, reduction and copy ops fuse with their neighbours** (Inductor's
   rule): such an op joins the kernel that produced one of its inputs (the latest), a matrix
   product's included (its epilogue); otherwise it opens a kernel of its own. An intermediate
   read only inside its kernel never leaves it.
4. **Matrix products are kernels of their own** (convolutions, GEMMs, recurrent layers).

A kernel reads each distinct tensor from outside it once, and writes each tensor it makes that
an op outside it reads later (or that nothing reads: the model's outputs). Its floor time is
max(its arithmetic at the peaks of the units that run it, its bytes at full bandwidth): no
implementation of the same kernels can beat it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from math import prod
from typing import Any

from netcost.cost import Cost
from netcost.formulas.attention import attention_cost
from netcost.formulas.free import VIEW_PACKETS
from netcost.trace import OpEvent, TensorSpec, specs_in

#: ops whose K or V result is a copy of their one tensor input (walked through to the source)
COPIES_OF_KV = frozenset({"aten.clone", "aten.contiguous", "aten._to_copy", "aten.expand_copy",
                          "aten.repeat_interleave", "aten.alias_copy"})  # fmt: skip
SOFTMAX = frozenset({"aten._softmax", "aten._safe_softmax", "aten.softmax"})
#: ops that touch part of a tensor (rule 2): their own kernels, at their own bytes
ACCESS = frozenset({
    "aten.copy_", "aten.index_copy_", "aten.index_put_", "aten._index_put_impl_",
    "aten.scatter_", "aten.scatter_add_", "aten.scatter_reduce_", "aten.index_add_",
    "aten.index_fill_", "aten.masked_scatter_", "aten.fill_", "aten.zero_", "aten.embedding",
    "aten._embedding_bag", "aten._embedding_bag_forward_only",
})  # fmt: skip
#: the chain between an eager attention's score product and its softmax, or after the softmax
_CHAIN_STEPS = 6


#: bytes per element of the serving widths (--weight-dtype, --kv-dtype), and the dtype each names
WIDTHS = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5}
WIDTH_DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp8": "float8_e4m3fn", "int8": "int8",
                "int4": "int4"}  # fmt: skip


@dataclass(frozen=True)
class Serving:
    """Quantised serving: every matrix product's weight stored at `weight`'s width — fp8
    products on fp8 units (W8A8), int8/int4 weight-only at the activations' rate — but those of
    the modules at `kept` paths (an LM's output head, which ModelOpt's, vLLM's and AWQ/GPTQ's
    recipes leave at the model's width), and the KV cache at `kv`'s; None keeps the model's
    own."""

    weight: str | None = None
    kv: str | None = None
    kept: tuple[str, ...] = ()


@dataclass(frozen=True)
class FlatOp:
    """One costed op of a trace, in execution order: `owner` is its module call (inference) or
    its phase (a training step)."""

    op: str  # "aten.bmm.default"
    family: str
    args: dict[str, Any]
    outputs: tuple[TensorSpec, ...]
    cost: Cost
    owner: int
    dtype: str = ""  # the dtype its arithmetic runs at, where not its first tensor's
    module: str = ""  # the path of its module call (backward: the layer whose forward made it)

    @property
    def packet(self) -> str:
        return self.op.rsplit(".", 1)[0] if self.op.count(".") >= 2 else self.op

    @property
    def inputs(self) -> list[TensorSpec]:
        return list(specs_in(self.args.values()))


@dataclass(frozen=True)
class Kernel:
    """One kernel of the fused view: the ops it runs (positions in the flat list), the bytes it
    moves, and for attention the arithmetic it does (whatever its ops did: an engine's kernel
    does the same work for an eager chain and an SDPA call) at the dtype of its queries."""

    kind: str  # "attention", "matrix", "vector" (a fused point-wise region), "access"
    members: tuple[int, ...]
    bytes_read: int
    bytes_written: int
    arithmetic: Cost | None = None  # None: its ops' own
    dtype: str = ""  # the dtype `arithmetic` runs at
    #: attention's (batch, heads, KV heads, queries, valid keys, head size, KV bytes an element)
    attention: tuple[int, int, int, int, int, int, float] | None = None

    @property
    def bytes_moved(self) -> int:
        return self.bytes_read + self.bytes_written


def flat_ops(report: Any) -> list[FlatOp]:
    """A report's costed ops in execution order, each owned by its module call's index."""
    pairs = [(m.index, r) for m in report.modules for r in m.ops]
    pairs.sort(key=lambda pair: pair[1].index)
    paths = {m.index: m.path for m in report.modules}
    return [
        FlatOp(r.op, r.family, r.args, r.outputs, r.cost, owner, module=paths[owner])
        for owner, r in pairs
    ]


def view_aliases(events: list[OpEvent]) -> dict[int, int]:
    """Each view's tensor number mapped to its base's (views of views to the first base): the
    dataflow the fused view follows (analysis/fusion.py)."""
    aliases: dict[int, int] = {}
    for event in events:
        if event.packet not in VIEW_PACKETS:
            continue
        base = next((t for t in specs_in(event.args.values())), None)
        if base is None or base.tid < 0:
            continue
        root = aliases.get(base.tid, base.tid)
        for out in event.outputs:
            if out.tid >= 0 and out.tid != base.tid:
                aliases[out.tid] = root
    return aliases


class _Flow:
    """Who writes and who reads each tensor (by its root: a view is its base's)."""

    def __init__(
        self, ops: list[FlatOp], aliases: Mapping[int, int], kv_width: float | None = None
    ) -> None:
        self.ops = ops
        self.aliases = aliases
        self.kv_width = kv_width  # the KV cache's bytes per element (None: the model's)
        self.kv_roots: set[int] = set()  # tensors attention reads as K or V (a cache)
        self.writers: dict[int, list[int]] = defaultdict(list)
        self.readers: dict[int, list[int]] = defaultdict(list)
        self._unknown = 0
        self.input_roots: list[list[int]] = []
        for p, o in enumerate(ops):
            roots = [self.root(t) for t in o.inputs]
            self.input_roots.append(roots)
            for r in dict.fromkeys(roots):
                self.readers[r].append(p)
            for t in o.outputs:
                self.writers[self.root(t)].append(p)

    def root(self, t: TensorSpec) -> int:
        if t.tid < 0:  # not followed: a tensor of its own each time
            self._unknown -= 1
            return self._unknown
        return self.aliases.get(t.tid, t.tid)

    def kv_bytes(self, t: TensorSpec, size: float) -> int:
        """`size` bytes of K or V (of `t`'s dtype) at the KV cache's width."""
        return int(size if self.kv_width is None else size * self.kv_width / t.itemsize)

    def producer(self, t: TensorSpec | int, before: int) -> int | None:
        """The last op before position `before` that wrote `t`."""
        r = t if isinstance(t, int) else self.root(t)
        writes = self.writers.get(r, [])
        i = bisect_left(writes, before)
        return writes[i - 1] if i else None


def quantised(
    ops: list[FlatOp], aliases: Mapping[int, int], weight: str, kept: Collection[str] = ()
) -> list[FlatOp]:
    """`ops` with every matrix product's weight at `weight`'s width: a floating-point operand of
    two dims that no op wrote (a parameter, or a view of one), but in the modules at `kept`
    paths. fp8 products then run at fp8."""
    width, dtype = WIDTHS[weight], WIDTH_DTYPES[weight]
    weights = set(weight_specs(ops, aliases, kept))
    out = []
    for o in ops:
        if o.cost.macs == 0 or o.family != "matmul" or o.module in kept:
            out.append(o)
            continue

        def narrow(value: Any) -> Any:
            is_weight = isinstance(value, TensorSpec) and value.tid >= 0 and len(value.shape) == 2
            if is_weight and aliases.get(value.tid, value.tid) in weights:
                return replace(value, dtype=dtype, itemsize=width)
            return value

        args = {k: narrow(v) for k, v in o.args.items()}
        runs = dtype if args != o.args and weight == "fp8" else o.dtype
        out.append(replace(o, args=args, dtype=runs))
    return out


#: GEMMs a linear layer runs, forward and backward (Transformer Engine's fp8 ones)
LINEAR_GEMMS = frozenset({"aten.mm", "aten.addmm"})


def fp8_products(ops: list[FlatOp], kept: Collection[str] = ()) -> list[FlatOp]:
    """`ops` as Transformer Engine's FP8 recipe runs them (precision "fp8-mixed"): every 2-D
    GEMM — a linear layer's forward, its input gradient and its weight gradient — on fp8 units,
    its floating-point matrix operands read at 1 byte (the quantised copies), its result at its
    own width; but those of the modules at `kept` paths (an LM head), and attention and every
    other op, as traced. The casts that make the fp8 copies are left to the kernels that produce
    the tensors (fused with them, as Transformer Engine's normalisation and activation kernels
    do)."""
    dtype = WIDTH_DTYPES["fp8"]

    def narrow(value: Any) -> Any:
        matrix = isinstance(value, TensorSpec) and len(value.shape) == 2
        if matrix and value.dtype.startswith(("float", "bfloat")):
            return replace(value, dtype=dtype, itemsize=1)
        return value

    return [
        o
        if o.packet not in LINEAR_GEMMS or not o.cost.macs or o.module in kept
        else replace(o, args={k: narrow(v) for k, v in o.args.items()}, dtype=dtype)
        for o in ops
    ]


def weight_specs(
    ops: list[FlatOp], aliases: Mapping[int, int], kept: Collection[str] = ()
) -> dict[int, TensorSpec]:
    """The weights `quantised` narrows, by tensor: each matrix product's floating-point operand
    of two dims that no op wrote, but in the modules at `kept` paths."""
    written = {aliases.get(t.tid, t.tid) for o in ops for t in o.outputs if t.tid >= 0}
    found: dict[int, TensorSpec] = {}
    for o in ops:
        if o.cost.macs == 0 or o.family != "matmul" or o.module in kept:
            continue
        for t in o.inputs:
            root = aliases.get(t.tid, t.tid)
            if (
                len(t.shape) == 2
                and not t.sparse
                and t.dtype.startswith(("float", "bfloat"))
                and t.tid >= 0
                and root not in written
            ):
                found[root] = t
    return found


def kernels(
    ops: list[FlatOp],
    aliases: Mapping[int, int],
    valid_keys: Callable[[int], int | None] | None = None,
    kv_width: float | None = None,
    across_owners: bool = True,
) -> list[Kernel]:
    """The fused view of `ops` (execution order). `aliases` maps a view's tensor number to its
    base's; `valid_keys(owner)` the key positions valid in an op's call (None: all);
    `kv_width`: the KV cache's bytes per element (None: the model's); `across_owners` False:
    point-wise ops join only kernels of their own owner (a training step's phase)."""
    flow = _Flow(ops, aliases, kv_width)
    found: list[Kernel] = []
    done: set[int] = set()  # positions already in a kernel

    def add(kernel: Kernel) -> None:
        done.update(kernel.members)
        found.append(kernel)

    appends: set[int] = set()
    for kernel in _attention(flow, valid_keys, appends):
        if done.isdisjoint(kernel.members):
            add(kernel)
    for p in sorted(appends - done):
        new = ops[p].inputs[-1]
        written = new.distinct_elements * new.itemsize
        add(Kernel("access", (p,), flow.kv_bytes(new, new.nbytes), flow.kv_bytes(new, written)))
    regions: dict[int, list[int]] = {}  # a matrix or vector kernel's first op -> its ops
    region_of: dict[int, int] = {}  # op -> the first op of its region
    for p, o in enumerate(ops):
        if p in done:
            continue
        if o.cost.macs == 0 and o.packet in ACCESS:
            add(_access(flow, p, o))
            continue
        if o.cost.macs == 0:  # rule 3: join the latest region that made one of its inputs
            producers = {flow.producer(r, p) for r in flow.input_roots[p]}
            joinable = [
                region_of[q]
                for q in producers
                if q in region_of and (across_owners or ops[region_of[q]].owner == o.owner)
            ]
            if joinable:
                region_of[p] = max(joinable)
                regions[region_of[p]].append(p)
                continue
        regions[p], region_of[p] = [p], p
    for first, members in regions.items():
        read, written = _region_bytes(flow, members)
        kind = "matrix" if ops[first].cost.macs > 0 else "vector"
        found.append(Kernel(kind, tuple(members), read, written))
    return sorted(found, key=lambda k: min(k.members))


def _access(flow: _Flow, p: int, o: FlatOp) -> Kernel:
    """Rule 2: a partial write or look-up at the bytes it touches (a KV cache's at its width)."""
    read, written = o.cost.bytes_read, o.cost.bytes_written
    target = o.args.get("self")
    if isinstance(target, TensorSpec) and flow.root(target) in flow.kv_roots:
        read, written = flow.kv_bytes(target, read), flow.kv_bytes(target, written)
    return Kernel("access", (p,), read, written)


def _region_bytes(flow: _Flow, members: list[int]) -> tuple[int, int]:
    """A region reads each tensor from outside it once and writes each tensor it makes that is
    read after it by another op, or by none."""
    inside = set(members)
    first_write: dict[int, int] = {}
    read: dict[int, int] = {}
    made: dict[int, int] = {}
    for p in members:
        o = flow.ops[p]
        for t, r in zip(o.inputs, flow.input_roots[p], strict=True):
            if r not in first_write:
                read[r] = max(read.get(r, 0), t.nbytes)
        for t in o.outputs:
            r = flow.root(t)
            first_write.setdefault(r, p)
            made[r] = max(made.get(r, 0), t.nbytes)
    written = 0
    for r, size in made.items():
        readers = flow.readers.get(r, [])
        outside = [q for q in readers if q not in inside and q > first_write[r]]
        if outside or not any(q in inside and q > first_write[r] for q in readers):
            written += size
    return sum(read.values()), written


def _attention(
    flow: _Flow, valid_keys: Callable[[int], int | None] | None, appends: set[int]
) -> Iterable[Kernel]:
    """Rule 1: SDPA ops and eager score → softmax → weighted-sum chains."""
    ops = flow.ops
    for p, o in enumerate(ops):
        if o.family == "attention" and "scaled_dot_product" in o.op:
            q, k, v = o.args["query"], o.args["key"], o.args["value"]
            mask = o.args.get("attn_mask", o.args.get("attn_bias"))
            masked = isinstance(mask, TensorSpec) or bool(o.args.get("is_causal", False))
            yield _attention_kernel(flow, [p], q, k, v, o.outputs[0], p, masked,
                                    valid_keys, appends)  # fmt: skip
        elif o.packet in SOFTMAX:
            chain = _eager_chain(flow, p)
            if chain is not None:
                yield _attention_kernel(flow, *chain, valid_keys, appends)


#: an eager attention chain: its ops, Q, K, V, its output, its first op, masked or not
_Chain = tuple[list[int], TensorSpec, TensorSpec, TensorSpec, TensorSpec, int, bool]


def _eager_chain(flow: _Flow, softmax: int) -> _Chain | None:
    """(members, Q, K, V, output, first op, masked) of an eager attention around `softmax`;
    masked: a mask as large as the scores' last two dims was applied to them."""
    ops = flow.ops
    scores = ops[softmax].inputs[0]
    members = [softmax]
    x, at = scores, softmax
    mask_square = False
    for _ in range(_CHAIN_STEPS):
        q = flow.producer(x, at)
        if q is None:
            return None
        if ops[q].cost.macs > 0:
            break
        same = [t for t in ops[q].inputs if t.numel == scores.numel]
        others = [t for t in ops[q].inputs if t.numel != scores.numel and len(t.shape) >= 2]
        mask_square |= any(t.shape[-2:] == scores.shape[-2:] for t in others)
        if not same or ops[q].packet in ACCESS:
            return None
        members.append(q)
        x, at = same[0], q
    else:
        return None
    product = ops[q]
    if product.family != "matmul":
        return None
    pair = product.inputs[-2:]
    if len(pair) != 2:
        return None
    members.append(q)
    y, at = ops[softmax].outputs[0], softmax
    for _ in range(_CHAIN_STEPS):
        later = [c for c in flow.readers.get(flow.root(y), []) if c > at]
        if len(later) != 1:
            return None
        c = later[0]
        if ops[c].cost.macs > 0:
            inputs = ops[c].inputs
            if ops[c].family != "matmul" or flow.root(inputs[-2]) != flow.root(y):
                return None
            members.append(c)
            mask_square |= any(
                t.shape[-2:] == scores.shape[-2:] and t.numel != scores.numel
                for m in members
                for t in ops[m].inputs
            )
            return (members, pair[0], pair[1], inputs[-1], ops[c].outputs[0], q, mask_square)
        if not ops[c].outputs or ops[c].packet in ACCESS:
            return None
        members.append(c)
        y, at = ops[c].outputs[0], c
    return None


def _source(flow: _Flow, t: TensorSpec, before: int, members: list[int], appends: set[int]):
    """Where attention's K or V comes from: through copies of it back to the tensor an engine
    keeps (a cache, a projection's output); a two-input cat there is a cache append."""
    for _ in range(_CHAIN_STEPS):
        q = flow.producer(t, before)
        if q is None:
            return t
        o = flow.ops[q]
        if o.packet in COPIES_OF_KV and len(o.inputs) == 1:
            members.append(q)
            t, before = o.inputs[0], q
            continue
        tensors = o.args.get("tensors")
        if o.packet == "aten.cat" and isinstance(tensors, tuple) and len(tensors) == 2:
            appends.add(q)
        return o.outputs[0] if o.packet == "aten.cat" else t
    return t


def _attention_kernel(
    flow: _Flow,
    members: list[int],
    q: TensorSpec,
    k: TensorSpec,
    v: TensorSpec,
    out: TensorSpec,
    first: int,
    masked: bool,
    valid_keys: Callable[[int], int | None] | None,
    appends: set[int],
) -> Kernel:
    members = list(members)
    before = min(members)
    k_src = _source(flow, k, before, members, appends)
    v_src = _source(flow, v, before, members, appends)
    flow.kv_roots |= {flow.root(k_src), flow.root(v_src)}
    length = q.shape[-2] if len(q.shape) >= 2 else 1
    keys = k.shape[-1] if flow.ops[first].family == "matmul" else k.shape[-2]
    share = 1.0
    cap = valid_keys(flow.ops[first].owner) if valid_keys else None
    if cap is not None and 0 < cap < keys:
        share = cap / keys
    valid = round(keys * share)
    heads = prod(q.shape[:-2]) if len(q.shape) > 2 else 1
    causal = masked and length == valid > 1  # a square mask: taken as causal
    arithmetic = attention_cost(
        (heads, length, q.shape[-1]), (heads, valid, q.shape[-1]), (heads, valid, v.shape[-1]),
        is_causal=causal,
    )  # fmt: skip
    kv = flow.kv_bytes(k_src, k_src.nbytes) + flow.kv_bytes(v_src, v_src.nbytes)
    read = q.nbytes + int(kv * share)
    members_ = tuple(sorted(set(members)))
    fp8 = flow.kv_width is not None and flow.kv_width < 2  # an fp8 cache: fp8 attention kernels
    dtype = WIDTH_DTYPES["fp8"] if fp8 else q.dtype
    if len(q.shape) == 4:
        batch, heads = q.shape[0], q.shape[1]
    else:  # an eager chain's (batch · heads, L, E)
        batch, heads = 1, heads
    kv_heads = k_src.numel // max(batch * keys * q.shape[-1], 1) if k_src.numel else heads
    kv_heads = kv_heads if 0 < kv_heads <= heads else heads
    width = flow.kv_width or float(k_src.itemsize)
    shape = (batch, heads, kv_heads, length, valid, q.shape[-1], width)
    return Kernel("attention", members_, read, out.nbytes, arithmetic, dtype, shape)
