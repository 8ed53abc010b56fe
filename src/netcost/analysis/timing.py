"""Time on a device from the fake run: a roofline lower bound per op.

Each op takes max(FLOPs / the peak of the unit and dtype that runs it, bytes moved / memory
bandwidth): it can be no faster than its arithmetic at the device's peak, nor than its data at
full bandwidth. Which unit runs an op:
- an op with MACs (convolutions, matrix products, attention, recurrent gates, and their
  backward) runs on the matrix units at its input's dtype: bf16, fp16, fp8, int8, fp64 as named;
  fp32 convolutions as TF32 (cuDNN's default, `torch.backends.cudnn.allow_tf32`), fp32 matrix
  products as FP32 (PyTorch's default) unless `tf32_matmul` (`torch.backends.cuda.matmul.
  allow_tf32`, `set_float32_matmul_precision("high")`) says TF32;
- every other op runs on the vector units at its dtype (integers and booleans at fp32's rate).
A device without a peak for that unit and dtype falls back to its vector peak for the dtype, then
to its fp32 vector peak; with none, the op's time is its memory time and the report says so.
FLOPs are 2 · MACs + the op's other arithmetic (the netcost convention, whatever the report's).
A layer's time is the sum of its ops' (its children's included); the model's is the sum of all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from netcost.analysis.fusion import WIDTHS, FlatOp, Serving, flat_ops, fp8_products, quantised
from netcost.analysis.fusion import kernels as fused_kernels
from netcost.analysis.gpu_estimate import Answers, Sources
from netcost.analysis.tree import inclusive
from netcost.cost import Cost
from netcost.devices import KERNEL_VIEWS, Device, load
from netcost.errors import UsageError
from netcost.gpu_tables import missing as tables_missing
from netcost.gpu_tables import tables as gpu_tables
from netcost.report import OpRecord, Report
from netcost.shown import ShownAsText
from netcost.trace import first_dtype

DTYPE_KEYS = {
    "float64": "fp64",
    "float32": "fp32",
    "bfloat16": "bf16",
    "float16": "fp16",
    "float8_e4m3fn": "fp8",
    "float8_e5m2": "fp8",
    "float8_e4m3fnuz": "fp8",
    "float8_e5m2fnuz": "fp8",
    "int8": "int8",
    "uint8": "int8",
    "qint8": "int8",
    "quint8": "int8",
}


@dataclass(frozen=True)
class OpTime:
    seconds: float
    compute_s: float
    memory_s: float
    unit: str  # "matrix bf16", "vector fp32", or "none" (no peak: memory time only)

    @property
    def bound(self) -> str:
        return "compute" if self.compute_s >= self.memory_s else "memory"


@dataclass(frozen=True)
class LayerTime:
    seconds: float  # its ops' and its children's
    compute_s: float  # the part of `seconds` spent in compute-bound ops
    flops: int
    bytes_moved: int

    def __add__(self, other: LayerTime) -> LayerTime:
        return LayerTime(
            self.seconds + other.seconds,
            self.compute_s + other.compute_s,
            self.flops + other.flops,
            self.bytes_moved + other.bytes_moved,
        )

    @property
    def bound(self) -> str:
        """Where most of the layer's time goes: compute-bound ops or memory-bound ones."""
        return "compute" if self.compute_s >= self.seconds - self.compute_s else "memory"

    @property
    def flops_per_s(self) -> float:
        """The rate its time implies: FLOPs / seconds (0 for no time)."""
        return self.flops / self.seconds if self.seconds else 0.0

    @property
    def memory_share(self) -> float:
        """The part of its time in memory-bound ops: 1 − compute / seconds."""
        return 1 - self.compute_s / self.seconds if self.seconds else 0.0

    @property
    def intensity(self) -> float | None:
        """FLOPs per byte moved (None: nothing moved)."""
        return self.flops / self.bytes_moved if self.bytes_moved else None


