"""Measured kernel tables of named GPUs: NVIDIA's aiconfigurator-core (Apache-2.0, the optional
extra `pip install 'netcost[gpu]'`, version AIC_VERSION) ships per-op latencies measured under
TensorRT-LLM — GEMMs by M·N·K and dtype, prefill ("context") attention by batch, length, heads,
KV heads, head size and dtypes, decode ("generation") attention by batch and cached length —
for A100, H100, H200, B200, L40S, L4 and others. netcost reads them where the package installs
them (never a copy in this repository), keeps what it derives in its cache, and interpolates:

- a GEMM: on the grid of N and K (log-spaced), each corner's latency read at M (linear between
  measured M; past the largest M, proportional to M), scaled by N·K over the corner's, then
  combined with weights linear in log N and log K (in log latency);
- attention: bilinear in (log batch, log length) on log latency, for the measured head counts
  nearest the query (latency scaled by query heads over the table's when they differ);
- a memory-bound kernel: its bytes at the bandwidth the GEMM table reaches streaming a weight
  (M = 1, the median of the largest weights), plus a launch: the table's fastest kernel.

A query outside a table's range is answered from its edge and marked extrapolated.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

AIC_VERSION = "0.12.0"
#: netcost's device names -> aiconfigurator-core's systems
SYSTEMS = {
    "h100-sxm": "h100_sxm", "h100-pcie": "h100_pcie", "h200": "h200_sxm", "b200": "b200_sxm",
    "a100-80gb-sxm": "a100_sxm", "l40s": "l40s", "l4": "l4",
}  # fmt: skip
#: the devices whose tables the pinned package holds (a test reads the installed package)
MEASURED = ("h100-sxm", "h200", "b200", "a100-80gb-sxm", "l40s")
BACKEND = "trtllm"
#: the GEMM tables' dtypes netcost reads (fp16 products are read as bf16 ones: the same rate)
GEMM_DTYPES = {"bfloat16": "bfloat16", "float16": "bfloat16", "float8_e4m3fn": "fp8"}
#: weight-only GEMMs (int8 or int4 weights, bf16 activations) by the weight's dtype: tables the
#: package measured on some devices only (A100); elsewhere the bf16 table answers
WEIGHT_ONLY = {"int8": "int8_wo", "int4": "int4_wo"}
#: the GEMM tables' dtypes as netcost's cache codes them
GEMM_CODES = {"bfloat16": 0, "fp8": 1, "int8_wo": 2, "int4_wo": 3}
#: bumped when what the cache holds changes (2: the weight-only GEMMs)
CACHE_FORMAT = 2


def _bracket(grid: Sequence[float], x: float) -> tuple[int, int, float, bool]:
    """(i, j, w, outside): x between grid[i] and grid[j] at weight w in log space; clamped to
    the edge (outside True) past either end."""
    if x <= grid[0]:
        return 0, 0, 0.0, x < grid[0]
    if x >= grid[-1]:
        return len(grid) - 1, len(grid) - 1, 0.0, x > grid[-1]
    j = bisect_left(grid, x)
    if grid[j] == x:
        return j, j, 0.0, False
    i = j - 1
    return i, j, math.log(x / grid[i]) / math.log(grid[j] / grid[i]), False


@dataclass(frozen=True)
class Curve:
    """Latency (s) against one size, measured at `xs` (sorted)."""

    xs: tuple[float, ...]
    ys: tuple[float, ...]

    def at(self, x: float) -> tuple[float, bool]:
        """Linear between measured points; past the last, proportional to x; below the first,
        held. (latency, extrapolated)."""
        xs, ys = self.xs, self.ys
        if x >= xs[-1]:
            return ys[-1] * x / xs[-1], x > xs[-1]
        if x <= xs[0]:
            return ys[0], x < xs[0]
        j = bisect_left(xs, x)
        if xs[j] == x:
            return ys[j], False
        i = j - 1
        w = (x - xs[i]) / (xs[j] - xs[i])
        return ys[i] + w * (ys[j] - ys[i]), False


@dataclass
class GemmTable:
    """GEMM latencies of one dtype: a curve over M for each (N, K) of the grid."""

    curves: dict[tuple[int, int], Curve]
    ns: tuple[int, ...] = ()
    ks: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        self.ns = tuple(sorted({n for n, _ in self.curves}))
        self.ks = tuple(sorted({k for _, k in self.curves}))

    def latency(self, m: int, n: int, k: int) -> tuple[float, bool]:
        """Seconds of an M×K by K×N product, and whether it was extrapolated."""
        i0, i1, wn, out_n = _bracket(self.ns, n)
        j0, j1, wk, out_k = _bracket(self.ks, k)
        log_sum, weight_sum, outside = 0.0, 0.0, out_n or out_k
        for ni, a in ((self.ns[i0], 1 - wn), (self.ns[i1], wn)):
            for kj, b in ((self.ks[j0], 1 - wk), (self.ks[j1], wk)):
                if a * b == 0 or (ni, kj) not in self.curves:
                    continue
                seconds, out_m = self.curves[(ni, kj)].at(m)
                outside |= out_m
                log_sum += a * b * math.log(seconds * n * k / (ni * kj))
                weight_sum += a * b
        if not weight_sum:  # a corner missing from the grid: the nearest present
            ni, kj = min(self.curves, key=lambda c: abs(math.log(c[0] * c[1] / (n * k))))
            seconds, _ = self.curves[(ni, kj)].at(m)
            return seconds * n * k / (ni * kj), True
        return math.exp(log_sum / weight_sum), outside


@dataclass
class AttentionTable:
    """Attention latencies by (heads, KV heads, head size, KV dtype): a grid over (batch,
    length) — the prompt's length for prefill, the cached positions for decode."""

    grids: dict[tuple[int, int, int, str], dict[tuple[int, int], float]]

    def latency(
        self, batch: int, length: int, heads: int, kv_heads: int, head_dim: int, kv_dtype: str
    ) -> tuple[float, bool] | None:
        keys = [key for key in self.grids if key[2] == head_dim and key[3] == kv_dtype]
        if not keys:
            return None
        ratio = heads / max(kv_heads, 1)

        def distance(key: tuple[int, int, int, str]) -> float:
            return abs(math.log(key[0] / heads)) + abs(math.log(key[0] / key[1] / ratio))

        key = min(keys, key=distance)
        scaled = key[0] != heads or key[1] != kv_heads
        grid = self.grids[key]
        batches = sorted({b for b, _ in grid})
        lengths = sorted({s for _, s in grid})
        b0, b1, wb, out_b = _bracket(batches, batch)
        s0, s1, ws, out_s = _bracket(lengths, length)
        log_sum = weight_sum = 0.0
        for bi, a in ((batches[b0], 1 - wb), (batches[b1], wb)):
            for si, c in ((lengths[s0], 1 - ws), (lengths[s1], ws)):
                if a * c == 0 or (bi, si) not in grid:
                    continue
                log_sum += a * c * math.log(grid[(bi, si)])
                weight_sum += a * c
        if not weight_sum:
            return None
        seconds = math.exp(log_sum / weight_sum) * heads / key[0]
        # past the measured batches or lengths: the edge's latency, scaled by the work
        if out_b:
            seconds *= batch / batches[b0]
        if out_s:
            seconds *= length / lengths[s0]
        return seconds, out_b or out_s or scaled


