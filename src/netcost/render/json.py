"""The JSON contract: report.to_dict() and `--format json` (pinned by tests/test_contract.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from netcost.conventions import CONVENTIONS, under
from netcost.cost import Cost
from netcost.report import SCHEMA_VERSION, Layer, PhasePeak, Report

if TYPE_CHECKING:
    from netcost.analysis.sharding import PerGpu


def _layer(m: Layer, shown: Callable[[Cost], Cost]) -> dict[str, Any]:
    return {
        "path": m.path,
        "type": m.type,
        "depth": m.depth,
        "call": m.call_number,
        "input_shapes": [list(s) for s in m.input_shapes],
        "output_shape": list(m.output_shape) if m.output_shape is not None else None,
        "output_shapes": [list(s) for s in m.output_shapes],
        "params": m.params,
        "trainable_params": m.trainable_params,
        "macs": m.cost.macs,
        "flops": shown(m.cost).flops,
        "bytes_read": m.cost.bytes_read,
        "bytes_written": m.cost.bytes_written,
        "activation_elements": m.activation_elements,
        "activation_bytes": m.activation_bytes,
        "warnings": list(m.warnings),
        "receptive_field": _field(m),
        "live_bytes": m.live_bytes,
    } | ({} if m.backward is None else {"backward": _macs(shown(m.backward))})


def _timed(report: Report, m: Layer) -> dict[str, Any]:
    t = report.time
    if t is None:
        return {}
    layer = t.layers[m.index]
    estimate: dict[str, Any] = {"estimate_s": t.estimates[m.index]} if t.estimates else {}
    if t.estimate_reads:
        read = t.estimate_reads[m.index]
        estimate["estimate_read"] = dict(read.used)  # kernels by the table that answered
        if read.extrapolated:
            estimate["estimate_past_range"] = dict(read.extrapolated)
    return {"time_s": layer.seconds, "bound": layer.bound if layer.seconds else None} | estimate


def _time(report: Report) -> dict[str, Any] | None:
    t = report.time
    if t is None:
        return None
    return {
        "device": t.device.key,
        "method": t.method,
        "inference_s": t.inference_s,
        "training_s": t.training_s,
        "phases_s": dict(t.phases) or None,
        "kernels": t.kernels,
        "kernel_count": t.kernel_count,
        "estimate": _estimate(t),
        "tf32_matmul": t.tf32_matmul,
        "source": t.device.source,
        "notes": list(t.notes),
    }


def _estimate(t: Any) -> dict[str, Any] | None:
    """The calibrated estimate beside the bound, with the bound's keys; None without one."""
    if t.estimate_s is None:
        return None
    phases = dict(t.phase_estimates) or None
    return {
        "inference_s": t.estimate_s,
        "training_s": sum(phases.values()) if phases else None,
        "phases_s": phases,
        "source": t.estimate_source or "netcost calibrate (this machine)",
    }


def _macs(c: Cost) -> dict[str, int]:
    return {"macs": c.macs, "flops": c.flops}


def _training(report: Report) -> dict[str, Any] | None:
    """The step's arithmetic by phase (with --train / train=True), else None."""
    c = report.training_compute
    if c is None:
        return None
    return {
        "forward": under(c.forward, c.convention).to_dict(),
        "backward": under(c.backward, c.convention).to_dict(),
        "optimizer": under(c.optimizer, c.convention).to_dict(),
        "total": under(c.total, c.convention).to_dict(),
        "uncounted": [{"op": op, "calls": n} for op, n in c.uncounted],
    }


def _field(m: Layer) -> dict[str, Any] | None:
    f = m.receptive_field
    if f is None:
        return None
    return {"size": list(f.size), "jump": list(f.jump), "center": list(f.center), "exact": f.exact}


def _module(m: Layer, shown: Callable[[Cost], Cost]) -> dict[str, Any]:
    return _layer(m, shown) | {
        "index": m.index,
        "parent": m.parent,
        "children": list(m.children),
        "self": shown(m.self_cost).to_dict(),
    }


