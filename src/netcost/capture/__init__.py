"""Run a model once on stand-in tensors and record what it does (see capture/recorder.py)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import torch
from torch import nn

from netcost.capture.experts import find_experts
from netcost.capture.known import VALUE_LIMIT
from netcost.capture.patches import during_capture, seeded
from netcost.capture.precision import PRECISIONS, autocast, check_choice, stored_dtype
from netcost.capture.recorder import (
    Failure,
    FakeRecorder,
    ModuleTracker,
    Recorder,
    quiet_fake_tensor_log,
)
from netcost.capture.specs import (
    storage_key,
    tensor_ids,
    tensor_number,
    tensor_specs,
    tensors_in,
)
from netcost.capture.state import (
    buffers_bytes,
    fake_like,
    initialised_state,
    named_state,
    param_table,
    real_like,
    stand_ins,
    state_nbytes,
)
from netcost.capture.untouched import Untouched
from netcost.errors import ModelError, NetcostError, UnsupportedError
from netcost.inputs import known
from netcost.trace import ModuleCall, OpEvent, ParamInfo, TensorSpec, Trace

__all__ = ["ModuleCall", "OpEvent", "ParamInfo", "TensorSpec", "Trace", "capture"]

#: What one recorded pass gives: the module calls, the ops, the stand-in inputs' specs, and the
#: bytes allocated by each op and freed after it.
#: What one recorded pass gives a Trace: calls, events, inputs, per-op bytes allocated and freed
#: and weight copies alive, kept (value-dependent ops), state_numbers (each parameter's,
#: buffer's and input's tensor number) and notes (ops run through their decomposition)
Recorded = dict[str, Any]
#: which ops run through PyTorch's decomposition, recorded op by op (op, packet) -> bool
Decompose = Callable[[str, str], bool]

#: Real execution is the fallback only while parameters, buffers and inputs fit in this many bytes.
REAL_FALLBACK_LIMIT = 1 << 30


def _fake_errors() -> tuple[type[BaseException], ...]:
    from torch._subclasses import fake_tensor as ft

    names = (
        "DynamicOutputShapeException",
        "DataDependentOutputException",
        "UnsupportedOperatorException",
        "UnsupportedFakeTensorException",
        "UnsupportedDeviceError",
    )
    found = tuple(getattr(ft, n) for n in names if hasattr(ft, n))
    try:
        from torch.fx.experimental.symbolic_shapes import GuardOnDataDependentSymNode

        found += (GuardOnDataDependentSymNode,)
    except ImportError:  # pragma: no cover - older torch
        pass
    return found


#: How a forward runs: fake tensors, real CPU tensors, or fake with a real fallback.
EXECUTIONS = ("auto", "fake", "real")


def capture(
    model: nn.Module,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    input_names: tuple[str, ...],
    execution: str = "auto",
    real_limit: int = REAL_FALLBACK_LIMIT,
    precision: str = "fp32",
    decompose: Decompose | None = None,
) -> Trace:
    """Record one forward pass of `model(*args, **kwargs)`.

    execution: "fake" (shapes only), "real" (CPU copies) or "auto": fake, and real only when fake
    execution cannot proceed (data-dependent shapes, an op with no fake kernel) and the state is at
    most `real_limit` bytes. precision: capture/precision.py (bf16 stand-ins, or autocast).
    decompose: ops the caller wants recorded as the ops of PyTorch's decomposition of them (the
    analysis: those it has no formula for), where PyTorch has one; the trace's notes name them.
    """
    check_choice("precision", precision, PRECISIONS)
    check_choice("execution", execution, EXECUTIONS)
    # Under inference_mode PyTorch skips the Autograd key, where composite ops (linear, conv2d)
    # are decomposed, and its tensors carry no such key: run as no_grad instead, the same kernels.
    grad = torch.is_grad_enabled() and not torch.is_inference_mode_enabled()
    with (
        Untouched(model),
        torch.inference_mode(False),
        torch.set_grad_enabled(grad),
        quiet_fake_tensor_log(),
    ):
        return _capture(
            model, args, kwargs, input_names, execution, real_limit, precision, decompose
        )


def _capture(
    model: nn.Module,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    input_names: tuple[str, ...],
    execution: str,
    real_limit: int,
    precision: str,
    decompose: Decompose | None,
) -> Trace:
    state = named_state(model)

    def stored(t: torch.Tensor) -> torch.dtype:
        return stored_dtype(precision, t)

    params = param_table(model, stored)
    base: dict[str, Any] = dict(
        model_name=type(model).__name__,
        input_names=input_names,
        grad_enabled=torch.is_grad_enabled(),
        params=params,
        buffers_bytes=buffers_bytes(model, stored),
        experts=find_experts(model),
        module_paths=[name for name, _ in model.named_modules() if name],
    )

    def recorded(fake: bool, notes: list[str]) -> Trace:
        run = _run(model, state, args, kwargs, params, precision, fake=fake, decompose=decompose)
        notes = [*notes, *run.pop("notes")]
        return Trace(**base, **run, execution="fake" if fake else "real", notes=notes)

    if execution == "real":
        _fits_in_memory(state_nbytes(state, args, kwargs))
        return recorded(False, [])
    try:
        return recorded(True, _compressed_notes(input_names, (args, kwargs)))
    except _FakeUnsupported as unsupported:
        failure = unsupported.failure
        where = _where(unsupported.calls, failure)
        reason = (
            f"{where}: {failure.op} cannot run on fake tensors "
            f"({type(failure.error).__name__}: {_first_line(failure.error)})"
        )
        if execution == "fake":
            raise UnsupportedError(reason) from None
        size = state_nbytes(state, args, kwargs)
        if size > real_limit:
            raise UnsupportedError(
                f"{reason}; real execution would need {size / 2**20:,.1f} MiB, over the "
                f"{real_limit / 2**20:,.0f} MiB limit"
            ) from None
        _fits_in_memory(size)
        note = (
            f"ran on real CPU tensors: {where} calls {failure.op}, which fake tensors cannot run "
            f"({type(failure.error).__name__})"
        )
        return recorded(False, [note])


def _fits_in_memory(size: int) -> None:
    """Real execution copies parameters, buffers and inputs into real CPU tensors: refused in
    one line when they alone exceed the memory free here (the OOM killer would end the process
    with no message)."""
    from netcost.measure.profile import free_bytes
    from netcost.text import binary_size

    free = free_bytes("cpu")
    if size > free:
        raise UnsupportedError(
            f"real execution needs {binary_size(size)} for the parameters, buffers and inputs "
            f"alone, more than the {binary_size(free)} free here: use execution='fake' (the "
            "default)"
        )


class _FakeUnsupported(Exception):
    def __init__(self, failure: Failure, calls: list[ModuleCall]) -> None:
        super().__init__(failure.op)
        self.failure = failure
        self.calls = calls


def _run(
    model: nn.Module,
    state: dict[str, torch.Tensor],
    args: tuple,
    kwargs: dict,
    params: dict[int, ParamInfo],
    precision: str,
    *,
    fake: bool,
    decompose: Decompose | None = None,
) -> Recorded:
    """Record one pass on stand-ins: fake tensors (shapes only), or real CPU copies."""
    calls: list[ModuleCall] = []
    recorder: Recorder
    if fake:
        faking = FakeRecorder(calls, decompose)  # the stand-ins are made in the recording mode
        recorder = faking

        def make(t: torch.Tensor) -> torch.Tensor:
            if has_values(t):
                return faking.with_values(t)
            return fake_like(t, stored_dtype(precision, t))
    else:
        recorder, generator = Recorder(calls, decompose), torch.Generator().manual_seed(0)
        initialised = initialised_state(model, state)

        def make(t: torch.Tensor) -> torch.Tensor:
            out = initialised[id(t)] if id(t) in initialised else real_like(t, generator)
            dtype = stored_dtype(precision, t)
            return out if dtype == out.dtype else out.to(dtype).requires_grad_(t.requires_grad)

    with recorder if fake else nullcontext():
        original = state
        state, (args, kwargs) = stand_ins(state, make, args, kwargs)
    weight_keys = (storage_key(state[name]) for name, t in original.items() if id(t) in params)
    # autocast's copies of these are weight copies, not activations
    weights = frozenset(k for k in weight_keys if k is not None)
    keys = (storage_key(t) for t in [*state.values(), *tensors_in((args, kwargs))])
    resident = frozenset(k for k in keys if k is not None)
    fake_errors = _fake_errors()
    try:
        with tensor_ids():
            inputs = tensor_specs((args, kwargs))
            recorder.start(resident, weights)
            with (
                seeded(),
                ModuleTracker(model, recorder, set(params)),
                during_capture(),
                recorder,
                autocast(precision),
            ):
                torch.func.functional_call(
                    model, state, args, kwargs, tie_weights=True, strict=False
                )  # the result is dropped here: its storages are freed after the last op
            numbers = {name: tensor_number(t) for name, t in state.items()}
    except NetcostError:
        raise
    except Exception as error:
        failure = recorder.failure
        if failure is not None and isinstance(failure.error, fake_errors):
            raise _FakeUnsupported(failure, calls) from error
        raise _model_error(error, failure, calls) from error
    allocated, freed, copies = recorder.memory()
    notes = [
        f"{op} has no formula: costed as the ops of PyTorch's decomposition of it "
        f"({calls_} call{'s' * (calls_ != 1)})"
        for op, calls_ in recorder.decomposed.items()
    ]
    return dict(
        calls=calls, events=recorder.events, inputs=inputs, allocated=allocated, freed=freed,
        weight_copies=copies, kept=recorder.kept, state_numbers=numbers, notes=notes,
    )  # fmt: skip


def _compressed_notes(names: tuple[str, ...], inputs: Any) -> list[str]:
    """Fake tensors cannot make compressed sparse layouts: such an input stands in as COO."""
    tensors = tensors_in(inputs)
    named = zip(names or [f"input{i}" for i in range(len(tensors))], tensors, strict=False)
    return [
        f"input {name} ({str(t.layout).removeprefix('torch.')}, {t._nnz():,} stored) stands in "
        "as sparse COO with the same stored elements on fake tensors: the same products and "
        "arithmetic, COO's index bytes"
        for name, t in named
        if t.layout not in (torch.strided, torch.sparse_coo)
    ]


def has_values(t: torch.Tensor) -> bool:
    """A real integer or boolean tensor (or one marked `with_known_values`) small enough to keep
    its values on fake tensors."""
    return (
        (known(t) or not (t.dtype.is_floating_point or t.dtype.is_complex))
        and t.device.type != "meta"
        and not isinstance(t, torch._subclasses.fake_tensor.FakeTensor)
        and not isinstance(t, nn.Parameter)
        and t.numel() <= VALUE_LIMIT
    )


def _where(calls: list[ModuleCall], failure: Failure) -> str:
    """'layer1.0.conv1 (Conv2d)', or the model's type for code in its own forward."""
    if not calls:
        return "the model"
    call = calls[failure.call]
    return f"{call.path} ({call.type})" if call.path else call.type


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _shapes(args: dict[str, Any]) -> str:
    shown = [
        f"{name}={'x'.join(map(str, v.shape)) or 'scalar'}"
        for name, v in args.items()
        if isinstance(v, TensorSpec)
    ]
    return ", ".join(shown)


def _raising_call(error: BaseException, calls: list[ModuleCall]) -> ModuleCall | None:
    """The module call whose own code raised `error`: the innermost frame of its traceback that
    runs a method of one of the model's modules (not the last call that began: a parent can
    raise after its child returned)."""
    by_module = {c.module_key: c for c in calls}
    found = None
    tb = error.__traceback__
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        if isinstance(owner, nn.Module) and id(owner) in by_module:
            found = by_module[id(owner)]
        tb = tb.tb_next
    return found


def _model_error(
    error: Exception, failure: Failure | None, calls: list[ModuleCall]
) -> NetcostError:
    """One line naming the layer, the op, the shapes and PyTorch's own complaint."""
    if failure is None:
        call = _raising_call(error, calls)
        where = (
            f"{call.path} ({call.type})"
            if call is not None and call.path
            else (calls[0].type if calls else "the model")
        )
        return ModelError(f"{where}: {type(error).__name__}: {_first_line(error)}")
    return ModelError(
        f"{_where(calls, failure)}: {failure.op}({_shapes(failure.args)}) failed: "
        f"{_first_line(failure.error)}"
    )