@dataclass(frozen=True)
class Timing(ShownAsText):
    """Roofline times of one report on one device."""

    device: Device
    tf32_matmul: bool
    layers: tuple[LayerTime, ...]  # by module index, as report.modules
    inference_s: float
    phases: tuple[tuple[str, float], ...] = ()  # the training step's: forward, backward, optimizer
    notes: tuple[str, ...] = ()
    method: str = "roofline"
    #: with a calibrated device (`netcost calibrate`): each module's estimate, by module index
    estimates: tuple[float, ...] = ()
    #: "eager" (every op one kernel, as PyTorch eager runs the code) or "fused" (as engines run
    #: it: analysis/fusion.py)
    kernels: str = "eager"
    kernel_count: int = 0  # kernels the forward runs in that view
    phase_estimates: tuple[tuple[str, float], ...] = ()  # the training step's, with an estimate
    #: what the estimate read, kernels by table ("" for a local calibration)
    estimate_source: str = ""
    #: why a GPU analysis has no estimate ("" where it has one); `missing_note` among `notes`
    estimate_missing: str = ""
    #: with measured tables: by module index, the tables its kernels read (a call's own and
    #: its children's; a kernel shared by two calls counts in both)
    estimate_reads: tuple[Sources, ...] = ()

    @property
    def training_s(self) -> float | None:
        return sum(s for _, s in self.phases) if self.phases else None

    @property
    def missing_note(self) -> str:
        """The note that says why there is no estimate ("" where there is one)."""
        return _missing_note(self.device.key, self.estimate_missing)

    @property
    def estimate_s(self) -> float | None:
        """The calibrated estimate of the whole forward (None: no estimate on this device)."""
        if not self.estimates:
            return None
        root = max(range(len(self.layers)), key=lambda i: self.layers[i].seconds)
        return self.estimates[root]

    def __repr__(self) -> str:
        return (
            f"<Timing on {self.device.key}: inference {self.inference_s * 1e3:.4g} ms "
            f"(roofline, {self.kernels} kernels)>"
        )


def peak(device: Device, matrix: bool, dtype: str, op: str, tf32_matmul: bool) -> tuple[float, str]:
    """(FLOP/s, unit) of the unit that runs an op; (0, "none") when the device gives no peak."""
    key = DTYPE_KEYS.get(dtype, "fp32")
    if matrix and key == "fp32" and ("convolution" in op or tf32_matmul):
        key = "tf32"
    candidates = [("matrix", key)] if matrix else []
    if matrix and key == "tf32":
        candidates.append(("matrix", "fp32"))
    candidates += [("vector", DTYPE_KEYS.get(dtype, "fp32")), ("vector", "fp32")]
    for unit, dtype_key in candidates:
        value = (device.matrix if unit == "matrix" else device.vector).get(dtype_key)
        if value:
            return value, f"{unit} {dtype_key}"
    return 0.0, "none"


def op_time(device: Device, op: str, dtype: str, cost: Cost, tf32_matmul: bool = False) -> OpTime:
    flops = cost.flops
    rate, unit = peak(device, cost.macs > 0, dtype, op, tf32_matmul)
    compute = flops / rate if rate else 0.0
    memory = cost.bytes_moved / device.bandwidth
    return OpTime(max(compute, memory), compute, memory, unit)


def op_dtype(record: OpRecord) -> str:
    """The dtype an op runs at: its first tensor argument's."""
    return first_dtype(record.args)


def _thread_note(device: Device) -> tuple[str, ...]:
    """A CPU calibration holds for the thread count it ran on: a note where this process runs
    torch on another."""
    calibrated = int(float(device.calibration.get("threads", 0)))
    now = torch.get_num_threads()
    if not calibrated or calibrated == now:
        return ()
    return (
        f"{device.key} was calibrated on {calibrated} threads and torch runs {now} here: its "
        f"estimates are for {calibrated} (set torch's threads alike, or calibrate again)",
    )


def default_kernels(device: Device) -> str:
    """Eager on a device calibrated on this machine (`local`: what --profile measures), fused
    on every accelerator (as the engines people deploy on run a model)."""
    return "eager" if device.calibration else "fused"


