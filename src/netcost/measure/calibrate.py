"""`netcost calibrate`: this machine's peaks and efficiencies, measured in well under a minute and
saved as a device (`--device local`).

Measured on the local device (CUDA when present, else the CPU). Every probe is timed in ROUNDS
passes over all of them (one warm-up run, then REPEATS timed runs a pass), so that a momentary
slowdown of a shared machine weighs on every probe alike. Peaks are the fastest run (a roofline
bound must not exceed any run); efficiencies and overheads are medians, the statistic
`--profile` reports:
- the fp32 matrix peak: the fastest rate of any product timed (square products, 2·n³ FLOPs,
  linear layers, convolutions, attention cores: on a CPU oneDNN's convolutions can outrun
  BLAS's square products); the bf16 peak: a 1,024² square product;
- efficiency by family and size, rate ÷ peak against FLOPs (an estimate interpolates in log
  FLOPs): linear layers' products (x·Wᵀ + b, as models run them), dense, 1 × 1 and depthwise
  convolutions, fused attention cores; on a CPU convolutions named by the path PyTorch gives
  them (`_native`: its own im2col + BLAS; measure/conv_path.py); a rate is the FLOPs over
  (median time − the per-op overhead), so that an estimate, which adds the overhead back,
  reproduces each probe;
- the fp32 vector rate: on a CPU the fp32 matrix peak (the same SIMD units); on a GPU additions
  on arrays that fit in cache;
- memory bandwidth: copies from 256 KiB (in cache) to 256 MiB (memory), bytes read + written
  over time; the device's bandwidth is the fastest, and an estimate reads the curve at the op's
  bytes;
- vector families: max pooling, batch norm, layer norm (over the channels of each position),
  means over each channel's positions (reductions),
  ReLU (out of place, and in place for in-place point-wise ops), SiLU (for the transcendental
  point-wise ops: SiLU, sigmoid, tanh, exp, softmax) and GELU apart (its erf costs more: 15 µs
  for 64 elements where SiLU takes 2 µs here) on activations of 64 × 112², 96 × 28², 256 × 7²
  and 64 × 1², each rate over the vector rate against its FLOPs;
- per-op overhead: an addition of two one-element tensors (dispatch and launch), and per-module
  overhead: a chain of 64 Linear(16, 16) layers on one row, per layer, less the per-op overhead;
  what an empty layer adds right after a product and right after the caches' eviction;
- every product and out-of-place vector kernel again with all but its input evicted from the
  caches (`{family}_cold`, `{family}_cold_curve`: a 32 MiB copy, then its input read back in),
  and the last-level cache's size (`cache_bytes`);
A calibrated estimate of an op is max(FLOPs / (peak · efficiency), bytes / bandwidth) + the
per-op overhead; a layer's is its ops' plus the module overhead of each call inside it.
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from netcost.formulas.norm import normalisation_cost
from netcost.formulas.rnn import CELL_FLOPS
from netcost.measure.conv_path import conv_family, native_conv
from netcost.measure.profile import describe, local_device, timings

MATMUL_SIDES = (64, 128, 256, 512, 1024, 2048)
#: (batch, in channels, side, out channels, kernel, stride) of dense convolutions: from a
#: ResNet's stem to its last stage
CONVS = ((1, 3, 224, 64, 7, 2), (1, 64, 56, 64, 3, 1), (1, 128, 28, 128, 3, 1),
         (1, 256, 14, 256, 3, 1), (1, 512, 7, 512, 3, 1), (8, 64, 56, 64, 3, 1),
         # few channels, as small and mobile networks have
         (1, 3, 224, 16, 3, 2), (64, 1, 28, 8, 3, 2),
         # small maps, which a CPU runs through PyTorch's own path (measure/conv_path.py)
         (1, 16, 7, 16, 3, 1), (1, 32, 14, 32, 3, 1), (1, 64, 14, 64, 3, 1),
         (1, 256, 7, 256, 3, 1),
         # a batch of small images (MNIST, CIFAR sizes)
         (64, 3, 32, 16, 3, 1), (64, 16, 16, 32, 3, 2))  # fmt: skip
#: (batch, in channels, side, out channels) of 1 × 1 convolutions: a ResNet's bottleneck
#: expansions and reductions, mobile networks' few-channel ones on either of a CPU's paths, and
#: squeeze-and-excitation's on one pooled position
CONVS_1X1 = ((1, 64, 56, 256), (1, 256, 56, 64), (1, 128, 28, 512), (1, 512, 28, 128),
             (1, 256, 14, 1024), (1, 1024, 14, 256), (1, 16, 56, 72), (1, 32, 56, 32),
             (1, 32, 28, 128), (1, 128, 28, 32), (1, 128, 14, 32), (1, 512, 7, 128),
             (1, 24, 28, 96), (1, 16, 28, 64), (1, 96, 14, 40), (1, 32, 14, 128),
             (1, 64, 14, 512), (1, 128, 7, 32), (1, 384, 7, 384), (1, 256, 7, 1024),
             (1, 64, 1, 16), (1, 256, 1, 64))  # fmt: skip
#: (rows, inner, columns) of linear layers' products: a batch through an MLP, a transformer's
#: tokens through its projections, a classifier's head, one row through small layers
LINEARS = ((1, 2048, 1000), (8, 512, 1000), (64, 256, 256), (128, 768, 768), (197, 768, 2304),
           (64, 1024, 4096), (512, 1024, 1024), (1024, 2048, 2048), (1, 64, 64),
           (1, 256, 256))  # fmt: skip
#: (batch, heads, tokens, head width) of attention cores (BERT, ViT-B/16, a longer sequence, a
#: short one)
ATTENTION = ((1, 12, 128, 64), (1, 12, 197, 64), (1, 16, 512, 64), (8, 12, 128, 64),
             (1, 2, 16, 32))  # fmt: skip
#: (channels, side, kernel, stride) of depthwise convolutions (MobileNet, EfficientNet, ConvNeXt)
DEPTHWISE = ((32, 112, 3, 1), (96, 56, 3, 2), (144, 56, 3, 1), (384, 14, 3, 1), (96, 56, 7, 1),
             (64, 7, 3, 1))  # fmt: skip

#: (steps, batch, inputs, hidden) of one-layer LSTMs, which run as one fused kernel
RNNS = ((8, 1, 64, 128), (16, 4, 128, 256), (32, 8, 512, 256), (32, 16, 256, 1024))

#: bytes a copy reads (and as many it writes) to evict the caches before a cold product
COLD_BYTES = 1 << 25

#: float32 elements copied to find the bandwidth at each working-set size: 256 KiB to 256 MiB
COPY_SIZES = (1 << 16, 1 << 18, 1 << 20, 1 << 22, 1 << 24, 1 << 26)

#: (channels, side) of the activations vector kernels are timed on: a stem's, a middle stage's,
#: a last stage's and a pooled one (small tensors run further from the vector peak)
VECTOR_SHAPES = ((64, 112), (96, 28), (256, 7), (64, 1))

#: passes over every probe, and timed runs of each probe a pass (after one warm-up run)
ROUNDS = 12
REPEATS = 2


@dataclass(eq=False)
class Probe:
    """One kernel timed by the calibration: its family, its work (FLOPs; bytes moved for a
    copy), the bytes it reads and writes, what runs untimed before each run (a product that
    writes its input), and, over the rounds, its times."""

    family: str
    work: float
    run: Callable[[], Any]
    moved: float = 0.0
    before: Callable[[], Any] | None = None
    inputs: tuple[torch.Tensor, ...] = ()  # its activation inputs (not its weights)
    samples: list[float] = field(default_factory=list)

    def point(self, share: float) -> list[float]:
        """[work, efficiency] — with its intensity (work ÷ bytes moved) where it moves any."""
        return [self.work, share, self.work / self.moved] if self.moved else [self.work, share]


def _products(device: str) -> list[Probe]:
    """Matrix products: square (for the peak), linear layers (x·Wᵀ + b, as models run them),
    convolutions (dense, 1 × 1, depthwise) and fused attention cores; fp32."""
    f = torch.nn.functional
    probes = []
    for n in MATMUL_SIDES:
        a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
        probes.append(Probe("square", 2.0 * n**3, lambda a=a, b=b: a @ b))
    for rows, inner, cols in LINEARS:
        x = torch.randn(rows, inner, device=device)
        w, bias = torch.randn(cols, inner, device=device), torch.randn(cols, device=device)
        run = lambda x=x, w=w, b=bias: f.linear(x, w, b)  # noqa: E731
        moved = 4.0 * (rows * inner + cols * inner + cols + rows * cols)
        probes.append(Probe("matmul", 2.0 * rows * inner * cols, run, moved, inputs=(x,)))
    convs = [(*c, 1) for c in CONVS]
    convs += [(batch, cin, side, cout, 1, 1, 1) for batch, cin, side, cout in CONVS_1X1]
    convs += [(1, c, side, c, k, stride, c) for c, side, k, stride in DEPTHWISE]
    probes += [_conv(device, *c) for c in convs]
    for batch, heads, tokens, width in ATTENTION:
        q, k, v = (torch.randn(batch, heads, tokens, width, device=device) for _ in range(3))
        run = lambda q=q, k=k, v=v: f.scaled_dot_product_attention(q, k, v)  # noqa: E731
        moved = 4.0 * 4 * q.numel()  # q, k, v read, the output written
        work = 4.0 * batch * heads * tokens * tokens * width
        probes.append(Probe("attention", work, run, moved, inputs=(q, k, v)))
    for steps, batch, inputs, hidden in RNNS:
        lstm = torch.nn.LSTM(inputs, hidden).to(device)
        x = torch.randn(steps, batch, inputs, device=device)
        # netcost's count (formulas/rnn.py): T·B·4H·(I + H) MACs; per step and hidden unit, 4
        # gate sums, 8 bias adds and the cell's arithmetic
        flops = steps * batch * hidden * (8.0 * (inputs + hidden) + 4 + 8 + CELL_FLOPS[4])
        moved = 4.0 * (4 * hidden * (inputs + hidden) + steps * batch * (inputs + hidden))
        probes.append(Probe("rnn", flops, lambda m=lstm, x=x: m(x), moved, inputs=(x,)))
    return probes


def _conv(
    device: str, batch: int, cin: int, side: int, cout: int, k: int, stride: int, groups: int
) -> Probe:
    """A convolution (padding k // 2), in the family its kind and its path give: dense, 1 × 1 or
    depthwise, `_native` where PyTorch runs it through its own im2col + BLAS path."""
    f = torch.nn.functional
    x = torch.randn(batch, cin, side, side, device=device)
    w = torch.randn(cout, cin // groups, k, k, device=device)
    out = (side + 2 * (k // 2) - k) // stride + 1
    run = lambda x=x, w=w, s=stride, p=k // 2, g=groups: f.conv2d(x, w, None, s, p, 1, g)  # noqa: E731
    moved = 4.0 * (x.numel() + w.numel() + batch * cout * out * out)
    work = 2.0 * batch * cout * out * out * (cin // groups) * k * k
    native = native_conv(x, w, (stride,) * 2, (k // 2,) * 2, groups=groups)
    return Probe(conv_family(w.shape, groups, native), work, run, moved, inputs=(x,))


def _cold(probes: list[Probe], device: str) -> list[Probe]:
    """Each probe again with all but its input out of the caches, as in a network whose forward
    touches more than the caches hold (a weight, or the memory an output is written to, was last
    touched long before): before each run a copy through COLD_BYTES evicts them, then the
    probe's activation inputs are read back in (a network's input was just written by the op
    before)."""
    src = torch.zeros(COLD_BYTES // 4, device=device)
    dst = torch.empty_like(src)

    def evict(inputs: tuple[torch.Tensor, ...]) -> None:
        dst.copy_(src)
        for t in inputs:
            t.sum()

    return [
        Probe(f"{p.family}_cold", p.work, p.run, p.moved, lambda i=p.inputs: evict(i), p.inputs)
        for p in probes
        if p.family != "square"
    ]


def _vector(device: str) -> list[Probe]:
    """Copies from cache to memory (work: bytes read + written), and the vector families on
    activations of a network's stem, middle, last stage and pooled position: pooling windows,
    normalisation, point-wise (out of place, and in place: no output to allocate),
    transcendental (SiLU) and GELU (one FLOP an element) kernels; each again right after a
    product that wrote its input (`{family}_after`), and an empty layer (nn.Identity) there,
    alone, and (as every probe with an input) after the caches' eviction."""
    f = torch.nn.functional
    empty = torch.nn.Identity()
    probes = []
    for elements in COPY_SIZES:
        src = torch.randn(elements, device=device)
        dst = torch.empty_like(src)
        probes.append(Probe("copy", 2.0 * src.nbytes, lambda d=dst, s=src: d.copy_(s)))
    for channels, side in VECTOR_SHAPES:
        x = torch.randn(1, channels, side, side, device=device)
        m = torch.zeros(channels, device=device)
        v = torch.ones(channels, device=device)
        n = x.numel()
        rows = x.permute(0, 2, 3, 1).contiguous()  # each position's channels, as a ViT's tokens
        # FLOPs as netcost counts them: eval batch norm normalises with running statistics;
        # layer norm computes a mean and a variance per position (both with weight and bias)
        bn = normalisation_cost(n, channels, stats=False, weight=True, bias=True).flops
        ln = normalisation_cost(n, n // channels, stats=True, weight=True, bias=True).flops
        # each family again right after a product that writes its input (untimed): a 3 × 3
        # convolution for channels-first maps, a linear layer for each position's channels
        w = torch.randn(channels, channels, 3, 3, device=device)
        lw = torch.randn(channels, channels, device=device)
        made: dict[str, torch.Tensor] = {}
        conv = lambda x=x, w=w, d=made: d.update(x=f.conv2d(x, w, None, 1, 1))  # noqa: E731
        linear = lambda r=rows, w=lw, d=made: d.update(r=f.linear(r, w))  # noqa: E731
        probes += [
            Probe("pool_after", 9 * n / 4, lambda d=made: f.max_pool2d(d["x"], 3, 2, 1), 0, conv),
            Probe("norm_after", bn, lambda d=made, m=m, v=v: f.batch_norm(d["x"], m, v, m, v),
                  0, conv),
            Probe("layer_norm_after", ln, lambda d=made, m=m, v=v: f.layer_norm(d["r"], m.shape,
                  m, v), 0, linear),
            Probe("pointwise_after", n, lambda d=made: torch.relu(d["x"]), 0, conv),
            Probe("inplace_after", n, lambda d=made: torch.relu_(d["x"]), 0, conv),
            Probe("gelu_after", n, lambda d=made: f.gelu(d["r"]), 0, linear),
            Probe("transcendental_after", n, lambda d=made: f.silu(d["x"]), 0, conv),
            Probe("reduction_after", n + channels, lambda d=made: d["x"].mean((2, 3), True), 0,
                  conv),
            Probe("empty_after", 0.0, lambda d=made, e=empty: e(d["x"]), 0, conv),
            Probe("empty", 0.0, lambda x=x, e=empty: e(x), inputs=(x,)),
        ]  # fmt: skip
        probes += [
            Probe("pool", 9 * n / 4, lambda x=x: f.max_pool2d(x, 3, 2, 1), inputs=(x,)),
            Probe("norm", bn, lambda x=x, m=m, v=v: f.batch_norm(x, m, v, m, v), inputs=(x,)),
            Probe("layer_norm", ln, lambda r=rows, m=m, v=v: f.layer_norm(r, m.shape, m, v),
                  inputs=(rows,)),
            Probe("pointwise", n, lambda x=x: torch.relu(x), inputs=(x,)),
            Probe("inplace", n, lambda x=x: torch.relu_(x), inputs=(x,)),
            Probe("gelu", n, lambda x=x: f.gelu(x), inputs=(x,)),
            Probe("transcendental", n, lambda x=x: f.silu(x), inputs=(x,)),
            # a mean over each channel's positions (global average pooling): n adds, C divides
            Probe("reduction", n + channels, lambda x=x: x.mean((2, 3), True), inputs=(x,)),
        ]  # fmt: skip
    return probes


def cache_bytes(device: str, root: Path = Path("/sys/devices/system/cpu/cpu0/cache")) -> float:
    """The last-level cache's bytes: a GPU's L2, a CPU's largest cache as Linux's sysfs lists
    it (`root`/index*/size: "32K", "1024K", "32768K"); 0 where neither says."""
    if device.startswith("cuda"):
        return float(getattr(torch.cuda.get_device_properties(0), "L2_cache_size", 0))
    sizes = [0.0]
    for entry in root.glob("index*/size"):
        text = entry.read_text().strip()
        unit = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
        sizes.append(float(text.rstrip("KMG") or 0) * unit)
    return max(sizes)


def cache_path() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return root / "netcost" / "local.toml"


def _rounds(probes: list[Probe], sync: Callable[[], None], rounds: int = ROUNDS) -> None:
    """`rounds` passes over the probes; each pass runs each probe once untimed (a warm-up), then
    REPEATS times timed, each run after the probe's untimed `before`."""
    for _ in range(rounds):
        for p in probes:
            for timed in (False, *(True,) * REPEATS):
                if p.before is not None:
                    p.before()
                sync()
                seconds = timings(p.run, 0, 1, sync)
                p.samples += seconds if timed else []


def measure(device: str | None = None, rounds: int = ROUNDS) -> dict[str, Any]:
    """The measurements, as the TOML table of a device named `local`."""
    device = device or local_device()
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    with torch.no_grad():
        one = torch.ones(1, device=device)
        tiny = Probe("overhead", 0.0, lambda: torch.add(one, one))
        chain = torch.nn.Sequential(*(torch.nn.Linear(16, 16) for _ in range(64))).to(device)
        row = torch.randn(1, 16, device=device)
        calls = Probe("chain", 0.0, lambda: chain(row))
        products, vectors = _products(device), _vector(device)
        products += _cold(products, device)
        # an in-place kernel writes into its input, which a network has just written: no cold run
        vectors += _cold([p for p in vectors if p.inputs and p.family != "inplace"], device)
        bf16 = torch.randn(1024, 1024, device=device, dtype=torch.bfloat16)
        half = Probe("square_bf16", 2.0 * 1024**3, lambda: bf16 @ bf16)
        _rounds([tiny, calls, *products, half, *vectors], sync, rounds)
        vector_add = None
        if device.startswith("cuda"):  # a GPU's vector rate: additions on arrays in cache
            small = torch.randn(65_536, device=device)
            vector_add = Probe("add", 65_536.0, lambda: torch.add(small, small))
            _rounds([vector_add], sync, rounds)
    overhead = statistics.median(tiny.samples)
    # the peak bounds every product this machine ran: the fastest run of any of them
    peak = max(p.work / min(p.samples) for p in products)
    vector = vector_add.work / min(vector_add.samples) if vector_add else peak
    # On a CPU, fp32 matrix products and vector ops share the SIMD units: the fp32 matrix peak
    # is the vector peak too.
    bandwidth = max(p.work / min(p.samples) for p in vectors if p.family == "copy")
    curves: dict[str, list[list[float]]] = {}
    median = {p: statistics.median(p.samples) for p in [*products, *vectors]}
    for group, unit, suffix in ((products, peak, ""), (vectors, vector, "_curve")):
        for p in group:
            if p.family in ("square", "empty", "empty_after", "empty_cold"):
                continue
            spent = max(median[p] - overhead, 0.1 * median[p])
            if p.family == "copy":
                curves.setdefault("bandwidth", []).append([p.work, p.work / spent])
                continue
            curves.setdefault(p.family + suffix, []).append(p.point(p.work / spent / unit))
    per_layer = statistics.median(calls.samples) / 64
    module_overhead = max(per_layer - overhead, 0.0)  # a layer's call beyond its one op
    # an empty layer right after a product, and right after the caches' eviction, against the
    # same layer alone: the median extras
    alone = [p for p in vectors if p.family == "empty"]
    extra, extra_cold = (
        statistics.median(
            median[a] - median[b]
            for a, b in zip((p for p in vectors if p.family == f), alone, strict=True)
        )
        for f in ("empty_after", "empty_cold")
    )
    memory = (
        torch.cuda.get_device_properties(0).total_memory
        if device.startswith("cuda")
        else os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    )
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return {
        "name": f"this machine: {describe(device)}",
        "source": f"netcost calibrate on {platform.node()} at {when} (measured, not a datasheet)",
        "memory_gb": memory / 1e9,
        "bandwidth_gbs": bandwidth / 1e9,
        "matrix": {"fp32": peak / 1e12, "bf16": half.work / min(half.samples) / 1e12},
        "vector": {"fp32": vector / 1e12},
        "calibration": {
            "overhead_s": overhead,
            "module_overhead_s": module_overhead,
            "module_overhead_after_s": module_overhead + max(extra, 0.0),
            "module_overhead_cold_s": module_overhead + max(extra_cold, 0.0),
            "cache_bytes": cache_bytes(device),
            **({} if device.startswith("cuda") else {"threads": torch.get_num_threads()}),
            **curves,
        },
    }


def to_toml(values: dict[str, Any], key: str = "local") -> str:
    """The one device table as TOML (numbers, strings, flat tables and lists of pairs)."""

    def value(v: Any) -> str:
        if isinstance(v, str):
            return '"' + v.replace("\\\\", "\\\\\\\\").replace('"', '\\\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return repr(float(v))

    lines = [f"[{key}]"]
    tables = []
    for k, v in values.items():
        if isinstance(v, dict):
            tables.append((k, v))
        else:
            lines.append(f"{k} = {value(v)}")
    for name, table in tables:
        lines += ["", f"[{key}.{name}]"]
        lines += [f"{k} = {value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def calibrate(path: Path | None = None) -> tuple[Path, dict[str, Any]]:
    values = measure()
    target = path or cache_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(to_toml(values), encoding="utf-8")
    return target, values