@dataclass
class Tables:
    """One GPU's tables and what netcost derives from them."""

    system: str
    source: str  # "aiconfigurator-core 0.12.0, trtllm 1.3.0rc20, h100_sxm"
    gemm: dict[str, GemmTable]  # by table dtype: "bfloat16", "fp8", "int8_wo", "int4_wo"
    context: AttentionTable | None
    generation: AttentionTable | None
    bandwidth: float  # bytes/s a GEMM streaming its weight reached (M = 1)
    launch_s: float  # the fastest kernel of the GEMM table
    notes: tuple[str, ...] = field(default_factory=tuple)


def _package_root() -> Path | None:
    try:
        from importlib import metadata, resources

        version = metadata.version("aiconfigurator-core")
        root = resources.files("aiconfigurator_core") / "systems" / "data"
    except Exception:  # not installed
        return None
    if version != AIC_VERSION:
        return None
    return Path(str(root))


def available() -> bool:
    """Whether the pinned aiconfigurator-core is installed."""
    return _package_root() is not None


def measured() -> str:
    """MEASURED in words: "h100-sxm, h200, … and l40s"."""
    return ", ".join(MEASURED[:-1]) + " and " + MEASURED[-1]


def missing(device: str, installed: bool | None = None) -> str:
    """Why `device` gets no calibrated estimate from measured tables ("" where it gets one).
    `installed` stands for whether the pinned package is (None: look)."""
    if device not in MEASURED:
        return f"aiconfigurator-core {AIC_VERSION} measured no kernels on it (only {measured()})"
    if not (available() if installed is None else installed):
        return (f"its measured kernel tables come with pip install 'netcost[gpu]' "
                f"(aiconfigurator-core {AIC_VERSION})")  # fmt: skip
    return ""


@cache
def tables(device: str) -> Tables | None:
    """The tables of a netcost device (None: no such system, or the extra is not installed)."""
    system = SYSTEMS.get(device)
    root = _package_root()
    if system is None or root is None or not (root / system).is_dir():
        return None
    return _load(root / system, system)


def _latest(folder: Path, holding: str) -> Path | None:
    """The newest version folder under `folder` that holds the file `holding`."""
    from packaging.version import InvalidVersion, Version

    def key(p: Path) -> Any:
        try:
            return Version(p.name)
        except InvalidVersion:
            return Version("0")

    found = [p for p in folder.iterdir() if (p / holding).is_file()] if folder.is_dir() else []
    return max(found, key=key) if found else None


