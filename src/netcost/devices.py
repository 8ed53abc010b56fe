"""Accelerators as data: data/devices.toml (every figure with its source) or the user's own TOML
file of the same form. Peaks are dense; sparse figures are kept only to be checked against."""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from netcost import text as fmt
from netcost.errors import UsageError
from netcost.gpu_tables import AIC_VERSION, measured

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: how a device runs a model's ops: one kernel per op (PyTorch eager) or as engines fuse them
KERNEL_VIEWS = ("eager", "fused")
#: the widths quantised serving stores weights and the KV cache at
WEIGHT_DTYPES = ("bf16", "fp16", "fp8", "int8", "int4")
KV_DTYPES = ("bf16", "fp16", "fp8")
DTYPES = ("fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "int8")
TERA, GIGA = 10**12, 10**9


@dataclass(frozen=True)
class Device:
    key: str  # "h100-sxm"
    name: str
    source: str
    memory_bytes: int
    bandwidth: float  # bytes per second
    matrix: dict[str, float] = field(default_factory=dict)  # dtype -> dense FLOP/s
    vector: dict[str, float] = field(default_factory=dict)
    sparse: dict[str, float] = field(default_factory=dict)  # as printed: never used for time
    #: measured by `netcost calibrate`: overhead_s per op, and (FLOPs, efficiency) pairs per family
    calibration: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"<Device {self.key}: {self.name}>"


def _tera(value: Any) -> float:
    """TFLOP/s as printed (989.4) to FLOP/s, exactly as the literal 989.4e12 is."""
    return float(Decimal(str(value)) * TERA)


def _memory(entry: dict[str, Any]) -> int:
    """Bytes of memory: `memory_mib` · 2**20 (what the card reports) where given, else
    `memory_gb` · 10**9 (the datasheet's decimal figure)."""
    if "memory_mib" in entry:
        return int(entry["memory_mib"]) * 2**20
    return int(float(entry["memory_gb"]) * GIGA)


def _device(key: str, entry: dict[str, Any], where: str) -> Device:
    try:
        peaks = {
            unit: {dtype: _tera(v) for dtype, v in entry.get(unit, {}).items()}
            for unit in ("matrix", "vector", "sparse")
        }
        for unit, values in peaks.items():
            for dtype in values:
                if dtype not in DTYPES:
                    raise UsageError(
                        f"{where}: [{key}] {unit}.{dtype}: unknown dtype; "
                        f"known: {', '.join(DTYPES)}"
                    )
        return Device(
            key=key,
            name=str(entry.get("name", key)),
            source=str(entry.get("source", where)),
            memory_bytes=_memory(entry),
            bandwidth=float(Decimal(str(entry["bandwidth_gbs"])) * GIGA),
            calibration=dict(entry.get("calibration", {})),
            **peaks,
        )
    except KeyError as missing:
        raise UsageError(f"{where}: [{key}] needs {missing.args[0]}") from None
    except (TypeError, ValueError) as error:
        raise UsageError(f"{where}: [{key}]: {error}") from None


@cache
def builtin() -> dict[str, Device]:
    text = resources.files("netcost").joinpath("data/devices.toml").read_text(encoding="utf-8")
    return {k: _device(k, v, "devices.toml") for k, v in tomllib.loads(text).items()}


def load(spec: str | Device) -> Device:
    """A built-in device by name, or the only (or named: FILE.toml:KEY) device of a TOML file."""
    if isinstance(spec, Device):
        return spec
    path_text, _, key = spec.partition(".toml")
    if spec.endswith(".toml") or ".toml:" in spec:
        path = Path(path_text + ".toml")
        key = key.removeprefix(":")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"--device {path}: no such file") from None
        except tomllib.TOMLDecodeError as error:
            raise UsageError(f"--device {path}: not TOML ({error})") from None
        devices = {k: _device(k, v, str(path)) for k, v in data.items() if isinstance(v, dict)}
        if key:
            if key not in devices:
                raise UsageError(f"{path} has no device {key!r}; it has {', '.join(devices)}")
            return devices[key]
        if len(devices) != 1:
            raise UsageError(f"{path} holds {len(devices)} devices: name one, {path}:KEY")
        return next(iter(devices.values()))
    if spec == "local":
        from netcost.measure.calibrate import cache_path

        path = cache_path()
        if not path.is_file():
            raise UsageError("--device local: run `netcost calibrate` first (it takes seconds)")
        return load(str(path))
    known = builtin()
    if spec not in known:
        close = difflib.get_close_matches(spec, list(known), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UsageError(f"unknown device {spec!r}{hint} (netcost devices lists them)")
    return known[spec]


def listing() -> str:
    """`netcost devices`: each device's dense 16-bit matrix peak (bf16, or fp16 where the
    device has no bf16 units, marked so), fp32 vector peak, memory."""
    rows = [("device", "name", "bf16 matrix TFLOP/s", "fp32 vector TFLOP/s", "memory", "GB/s")]
    for d in builtin().values():
        bf16 = d.matrix.get("bf16")
        fp16 = d.matrix.get("fp16")
        half = f"{bf16 / TERA:g}" if bf16 else (f"{fp16 / TERA:g} (fp16; no bf16)" if fp16 else "-")
        fp32 = d.vector.get("fp32")
        rows.append(
            (
                d.key,
                d.name,
                half,
                f"{fp32 / TERA:g}" if fp32 else "-",
                fmt.binary_size(d.memory_bytes),
                f"{d.bandwidth / GIGA:g}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return (
        "\n".join(lines)
        + "\n\nDense peaks from vendor datasheets (data/devices.toml has each source).\n"
        + f"A calibrated estimate beside the bound from measured kernels on {measured()} (pip "
        f"install 'netcost[gpu]': aiconfigurator-core {AIC_VERSION}).\n"
    )
