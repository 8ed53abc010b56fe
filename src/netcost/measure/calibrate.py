"""`netcost calibrate`: this machine's peaks and efficiencies, measured in well under a minute and
saved as a device (`--device local`).

Measured on the local device (CUDA when present, else the CPU): peaks (matrix, bandwidth) as
the fastest of a few runs, since a roofline bound must not exceed any run; efficiencies and
overheads as the median, the statistic `--profile` reports:
- matrix peaks: square matrix products (fp32, and bf16 where it runs), 2·n³ FLOPs each; the peak
  is the fastest size's rate;
- efficiency by op family and size: linear layers' products (x·Wᵀ + b, as models run them) and
  convolutions of several sizes, each
  rate ÷ the matrix peak, against its FLOPs (a calibrated estimate interpolates in log FLOPs);
- the fp32 vector rate: on a CPU the fp32 matrix peak (the same SIMD units); on a GPU additions
  on arrays that fit in cache;
- memory bandwidth: copies from 256 KiB (in cache) to 256 MiB (memory), bytes read + written
  over time; the device's bandwidth is the fastest, and an estimate reads the curve at the op's
  bytes;
- vector families: max pooling, batch norm, ReLU (out of place, and in place for in-place
  point-wise ops) and GELU (for the transcendental point-wise ops: GELU, SiLU, sigmoid, tanh,
  exp, softmax) on activations of 64 × 112², 96 × 28² and
  256 × 7², each rate over the vector rate against its FLOPs;
- per-op overhead: an addition of two one-element tensors (dispatch and launch), and per-module
  overhead: a chain of 64 Linear(16, 16) layers on one row, per layer, less the per-op overhead;
- depthwise and 1 × 1 convolutions of several sizes, and fused attention cores (scaled
  dot-product attention) of several sizes, each as a family of its own.
A calibrated estimate of an op is max(FLOPs / (peak · efficiency), bytes / bandwidth) + the
per-op overhead; a layer's is its ops' plus the module overhead of each call inside it.
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from netcost.measure.profile import describe, local_device, timings

MATMUL_SIDES = (64, 128, 256, 512, 1024, 2048)
#: (batch, in channels, side, out channels, kernel, stride): from a ResNet's stem to its last stage
CONVS = ((1, 3, 224, 64, 7, 2), (1, 64, 56, 64, 3, 1), (1, 128, 28, 128, 3, 1),
         (1, 256, 14, 256, 3, 1), (1, 512, 7, 512, 3, 1), (8, 64, 56, 64, 3, 1),
         (1, 64, 56, 256, 1, 1),
         # few channels and pointwise (1 × 1) convolutions, as small and mobile networks have
         (1, 3, 224, 16, 3, 2), (64, 1, 28, 8, 3, 2), (1, 16, 56, 72, 1, 1),
         (1, 24, 28, 96, 1, 1), (1, 96, 14, 40, 1, 1))  # fmt: skip


#: (batch, in channels, side, out channels) of 1 × 1 convolutions: a ResNet's bottleneck
#: expansions and reductions, and mobile networks' few-channel ones
CONVS_1X1 = ((1, 64, 56, 256), (1, 256, 56, 64), (1, 128, 28, 512), (1, 512, 28, 128),
             (1, 256, 14, 1024), (1, 1024, 14, 256), (1, 16, 56, 72), (1, 24, 28, 96),
             (1, 96, 14, 40))  # fmt: skip
#: (rows, inner, columns) of linear layers' products: a batch through an MLP, a transformer's
#: tokens through its projections, a classifier's head
LINEARS = ((1, 2048, 1000), (8, 512, 1000), (64, 256, 256), (128, 768, 768), (197, 768, 2304),
           (64, 1024, 4096), (512, 1024, 1024), (1024, 2048, 2048))  # fmt: skip
#: (batch, heads, tokens, head width) of attention cores (BERT, ViT-B/16, a longer sequence)
ATTENTION = ((1, 12, 128, 64), (1, 12, 197, 64), (1, 16, 512, 64), (8, 12, 128, 64))
#: (channels, side, kernel, stride) of depthwise convolutions (MobileNet, EfficientNet, ConvNeXt)
DEPTHWISE = ((32, 112, 3, 1), (96, 56, 3, 2), (144, 56, 3, 1), (384, 14, 3, 1), (96, 56, 7, 1))

#: float32 elements copied to find the bandwidth at each working-set size: 256 KiB to 256 MiB
COPY_SIZES = (1 << 16, 1 << 18, 1 << 20, 1 << 22, 1 << 24, 1 << 26)


#: (channels, side) of the activations vector kernels are timed on: a stem's, a middle stage's
#: and a last stage's (small tensors run further from the vector peak)
VECTOR_SHAPES = ((64, 112), (96, 28), (256, 7))


def _vector_kernels(
    device: str, sync: Callable[[], None], vector: float
) -> dict[str, list[list[float]]]:
    """Each vector family's rate over the vector rate, against its FLOPs, on activations of a
    network's stem, middle and last stages: pooling windows, normalisation, point-wise and
    transcendental (GELU) ops run their own kernels."""
    curves: dict[str, list[list[float]]] = {}
    for channels, side in VECTOR_SHAPES:
        x = torch.randn(1, channels, side, side, device=device)
        mean = torch.zeros(channels, device=device)
        var = torch.ones(channels, device=device)
        n = x.numel()
        work = {
            "pool": (9 * n / 4, lambda x=x: torch.nn.functional.max_pool2d(x, 3, 2, 1)),
            "norm": (
                4 * n,
                lambda x=x, m=mean, v=var: torch.nn.functional.batch_norm(x, m, v, m, v),
            ),
            "pointwise": (n, lambda x=x: torch.relu(x)),
            "inplace": (n, lambda x=x: torch.relu_(x)),  # in place: no output to allocate
            "transcendental": (n, lambda x=x: torch.nn.functional.gelu(x)),  # one FLOP each
        }
        for family, (flops, run) in work.items():
            rate = flops / _typical(run, sync) / vector
            curves.setdefault(f"{family}_curve", []).append([flops, rate])
    return curves


def cache_path() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return root / "netcost" / "local.toml"


def _best(run: Callable[[], Any], sync: Callable[[], None], repeats: int = 10) -> float:
    """The fastest of `repeats` runs after three warm-up runs: for peaks, which bound."""
    return min(timings(run, 3, repeats, sync))


def _typical(run: Callable[[], Any], sync: Callable[[], None], repeats: int = 30) -> float:
    """The median of `repeats` runs after three warm-up runs: for efficiencies, which estimate
    what `--profile` measures (a median too)."""
    return statistics.median(timings(run, 3, repeats, sync))


def measure(device: str | None = None) -> dict[str, Any]:
    """The measurements, as the TOML table of a device named `local`."""
    device = device or local_device()
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    with torch.no_grad():
        matmul: list[tuple[float, float]] = []
        for n in MATMUL_SIDES:
            a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
            matmul.append((2.0 * n**3, 2.0 * n**3 / _best(lambda a=a, b=b: a @ b, sync)))
        peak = max(rate for _, rate in matmul)
        linear: list[tuple[float, float]] = []
        for rows, inner, cols in LINEARS:  # linear layers as models run them: x·Wᵀ + b
            x = torch.randn(rows, inner, device=device)
            w, bias = torch.randn(cols, inner, device=device), torch.randn(cols, device=device)
            flops = 2.0 * rows * inner * cols
            seconds = _typical(lambda x=x, w=w, b=bias: torch.nn.functional.linear(x, w, b), sync)
            linear.append((flops, flops / seconds))
        matrix = {"fp32": peak}
        a = torch.randn(1024, 1024, device=device, dtype=torch.bfloat16)
        matrix["bf16"] = 2.0 * 1024**3 / _best(lambda: a @ a, sync)
        conv: list[tuple[float, float]] = []
        for batch, cin, side, cout, k, stride in CONVS:
            x = torch.randn(batch, cin, side, side, device=device)
            w = torch.randn(cout, cin, k, k, device=device)
            out = (side + 2 * (k // 2) - k) // stride + 1
            flops = 2.0 * batch * cout * out * out * cin * k * k
            seconds = _typical(
                lambda x=x, w=w, s=stride, p=k // 2: torch.nn.functional.conv2d(x, w, None, s, p),
                sync,
            )
            conv.append((flops, flops / seconds / peak))
        one_by_one: list[tuple[float, float]] = []
        for batch, cin, side, cout in CONVS_1X1:
            x = torch.randn(batch, cin, side, side, device=device)
            w = torch.randn(cout, cin, 1, 1, device=device)
            flops = 2.0 * batch * cout * side * side * cin
            seconds = _typical(lambda x=x, w=w: torch.nn.functional.conv2d(x, w), sync)
            one_by_one.append((flops, flops / seconds / peak))
        # On a CPU, fp32 matrix products and vector ops share the SIMD units: the fp32 matrix
        # peak is the vector peak too. A GPU's vector rate: additions on arrays in cache.
        depthwise: list[tuple[float, float]] = []
        for channels, side, k, stride in DEPTHWISE:
            x = torch.randn(1, channels, side, side, device=device)
            w = torch.randn(channels, 1, k, k, device=device)
            out = (side + 2 * (k // 2) - k) // stride + 1
            flops = 2.0 * channels * out * out * k * k
            seconds = _typical(
                lambda x=x, w=w, s=stride, p=k // 2, g=channels: torch.nn.functional.conv2d(
                    x, w, None, s, p, 1, g
                ),
                sync,
            )
            depthwise.append((flops, flops / seconds / peak))
        attention: list[tuple[float, float]] = []  # the fused attention kernel's own curve
        for batch, heads, tokens, width in ATTENTION:
            q, k, v = (torch.randn(batch, heads, tokens, width, device=device) for _ in range(3))
            flops = 4.0 * batch * heads * tokens * tokens * width  # scores and values
            seconds = _typical(
                lambda q=q, k=k, v=v: torch.nn.functional.scaled_dot_product_attention(q, k, v),
                sync,
            )
            attention.append((flops, flops / seconds / peak))
        small = torch.randn(65_536, device=device)
        vector = peak
        if device.startswith("cuda"):
            vector = 65_536 / _best(lambda: torch.add(small, small), sync, repeats=20)
        copies: list[tuple[float, float]] = []  # (bytes moved, bytes/s): caches, then memory
        fastest = 0.0
        for elements in COPY_SIZES:
            src = torch.randn(elements, device=device)
            dst = torch.empty_like(src)
            moved = 2.0 * src.nbytes
            copy = lambda d=dst, s=src: d.copy_(s)  # noqa: E731
            copies.append((moved, moved / _typical(copy, sync)))
            fastest = max(fastest, moved / _best(copy, sync))
        bandwidth = fastest  # the bound's: the fastest copy; estimates read the typical curve
        kernels = _vector_kernels(device, sync, vector)
        one = torch.ones(1, device=device)
        overhead = _typical(lambda: torch.add(one, one), sync, repeats=250)
        chain = torch.nn.Sequential(*(torch.nn.Linear(16, 16) for _ in range(64))).to(device)
        row = torch.randn(1, 16, device=device)
        per_layer = _typical(lambda: chain(row), sync, repeats=50) / 64
        module_overhead = max(per_layer - overhead, 0.0)  # a layer's call beyond its one op
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
        "matrix": {k: v / 1e12 for k, v in matrix.items()},
        "vector": {"fp32": vector / 1e12},
        "calibration": {
            "overhead_s": overhead,
            "module_overhead_s": module_overhead,
            "matmul": [[f, r / peak] for f, r in linear],
            "conv": [list(c) for c in conv],
            "conv_depthwise": [list(c) for c in depthwise],
            "conv_1x1": [list(c) for c in one_by_one],
            "attention": [list(c) for c in attention],
            "bandwidth": [list(c) for c in copies],
            **kernels,
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