def _load(root: Path, system: str) -> Tables | None:
    """Read the tables (through netcost's cache of what it derives from them)."""
    import numpy as np

    gemm_dir = _latest(root / "gemm" / BACKEND, "gemm_perf.parquet")
    if gemm_dir is None:
        return None
    attention_dir = _latest(root / "attention" / BACKEND, "context_attention_perf.parquet")
    cache_file = _cache_dir() / f"{system}-{BACKEND}-{gemm_dir.name}-{CACHE_FORMAT}.npz"
    if cache_file.is_file():
        data = dict(np.load(cache_file, allow_pickle=False))
    else:
        data = _derive(gemm_dir, attention_dir)
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        partial = cache_file.with_suffix(".tmp.npz")
        np.savez_compressed(partial, **data)
        partial.replace(cache_file)
    gemm: dict[str, GemmTable] = {}
    for dtype, number in GEMM_CODES.items():
        code = data["gemm_dtype"] == number
        rows: dict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)
        for m, n, k, lat in zip(*(data[c][code] for c in ("m", "n", "k", "lat")), strict=True):
            rows[(int(n), int(k))].append((float(m), float(lat)))
        if rows:
            gemm[dtype] = GemmTable({key: _curve(points) for key, points in rows.items()})
    context = _attention(data, "ctx") if "ctx_lat" in data else None
    generation = _attention(data, "gen") if "gen_lat" in data else None
    source = (
        f"aiconfigurator-core {AIC_VERSION} measured tables ({BACKEND} {gemm_dir.name}, {system})"
    )
    return Tables(system, source, gemm, context, generation, float(data["bandwidth"]),
                  float(data["launch"]))  # fmt: skip


def _curve(points: list[tuple[float, float]]) -> Curve:
    points.sort()
    return Curve(tuple(p[0] for p in points), tuple(p[1] for p in points))


def _attention(data: dict[str, Any], prefix: str) -> AttentionTable:
    grids: dict[tuple[int, int, int, str], dict[tuple[int, int], float]] = defaultdict(dict)
    columns = ("heads", "kv_heads", "head_dim", "kv_fp8", "batch", "length", "lat")
    for h, kv, d, fp8, b, s, lat in zip(*(data[f"{prefix}_{c}"] for c in columns), strict=True):
        grids[(int(h), int(kv), int(d), "fp8" if fp8 else "bfloat16")][(int(b), int(s))] = float(
            lat
        )
    return AttentionTable(dict(grids))


def _cache_dir() -> Path:
    import os

    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "netcost" / "gpu" / AIC_VERSION


def _derive(gemm_dir: Path, attention_dir: Path | None) -> dict[str, Any]:
    """Columns netcost keeps from the package's parquet tables: latencies in seconds; bf16, fp8
    and weight-only (int8, int4) GEMMs; attention without a sliding window, bf16 queries; the
    achieved bandwidth and the launch cost."""
    import numpy as np
    import pandas as pd

    g = pd.read_parquet(gemm_dir / "gemm_perf.parquet", columns=["gemm_dtype", "m", "n", "k",
                                                                 "latency"])  # fmt: skip
    g = g[g.gemm_dtype.isin(list(GEMM_CODES))]
    out: dict[str, Any] = {
        "gemm_dtype": g.gemm_dtype.map(GEMM_CODES).to_numpy(np.int8),
        "m": g.m.to_numpy(np.int64),
        "n": g.n.to_numpy(np.int64),
        "k": g.k.to_numpy(np.int64),
        "lat": g.latency.to_numpy(np.float64) * 1e-3,
    }
    streaming = g[(g.gemm_dtype == "bfloat16") & (g.m == 1)]
    largest = streaming.assign(weight=streaming.n * streaming.k).nlargest(20, "weight")
    out["bandwidth"] = np.array(float(np.median(largest.weight * 2 / (largest.latency * 1e-3))))
    out["launch"] = np.array(float(g.latency.min()) * 1e-3)
    if attention_dir is not None:
        for prefix, name, length in (("ctx", "context", "isl"), ("gen", "generation", "step")):
            path = attention_dir / f"{name}_attention_perf.parquet"
            if not path.is_file():
                continue
            a = pd.read_parquet(path)
            a = a[(a.window_size == 0) & (a.attn_dtype == "bfloat16")]
            a = a.groupby(["num_heads", "num_key_value_heads", "head_dim", "kv_cache_dtype",
                           "batch_size", length], as_index=False).latency.median()  # fmt: skip
            out[f"{prefix}_heads"] = a.num_heads.to_numpy(np.int64)
            out[f"{prefix}_kv_heads"] = a.num_key_value_heads.to_numpy(np.int64)
            out[f"{prefix}_head_dim"] = a.head_dim.to_numpy(np.int64)
            out[f"{prefix}_kv_fp8"] = (a.kv_cache_dtype == "fp8").to_numpy(np.int8)
            out[f"{prefix}_batch"] = a.batch_size.to_numpy(np.int64)
            out[f"{prefix}_length"] = a[length].to_numpy(np.int64)
            out[f"{prefix}_lat"] = a.latency.to_numpy(np.float64) * 1e-3
    return out