def report_to_dict(report: Report) -> dict[str, Any]:
    t = report.total
    return {
        "schema_version": SCHEMA_VERSION,
        "model": report.model,
        "convention": {"name": report.convention, "flops": CONVENTIONS[report.convention]},
        "execution": report.execution,
        "inputs": [
            {"name": i.name, "shape": list(i.shape), "dtype": i.dtype, "bytes": i.nbytes}
            | ({"layout": i.layout, "nnz": i.nnz} if i.layout != "strided" else {})
            for i in report.inputs
        ],
        "total": {
            "params": t.params,
            "trainable_params": t.trainable_params,
            "param_bytes": t.param_bytes,
            "buffer_bytes": t.buffer_bytes,
            "macs": t.cost.macs,
            "flops": report.shown(t.cost).flops,
            "bytes_read": t.cost.bytes_read,
            "bytes_written": t.cost.bytes_written,
            "activation_bytes": t.activation_bytes,
            "active_params": t.active_params,
            "routing": t.routing or None,
        },
        "layers": [_layer(m, report.shown) | _timed(report, m) for m in report.layers],
        "modules": [_module(m, report.shown) | _timed(report, m) for m in report.modules],
        "ops": [
            {"op": o.op, "family": o.family, "calls": o.calls} | report.shown(o.cost).to_dict()
            for o in report.ops
        ],
        "diagnostics": [
            {
                "kind": d.kind,
                "message": d.message,
                "op": d.op,
                "count": d.count,
                "layers": list(d.layers),
            }
            for d in report.diagnostics
        ],
        "memory": _memory(report),
        "training": _training(report),
        "time": _time(report),
        "complete": report.complete,
    }


def _memory(report: Report) -> dict[str, Any] | None:
    m, t = report.memory, report.training
    if m is None and t is None:
        return None
    out: dict[str, Any] = {}
    if m is not None:
        out["inference"] = {
            "peak_bytes": m.peak_bytes,
            "params_bytes": m.params_bytes,
            "buffers_bytes": m.buffers_bytes,
            "inputs_bytes": m.inputs_bytes,
            "activation_peak_bytes": m.activation_peak_bytes,
            "weight_copies_bytes": m.weight_copies_bytes,
            "peak_layer": m.peak_layer,
            "peak_op": m.peak_op,
        }
    if t is not None:
        out["training"] = {
            "optimizer": t.optimizer,
            "precision": t.precision,
            "peak_bytes": t.peak_bytes,
            **_phase(t.peak, "peak_"),
            "saved_activation_bytes": t.saved_bytes,
            "phases": [_phase(p, "") for p in t.phases],
            "notes": list(t.notes),
        }
    return out


def _phase(p: PhasePeak, prefix: str) -> dict[str, Any]:
    return {
        f"{prefix}phase": p.phase,
        f"{prefix}layer": p.layer,
        f"{prefix}op": p.op,
        **({} if prefix else {"peak_bytes": p.peak_bytes}),
        "breakdown": _breakdown(p.breakdown),
    }


def _breakdown(parts: tuple[tuple[str, int], ...]) -> dict[str, int]:
    """("optimizer state", n) -> {"optimizer_state_bytes": n}"""
    return {name.replace(" ", "_") + "_bytes": n for name, n in parts}


def render_json(report: Report, per_gpu: PerGpu | None = None, economics: Any = None) -> str:
    data = report_to_dict(report)
    if economics is not None and data.get("training") is not None:
        from netcost.analysis.economics import to_dict

        data["training"]["economics"] = to_dict(economics)
    if per_gpu is not None:
        data["memory"]["per_gpu"] = {
            "gpus": per_gpu.gpus,
            "sharding": per_gpu.sharding,
            "peak_bytes": per_gpu.peak_bytes,
            "peak_phase": per_gpu.phase,
            "breakdown": _breakdown(per_gpu.breakdown),
        }
    return json.dumps(data, indent=2)