def timing(
    report: Report,
    device: str | Device,
    *,
    tf32_matmul: bool = False,
    kernels: str | None = None,
    valid_keys: Mapping[int, int] | None = None,
    serving: Serving | None = None,
) -> Timing:
    """The report's ops timed on `device` (a name of data/devices.toml, a TOML file, a Device),
    as `kernels` run them: "eager" (one kernel per op) or "fused" (analysis/fusion.py; the
    default on accelerators). `valid_keys`: module index -> key positions valid in attention
    under that call (a static cache longer than the context; fused view only). `serving`:
    weights and KV cache at quantised widths (fused view only)."""
    chosen = load(device)
    view = kernels or default_kernels(chosen)
    if view not in KERNEL_VIEWS:
        raise UsageError(f"kernels must be one of {', '.join(KERNEL_VIEWS)}, not {view!r}")
    if serving is not None and (serving.weight or serving.kv) and view != "fused":
        raise UsageError(
            "quantised serving (weight or KV dtype) is timed as engines run it: kernels='fused'"
        )
    fp8 = report.precision == "fp8-mixed"
    if fp8 and view != "fused":
        raise UsageError(
            "precision fp8-mixed is timed as Transformer Engine runs it: kernels='fused' (the "
            "default on GPUs)"
        )
    if fp8 and not chosen.matrix.get("fp8"):
        raise UsageError(f"precision fp8-mixed runs GEMMs on fp8 units, which {chosen.key} lacks")
    missing: set[str] = set()
    own: dict[int, LayerTime] = {}
    count = 0
    estimates: tuple[float, ...] = ()
    estimate_reads: tuple[Sources, ...] = ()
    estimate_notes: list[str] = []
    measured = gpu_tables(chosen.key) if view == "fused" else None
    if view == "eager":
        for m in report.modules:
            seconds = compute = 0.0
            flops = moved = 0
            for record in m.ops:
                t = op_time(chosen, record.op, op_dtype(record), record.cost, tf32_matmul)
                seconds += t.seconds
                compute += t.seconds if t.bound == "compute" else 0.0
                flops += record.cost.flops
                moved += record.cost.bytes_moved
                count += 1
                if t.unit == "none":
                    missing.add(op_dtype(record))
            own[m.index] = LayerTime(seconds, compute, flops, moved)
    else:
        flat = flat_ops(report)
        aliases = report.aliases or {}
        if serving is not None and serving.weight:
            flat = quantised(flat, aliases, serving.weight, serving.kept)
        if fp8:
            flat = fp8_products(flat, report.precision_kept)
        cap = _caps(report, valid_keys) if valid_keys else None
        kv = WIDTHS[serving.kv] if serving is not None and serving.kv else None
        fused = fused_layer_times(flat, aliases, chosen, tf32_matmul, cap, kv, tables=measured)
        own, count = fused.own, fused.count
        missing |= fused.missing
        for m in report.modules:
            own.setdefault(m.index, LayerTime(0.0, 0.0, 0, 0))
        if fused.estimates is not None:
            sums = inclusive(report.modules, {m.index: fused.estimates.get(m.index, 0.0)
                                              for m in report.modules})  # fmt: skip
            estimates = tuple(sums[i] for i in sorted(sums))
            assert fused.sources is not None and fused.read is not None and measured is not None
            estimate_notes.append(fused.sources.note(measured.source))
            reads = inclusive(report.modules, {m.index: fused.read.get(m.index, Answers())
                                               for m in report.modules})  # fmt: skip
            estimate_reads = tuple(Sources.of(reads[i]) for i in sorted(reads))
    summed = inclusive(report.modules, own)
    layers = tuple(summed[i] for i in sorted(summed))
    if chosen.calibration:
        from netcost.analysis.calibrated import layer_estimates

        sums = inclusive(report.modules, layer_estimates(report, chosen, tf32_matmul))
        estimates = tuple(sums[i] for i in sorted(sums))
    phases: tuple[tuple[str, float], ...] = ()
    phase_estimates: tuple[tuple[str, float], ...] = ()
    step_compute = report.training_compute
    flow = list(step_compute.flow) if step_compute is not None else []
    if step_compute is not None and flow:
        from netcost.analysis.training_compute import PHASES

        if view == "fused":
            step = fused_layer_times(
                fp8_products(flow, report.precision_kept) if fp8 else flow,
                step_compute.aliases or {}, chosen, tf32_matmul,
                across_owners=False, tables=measured,
            )  # fmt: skip
            missing |= step.missing
            totals = {i: t.seconds for i, t in step.own.items()}
            if step.estimates is not None:
                phase_estimates = tuple(
                    (name, step.estimates.get(i, 0.0)) for i, name in enumerate(PHASES)
                )
        else:
            totals = {}
            for o in flow:
                t = op_time(chosen, o.op, first_dtype(o.args), o.cost, tf32_matmul)
                totals[o.owner] = totals.get(o.owner, 0.0) + t.seconds
                if t.unit == "none":
                    missing.add(first_dtype(o.args))
        phases = tuple((name, totals.get(i, 0.0)) for i, name in enumerate(PHASES))
    notes = tuple(
        f"{chosen.key} gives no compute peak for {dtype}: those ops are timed by their bytes alone"
        for dtype in sorted(missing)
    ) + _thread_note(chosen)
    absent = _no_estimate(chosen.key, view) if measured is None and not chosen.calibration else ""
    if absent:
        notes += (_missing_note(chosen.key, absent),)
    root = next((m.index for m in report.modules if m.parent is None), 0)
    return Timing(
        chosen, tf32_matmul, layers, layers[root].seconds, phases, notes, estimates=estimates,
        kernels=view, kernel_count=count, phase_estimates=phase_estimates,
        estimate_source="; ".join(estimate_notes), estimate_missing=absent,
        estimate_reads=estimate_reads,
    )  # fmt: skip


