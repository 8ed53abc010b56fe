"""The calibrated estimate on a named GPU: each kernel of the fused view timed from measured
kernel tables (netcost/gpu_tables.py), never below its floor.

- a matrix kernel whose product is a GEMM (mm, addmm, bmm, baddbmm; a batched product as one of
  batch · M rows) at bf16, fp16 or fp8: the GEMM table at its M, N, K (an fp8 one with few
  rows no slower than the bf16 table streams the same weight, at fp8's bytes); one with int8 or
  int4 weights (weight-only) from the weight-only table where the device has one (A100), else
  the bf16 table — on A100 the measured weight-only kernels at M ≤ 16 run at the bf16 ones'
  times at the median (int4 2 %, int8 7 % faster), not at their weights' bytes;
- an attention kernel in bf16, fp16 or fp8: the decode table for one query per sequence (at its
  batch, cached positions, heads, KV heads, head size and KV dtype), the prefill table for a
  square causal one (the prompt attending to itself); a causal self-attention's backward in bf16
  or fp16: its products at the rate the prefill table's forward kernel of its shape runs;
- every other kernel (point-wise regions, cache writes, look-ups): its bytes at the bandwidth the
  tables reached, plus the tables' launch cost;
- what no table answers (convolutions, fp32 products, attention of other shapes): its floor, and
  the estimate says how many kernels that was.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from netcost.analysis.fusion import FlatOp, Kernel
from netcost.gpu_tables import GEMM_DTYPES, WEIGHT_ONLY, Tables
from netcost.trace import TensorSpec

#: products read from the GEMM table: op packet -> the argument names of its (M×K, K×N) operands
GEMMS = {
    "aten.mm": ("self", "mat2"),
    "aten.addmm": ("mat1", "mat2"),
    "aten.bmm": ("self", "mat2"),
    "aten.baddbmm": ("batch1", "batch2"),
}


@dataclass
class Sources:
    """How many kernels each table answered, and how many it answered past its range."""

    used: Counter[str] = field(default_factory=Counter)
    extrapolated: Counter[str] = field(default_factory=Counter)

    def add(self, source: str, past: bool) -> None:
        """One kernel answered by `source` (`past`: beyond its measured range)."""
        self.used[source] += 1
        if past:
            self.extrapolated[source] += 1

    @classmethod
    def of(cls, answers: Mapping[int, tuple[str, bool]]) -> Sources:
        """The counts of kernels' answers, (source, past its range) by kernel number."""
        sources = cls()
        for source, past in answers.values():
            sources.add(source, past)
        return sources

    def note(self, source: str) -> str:
        parts = []
        for name, n in sorted(self.used.items(), key=lambda kv: -kv[1]):
            past = self.extrapolated.get(name, 0)
            parts.append(f"{n} {name}" + (f" ({past} past its measured range)" if past else ""))
        return f"estimate from {source}: kernels by {', '.join(parts)}"


class Answers(dict[int, tuple[str, bool]]):
    """Kernels' answers by kernel number, (source, past its measured range); `+` is their
    union, so that a call's sum over its children counts a kernel they share once."""

    def __add__(self, other: Mapping[int, tuple[str, bool]]) -> Answers:
        return Answers({**self, **other})


def gemm_dims(o: FlatOp) -> tuple[int, int, int] | None:
    """(M, N, K) of a GEMM op, a batched one's batches folded into M."""
    names = GEMMS.get(o.packet)
    if names is None:
        return None
    a, b = o.args.get(names[0]), o.args.get(names[1])
    if not (isinstance(a, TensorSpec) and isinstance(b, TensorSpec)) or len(a.shape) < 2:
        return None
    rows = 1
    for n in a.shape[:-1]:
        rows *= n
    return rows, b.shape[-1], a.shape[-1]


def _fp8_streamed(dims: tuple[int, int, int], tables: Tables) -> tuple[float, bool] | None:
    """An fp8 GEMM with few rows streams its weight: its time is at most the bf16 table's kernel
    of the same shape, when that one streams its weight (at half the tables' bandwidth or
    more), scaled by the bytes each moves — fp8 operands, bf16 output: (N·K + M·K + 2·M·N) over
    2·(N·K + M·K + M·N). The fp8 table's kernels at small M reach 50–70 % of the bf16 ones'
    streaming rate (B200, N = 10,240, K = 8,192, M = 8: fp8 31.4 µs for 80 MiB, bf16 33.4 µs
    for 160 MiB),
    while engines decode fp8 models at the bf16 rate: Llama-3.1-70B on a B200 at
    concurrency 4, 14.6–16.7 ms a token for 70 GB of weights (aiconfigurator-core's
    silicon_sample.csv)."""
    bf16 = tables.gemm.get("bfloat16")
    if bf16 is None:
        return None
    m, n, k = dims
    seconds, outside = bf16.latency(m, n, k)
    if 2 * n * k / seconds < tables.bandwidth / 2:
        return None
    return seconds * (n * k + m * k + 2 * m * n) / (2 * (n * k + m * k + m * n)), outside


