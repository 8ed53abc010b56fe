"""Leave-one-out accuracy of netcost's interpolation in aiconfigurator-core's measured tables
(issue 20 C; target: median error ≤ 5 % for GEMMs and attention).

    pip install 'netcost[gpu]'; python benchmarks/gpu_tables_loo.py [DEVICE ...]

Each measured point is predicted from the table without it, the way netcost reads the tables:
- GEMM, M held out: from the measured M on either side (same N, K);
- GEMM, N held out: from the table without that N column (the N on either side, scaled);
- attention, length held out: from the table without that length (prompt length for prefill,
  cached positions for decode), at every batch;
- attention, batch held out: the same along the batch.
Only interior points are held out (an edge has one neighbour: that is extrapolation, reported by
netcost as such). Prints the median and 90th-percentile |predicted − measured| / measured, and
for each GEMM table how often a product measured more than 3 % faster than the same M and K at
the next smaller N — what no interpolation between neighbours follows; for a weight-only table
(int8, int4 weights), how far the bf16 table is from it at M ≤ 16, as it stands and scaled by
the bytes the narrow weight saves.
"""

from __future__ import annotations

import statistics
import sys

from netcost.gpu_tables import SYSTEMS, AttentionTable, Curve, GemmTable, Tables, tables

#: the weight-only tables' weight widths (bytes an element)
WIDTH = {"int8_wo": 1.0, "int4_wo": 0.5}


def _summary(errors: list[float]) -> str:
    if not errors:
        return "no interior points"
    errors = sorted(errors)
    p90 = errors[int(0.9 * (len(errors) - 1))]
    median = statistics.median(errors)
    return f"{len(errors):>7,} points  median {100 * median:5.1f} %  p90 {100 * p90:5.1f} %"


def gemm_m(table: GemmTable) -> list[float]:
    errors = []
    for curve in table.curves.values():
        for i in range(1, len(curve.xs) - 1):
            rest = Curve(curve.xs[:i] + curve.xs[i + 1 :], curve.ys[:i] + curve.ys[i + 1 :])
            predicted, _ = rest.at(curve.xs[i])
            errors.append(abs(predicted - curve.ys[i]) / curve.ys[i])
    return errors


def gemm_n(table: GemmTable, stride: int = 4) -> list[float]:
    errors = []
    for n in table.ns[1:-1]:
        rest = GemmTable({key: c for key, c in table.curves.items() if key[0] != n})
        for (cn, k), curve in table.curves.items():
            if cn != n:
                continue
            for m, seconds in list(zip(curve.xs, curve.ys, strict=True))[::stride]:
                predicted, _ = rest.latency(int(m), n, k)
                errors.append(abs(predicted - seconds) / seconds)
    return errors


def faster_at_larger_n(table: GemmTable, margin: float = 0.03) -> str:
    """How often the table measured a product faster than the one beside it with the next
    smaller N (same M and K) by more than `margin`: kernel choices and noise no interpolation
    between neighbours can follow (a larger product is never less work)."""
    drops, steps = [], 0
    for k in table.ks:
        for small, large in zip(table.ns, table.ns[1:], strict=False):
            a, b = table.curves.get((small, k)), table.curves.get((large, k))
            if a is None or b is None:
                continue
            at_b = dict(zip(b.xs, b.ys, strict=True))
            for m, seconds in zip(a.xs, a.ys, strict=True):
                if m in at_b:
                    steps += 1
                    if at_b[m] < (1 - margin) * seconds:
                        drops.append(1 - at_b[m] / seconds)
    if not steps:
        return "no neighbouring N"
    median = f", median {100 * statistics.median(drops):.0f} % faster" if drops else ""
    return f"{len(drops):,} of {steps:,} N steps ({100 * len(drops) / steps:.1f} %){median}"


def from_bf16(tables: Tables, dtype: str, width: float) -> str:
    """A weight-only table's kernels at M ≤ 16 answered from the bf16 table instead: as it
    stands, and scaled by the bytes the narrow weight saves where the bf16 kernel streams its
    weight (at half the tables' bandwidth or more): (N·K·width + 2·M·K + 2·M·N) over
    2·(N·K + M·K + M·N). |error| median (signed median) of each."""
    bf16, table = tables.gemm["bfloat16"], tables.gemm[dtype]
    plain, scaled = [], []
    for (n, k), curve in table.curves.items():
        for m, seconds in zip(curve.xs, curve.ys, strict=True):
            if m > 16:
                continue
            s, _ = bf16.latency(int(m), n, k)
            streams = 2 * n * k / s >= tables.bandwidth / 2
            narrow = (n * k * width + 2 * m * k + 2 * m * n) / (2 * (n * k + m * k + m * n))
            plain.append((s - seconds) / seconds)
            scaled.append((s * (narrow if streams else 1.0) - seconds) / seconds)

    def said(errors: list[float]) -> str:
        median = statistics.median(abs(e) for e in errors)
        return f"{100 * median:.0f} % ({100 * statistics.median(errors):+.0f} %)"

    return f"{len(plain):,} points at M <= 16: as bf16 {said(plain)}; at its bytes {said(scaled)}"


def attention(table: AttentionTable, axis: int) -> list[float]:
    """Hold out each interior length (axis 1) or batch (axis 0) of every grid."""
    errors = []
    for key, grid in table.grids.items():
        values = sorted({point[axis] for point in grid})
        for held in values[1:-1]:
            rest = AttentionTable({key: {p: s for p, s in grid.items() if p[axis] != held}})
            for point, seconds in grid.items():
                if point[axis] != held:
                    continue
                found = rest.latency(point[0], point[1], key[0], key[1], key[2], key[3])
                if found is not None:
                    errors.append(abs(found[0] - seconds) / seconds)
    return errors


def main(devices: list[str]) -> None:
    for device in devices or list(SYSTEMS):
        t = tables(device)
        if t is None:
            print(f"{device}: no tables (not in aiconfigurator-core, or it is not installed)")
            continue
        print(f"{device}: {t.source}")
        for dtype, table in t.gemm.items():
            print(f"  GEMM {dtype:<8} M held out  {_summary(gemm_m(table))}")
            print(f"  GEMM {dtype:<8} N held out  {_summary(gemm_n(table))}")
            print(f"  GEMM {dtype:<8} larger N measured faster  {faster_at_larger_n(table)}")
            if dtype in WIDTH:
                print(f"  GEMM {dtype:<8} from the bf16 table  {from_bf16(t, dtype, WIDTH[dtype])}")
        for name, table in (("prefill", t.context), ("decode", t.generation)):
            if table is None:
                continue
            print(f"  {name:<7} attention length held out  {_summary(attention(table, 1))}")
            print(f"  {name:<7} attention batch held out   {_summary(attention(table, 0))}")


if __name__ == "__main__":
    main(sys.argv[1:])