def _missing_note(device: str, why: str) -> str:
    """The note where an analysis on `device` has no estimate because of `why` ("" if none)."""
    return f"no calibrated estimate on {device}: {why}; the bound stands alone" if why else ""


def _no_estimate(device: str, view: str) -> str:
    """Why a GPU analysis has the bound alone: its tables are not installed or not measured,
    or the eager view asks for kernels no table times ("" where none of these holds)."""
    why = tables_missing(device)
    if not why and view == "eager":
        why = "the measured tables time the kernels an engine runs (--kernels fused)"
    return why


def _caps(report: Report, valid_keys: Mapping[int, int]) -> Callable[[int], int | None]:
    """valid_keys by module index, inherited by every call under one that has it."""
    parents = {m.index: m.parent for m in report.modules}

    def cap(owner: int) -> int | None:
        at: int | None = owner
        while at is not None:
            if at in valid_keys:
                return valid_keys[at]
            at = parents.get(at)
        return None

    return cap


@dataclass
class Fused:
    """The fused view's floors by owner (module call or phase), its kernel count, dtypes the
    device gives no peak for, and with measured tables the estimate by owner and its sources."""

    own: dict[int, LayerTime]
    count: int
    missing: set[str]
    estimates: dict[int, float] | None = None
    sources: Sources | None = None
    read: dict[int, Answers] | None = None  # by owner: its kernels' answers


def fused_layer_times(
    flat: list[FlatOp],
    aliases: Mapping[int, int],
    device: Device,
    tf32_matmul: bool,
    valid_keys: Callable[[int], int | None] | None = None,
    kv_width: float | None = None,
    across_owners: bool = True,
    tables: Any = None,
) -> Fused:
    """The fused view's floor per owner (module call or phase): each kernel takes max(its ops'
    arithmetic at their units' peaks, its bytes / bandwidth) — attention its own arithmetic —,
    shared among its ops' owners in proportion to each op's arithmetic time (a compute-bound
    kernel) or memory time (a memory-bound one; attention: eager roofline time), equally when
    every op's is zero. `across_owners` False: a kernel never spans two owners (a
    training step's phases). With `tables` (gpu_tables.Tables), each kernel's estimate too."""
    from netcost.analysis.gpu_estimate import kernel_answer

    own: dict[int, LayerTime] = {}
    estimates: dict[int, float] | None = {} if tables is not None else None
    sources = Sources()
    read: dict[int, Answers] = {}
    missing: set[str] = set()
    found = fused_kernels(flat, aliases, valid_keys, kv_width, across_owners)
    for number, kernel in enumerate(found):
        members = [flat[p] for p in kernel.members]
        dtypes = [o.dtype or first_dtype(o.args) for o in members]
        times = [
            op_time(device, o.op, dtype, o.cost, tf32_matmul)
            for o, dtype in zip(members, dtypes, strict=True)
        ]
        for dtype, t in zip(dtypes, times, strict=True):
            if t.unit == "none":
                missing.add(dtype)
        flops = [o.cost.flops for o in members]
        if kernel.arithmetic is not None:
            done = op_time(device, "aten.attention", kernel.dtype, kernel.arithmetic, tf32_matmul)
            compute = done.compute_s
            total = kernel.arithmetic.flops
            flops = [round(total * f / max(sum(flops), 1)) for f in flops]
        else:
            compute = sum(t.compute_s for t in times)
        memory = kernel.bytes_moved / device.bandwidth
        seconds = max(compute, memory)
        estimate = 0.0
        if tables is not None:
            estimate, source, past = kernel_answer(kernel, members, dtypes, seconds, tables)
            sources.add(source, past)
            for owner in {o.owner for o in members}:
                read.setdefault(owner, Answers())[number] = (source, past)
        # a compute-bound kernel's time goes to its ops by their arithmetic, a memory-bound
        # one's by their bytes (attention: its ops by their eager roofline time)
        if kernel.arithmetic is not None:
            weights = [t.seconds for t in times]
        elif compute >= memory:
            weights = [t.compute_s for t in times]
        else:
            weights = [t.memory_s for t in times]
        if not sum(weights):
            weights = [1.0] * len(members)
        total_weight = sum(weights)
        for o, w, f in zip(members, weights, flops, strict=True):
            share = w / total_weight
            part = LayerTime(
                seconds * share,
                seconds * share if compute >= memory else 0.0,
                f,
                int(kernel.bytes_moved * share),
            )
            own[o.owner] = own[o.owner] + part if o.owner in own else part
            if estimates is not None:
                estimates[o.owner] = estimates.get(o.owner, 0.0) + estimate * share
    if tables is None:
        return Fused(own, len(found), missing)
    return Fused(own, len(found), missing, estimates, sources, read)