def _weight_only(o: FlatOp) -> str | None:
    """The narrow weight's dtype ("int8", "int4") of a weight-only product, else None."""
    for value in o.args.values():
        if isinstance(value, TensorSpec) and value.dtype in WEIGHT_ONLY:
            return value.dtype
    return None


#: attention's backward ops (formulas/backward.py): no table measures them
ATTENTION_BACKWARD = frozenset({
    "aten._scaled_dot_product_flash_attention_for_cpu_backward",
    "aten._scaled_dot_product_flash_attention_backward",
    "aten._scaled_dot_product_efficient_attention_backward",
    "aten._scaled_dot_product_cudnn_attention_backward",
})  # fmt: skip


def _attention_backward(o: FlatOp, tables: Tables) -> tuple[float, bool] | None:
    """A causal self-attention's backward (as many queries as keys), from the prefill table's
    forward kernel of the same batch, length, heads, KV heads and head size: forward seconds ×
    backward MACs / forward MACs, the forward's B·H·(L·(L + 1) / 2)·(E + Ev) — 2 with the four
    products the formula counts (dV, dP, dQ, dK against QKᵀ and PV). FlashAttention's backward
    also recomputes the scores and runs its products slower than its forward: this errs fast."""
    query, key, value = (o.args.get(n) for n in ("query", "key", "value"))
    if not all(isinstance(t, TensorSpec) and len(t.shape) == 4 for t in (query, key, value)):
        return None
    assert isinstance(query, TensorSpec) and isinstance(key, TensorSpec)
    assert isinstance(value, TensorSpec)
    batch, heads, length, head_dim = query.shape
    if not o.args.get("is_causal") or key.shape[2] != length or tables.context is None:
        return None
    found = tables.context.latency(batch, length, heads, key.shape[1], head_dim, "bfloat16")
    if found is None:
        return None
    forward = batch * heads * length * (length + 1) // 2 * (head_dim + value.shape[3])
    return found[0] * o.cost.macs / forward, found[1]


def kernel_estimate(
    kernel: Kernel, members: list[FlatOp], dtypes: list[str], floor: float, tables: Tables,
    sources: Sources,
) -> float:  # fmt: skip
    """Seconds of one kernel from the tables (its floor where they have no answer), counted
    in `sources`."""
    seconds, source, past = kernel_answer(kernel, members, dtypes, floor, tables)
    sources.add(source, past)
    return seconds


def kernel_answer(
    kernel: Kernel, members: list[FlatOp], dtypes: list[str], floor: float, tables: Tables
) -> tuple[float, str, bool]:
    """(seconds, the table that answered, whether past its measured range) of one kernel."""
    found: tuple[float, bool] | None = None
    source = "the bound (no table)"
    if kernel.kind == "attention" and kernel.attention is not None and kernel.dtype in GEMM_DTYPES:
        batch, heads, kv_heads, queries, keys, head_dim, width = kernel.attention
        kv_dtype = "fp8" if width < 2 else "bfloat16"
        if queries == 1 and tables.generation is not None and keys > 1:
            found = tables.generation.latency(batch, keys - 1, heads, kv_heads, head_dim, kv_dtype)
            source = "the decode attention table"
        elif queries == keys and tables.context is not None:
            found = tables.context.latency(batch, queries, heads, kv_heads, head_dim, kv_dtype)
            source = "the prefill attention table"
    elif kernel.kind == "matrix":
        product = next(
            ((o, d) for o, d in zip(members, dtypes, strict=True) if o.cost.macs), None
        )  # fmt: skip
        dims = gemm_dims(product[0]) if product else None
        name = GEMM_DTYPES.get(product[1], "") if product else ""
        narrow = _weight_only(product[0]) if product else None
        if narrow is not None and name == "bfloat16" and WEIGHT_ONLY[narrow] in tables.gemm:
            name = WEIGHT_ONLY[narrow]  # measured on some devices only
        table = tables.gemm.get(name)
        backward = product is not None and product[0].packet in ATTENTION_BACKWARD
        if backward and product is not None and GEMM_DTYPES.get(product[1]) == "bfloat16":
            found = _attention_backward(product[0], tables)
            source = "the prefill attention table's forward (backward)"
        elif dims is not None and table is not None:
            found = table.latency(*dims)
            source = f"the {name.replace('_wo', ' weight-only')} GEMM table"
            streamed = _fp8_streamed(dims, tables) if name == "fp8" else None
            if streamed is not None and streamed[0] < found[0]:
                found, source = streamed, "the bfloat16 GEMM table's weight streaming (fp8)"
    else:
        found = (kernel.bytes_moved / tables.bandwidth + tables.launch_s, False)
        source = "the tables' bandwidth"
    if found is None:
        source = "the bound (no table)"
        found = (floor, False)
    return max(found[0], floor), source, found[1]
