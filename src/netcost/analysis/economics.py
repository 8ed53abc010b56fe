"""Training economics from the exact training-step compute: FLOPs per token against the usual
formulas, MFU from a measured step, and the time a run of D tokens takes.

- 6·N: Kaplan et al.'s training FLOPs per token, N the trainable parameters outside embedding
  tables (a lookup does no arithmetic);
- 6·N + 12·L·H·Q·T: the same with attention's score and value products (L layers, H heads of Q,
  T tokens of context), for models whose config names them;
- MFU = the step's model FLOPs (forward and backward, as counted: no recomputation) ÷ (step
  time × the device's dense peak for the step's matrix dtype); netcost counts no recomputation,
  so the hardware FLOPs utilisation (HFU) is the same figure unless the model recomputes;
- a run of D tokens on G devices at a given MFU takes D · FLOPs per token ÷ (G · peak · MFU).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from netcost.errors import UsageError
from netcost.report import Report


@dataclass(frozen=True)
class Economics:
    tokens: int  # per step
    flops_per_token: int  # forward + backward (the optimizer step is per parameter, not token)
    six_n: int
    with_attention: int | None  # 6N + 12·L·H·Q·T
    peak: float | None  # the device's dense matrix peak at the step's dtype, FLOP/s
    mfu: float | None
    run_seconds: float | None  # D tokens on G devices at `run_mfu`
    run_tokens: int | None
    devices: int
    run_mfu: float | None


def economics(
    report: Report,
    *,
    step_time: float | None = None,
    tokens_per_second: float | None = None,
    train_tokens: int | None = None,
    devices: int = 1,
    mfu: float | None = None,
) -> Economics | None:
    """None unless the report has a training step and a token input (int64 ids). A measured
    figure needs a device and token ids, and must be positive (`mfu` in (0, 1]); one that
    implies an MFU above 100 % of the device's peak is refused, with its likely cause."""
    _check_positive(step_time=step_time, tokens_per_second=tokens_per_second,
                    train_tokens=train_tokens)  # fmt: skip
    if step_time is not None and tokens_per_second is not None:
        raise UsageError("--step-time and --tokens-per-second are one measurement: give one")
    if mfu is not None and not 0 < mfu <= 1:
        raise UsageError(f"--mfu must be in (0, 1] (0.4 for 40 %), not {mfu:g}")
    compute = report.training_compute
    ids = next((t for t in report.inputs if t.dtype == "int64"), None)
    given = [name for name, value in (("--step-time", step_time),
             ("--tokens-per-second", tokens_per_second), ("--train-tokens", train_tokens))
             if value is not None]  # fmt: skip
    if given and compute is not None and report.time is None:
        raise UsageError(f"{given[0]} needs --device: the MFU is measured against its peak")
    if given and compute is not None and ids is None:
        raise UsageError(
            f"{given[0]} needs token ids (an int64 input, e.g. -i 4x2048:int64): MFU and run "
            "length are per token"
        )
    if compute is None or ids is None:
        return None
    tokens = 1
    for size in ids.shape:
        tokens *= size
    model_flops = compute.forward.flops + compute.backward.flops
    tables = sum(m.trainable_params for m in report.modules if "Embedding" in m.type)
    n = report.total.trainable_params - tables
    with_attention = None
    config = report.config or {}
    layers, heads = config.get("num_hidden_layers"), config.get("num_attention_heads")
    head_dim = config.get("head_dim") or (
        config["hidden_size"] // heads if heads and config.get("hidden_size") else None
    )
    if layers and heads and head_dim:
        with_attention = 6 * n + 12 * layers * heads * head_dim * ids.shape[-1]
    peak = None
    if report.time is not None:
        from netcost.analysis.timing import peak as unit_peak

        dtype = _matrix_dtype(report)
        peak, _ = unit_peak(report.time.device, True, dtype, "aten.mm.default", False)
        peak = peak or None
    measured = step_time or (tokens / tokens_per_second if tokens_per_second else None)
    achieved = model_flops / measured / peak if measured and peak else None
    if achieved is not None and achieved > 1 and peak is not None and report.time is not None:
        dtype = _matrix_dtype(report)
        cause = (
            "the model is analysed in fp32; dtype=bfloat16 or --precision bf16-mixed?"
            if dtype == "float32"
            else "is the time one whole step's, and the token input the step's whole batch?"
        )
        raise UsageError(
            f"a measured {measured:g} s per step of {tokens:,} tokens implies an MFU of "
            f"{100 * achieved:.0f} % of {report.time.device.key}'s dense {dtype} peak "
            f"({peak / 1e12:g} TFLOP/s), which no step can reach: {cause}"
        )
    run_mfu = mfu if mfu is not None else achieved
    run_seconds = None
    if train_tokens and peak and run_mfu:
        run_seconds = train_tokens * model_flops / tokens / (devices * peak * run_mfu)
    return Economics(
        tokens, model_flops // tokens, 6 * n, with_attention, peak, achieved, run_seconds,
        train_tokens, devices, run_mfu,
    )  # fmt: skip


def _check_positive(**values: float | None) -> None:
    for name, value in values.items():
        if value is not None and not 0 < value < math.inf:
            flag = "--" + name.replace("_", "-")
            raise UsageError(f"{flag} must be positive and finite, not {value:g}")


def to_dict(e: Economics) -> dict[str, object]:
    """JSON's training.economics."""
    return {
        "tokens_per_step": e.tokens,
        "flops_per_token": e.flops_per_token,
        "six_n": e.six_n,
        "six_n_with_attention": e.with_attention,
        "peak_flops": e.peak,
        "mfu": e.mfu,
        "run_tokens": e.run_tokens,
        "run_devices": e.devices,
        "run_mfu": e.run_mfu,
        "run_seconds": e.run_seconds,
    }


def _matrix_dtype(report: Report) -> str:
    """The dtype of the report's costliest matrix op (bf16 under bf16-mixed, say; fp8 under
    fp8-mixed, whose GEMMs run on fp8 units)."""
    from netcost.analysis.timing import op_dtype

    if report.precision == "fp8-mixed":
        return "float8_e4m3fn"
    records = [r for m in report.modules for r in m.ops]
    if not records:
        return "float32"
    return op_dtype(max(records, key=lambda r: r.cost.macs))
