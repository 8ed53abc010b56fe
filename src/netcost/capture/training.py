"""One training step on fake tensors: forward with autograd, backward, optimizer step.

The step is a steady-state one: the optimizer's state exists before it starts (one warm-up step
on zero gradients creates it, unrecorded) and gradients start as None (zero_grad's default). The
optimizer runs PyTorch's own foreach implementation — the default on GPUs — so its temporaries
(Adam's sqrt of the second moment, for one) are whatever PyTorch allocates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from netcost.capture.patches import during_capture
from netcost.capture.precision import PRECISIONS, autocast, check_choice, stored_dtype
from netcost.capture.recorder import (
    FakeRecorder,
    ModuleTracker,
    op_event,
    quiet_fake_tensor_log,
)
from netcost.capture.specs import storage_key, tensor_ids, tensors_in
from netcost.capture.state import buffers_bytes, fake_like, named_state, param_table, stand_ins
from netcost.capture.untouched import Untouched
from netcost.capture.workspaces import sized_workspace
from netcost.errors import ModelError, NetcostError
from netcost.trace import ModuleCall, StepTrace

#: --optimizer names: the optimizer class and its arguments.
OPTIMIZERS: dict[str, tuple[str, dict[str, Any]]] = {
    "sgd": ("SGD", {"lr": 0.01}),
    "momentum": ("SGD", {"lr": 0.01, "momentum": 0.9}),
    "adam": ("Adam", {}),
    "adamw": ("AdamW", {}),
}

Loss = Callable[[Any], torch.Tensor]
#: how the optimizer's step runs: PyTorch's foreach kernels (its default on GPUs), one
#: parameter at a time (its default on the CPU), or fused kernels
OPTIMIZER_IMPLS: dict[str, dict[str, bool]] = {
    "foreach": {"foreach": True},
    "forloop": {"foreach": False},
    "fused": {"fused": True},
}


class StepRecorder(FakeRecorder):
    """The step's fake tensor mode, recording (after the warm-up) each op's name, the layer it
    ran in and the storages it made. During backward an op's layer is the module call whose
    forward created the autograd node now running."""

    def __init__(self, calls: list[ModuleCall]) -> None:
        super().__init__(calls)
        self.ops: list[str] = []
        self.op_calls: list[int] = []
        self.nodes: dict[int, int] = {}  # id(autograd node) -> module call that created it
        self.phase = "warm-up"  # warm-up (not recorded), forward, backward, optimizer
        self.weights: frozenset[int] = frozenset()  # parameter storages: casts of them are copies
        self.notes: list[str] = []  # what the step could not size

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten._local_scalar_dense.default and self.phase in (
            "warm-up",
            "optimizer",
        ):
            # The optimizer reads its step count (bias correction): values do not move memory.
            constant = getattr(args[0], "constant", None)
            return constant.item() if constant is not None else 1
        return super().__torch_dispatch__(func, types, args, kwargs)

    def _record(self, func: Any, args: tuple, kwargs: dict, out: Any, call: int) -> Any:
        out, note = sized_workspace(func, args, kwargs, out)
        if note is not None and note not in self.notes:
            self.notes.append(note)
        self.ops.append(str(func))
        self.op_calls.append(call)
        self.ledger.hold(out, len(self.ops) - 1, self._kind(func, args))
        self.events.append(op_event(len(self.events), func, args, kwargs, out, call))
        return out

    @property
    def current(self) -> int:
        return self._call()

    def _call(self) -> int:
        if self.phase == "forward":  # outside the model's call: the loss
            return self.call_stack[-1] if self.call_stack else -1
        if self.phase == "backward":
            node = torch._C._current_autograd_node()
            return self.nodes.get(id(node), -1) if node is not None else -1
        return -1

    def _kind(self, func: Any, args: tuple) -> str:
        if self.phase != "forward":
            return "temporary"
        if func is torch.ops.aten._to_copy.default and args:
            source = args[0]
            if source.untyped_storage()._cdata in self.weights:
                return "weight copy"
        return "activation"


def capture_step(
    model: nn.Module,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    optimizer: str = "adamw",
    precision: str = "fp32",
    loss: Loss | None = None,
    optimizer_impl: str = "foreach",
) -> StepTrace:
    """Simulate one training step of `model(*args, **kwargs)` in train mode; the model itself is
    left as it was (its modules' train/eval flags included). `optimizer_impl`: foreach,
    forloop or fused (OPTIMIZER_IMPLS)."""
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_choice("optimizer implementation", optimizer_impl, OPTIMIZER_IMPLS)
    check_choice("precision", precision, PRECISIONS)
    with (
        Untouched(model),  # train/eval flags included
        torch.inference_mode(False),
        torch.enable_grad(),
        quiet_fake_tensor_log(),
        tensor_ids(),  # tensor numbers: the step's dataflow, for the fused view
    ):
        model.train()
        return _step(model, args, kwargs, optimizer, precision, loss, optimizer_impl)


def _step(
    model: nn.Module,
    args: tuple,
    kwargs: dict,
    optimizer: str,
    precision: str,
    loss: Loss | None,
    optimizer_impl: str = "foreach",
) -> StepTrace:
    params = param_table(model)
    calls: list[ModuleCall] = []
    recorder = StepRecorder(calls)

    def stored(t: torch.Tensor) -> torch.dtype:
        return stored_dtype(precision, t)

    def make(t: torch.Tensor) -> torch.Tensor:
        return fake_like(t, stored(t))

    originals = named_state(model)
    with recorder:
        state, (new_args, new_kwargs) = stand_ins(originals, make, args, kwargs)
    trainable = list({id(t): t for t in state.values() if t.requires_grad}.values())
    if not trainable:
        raise ModelError(f"{type(model).__name__} has no trainable parameters to train")
    name, options = OPTIMIZERS[optimizer]
    opt = getattr(torch.optim, name)(trainable, **OPTIMIZER_IMPLS[optimizer_impl], **options)

    inputs = list({id(t): t for t in tensors_in((new_args, new_kwargs))}.values())
    with recorder:
        for p in trainable:  # warm-up: the optimizer creates its state
            p.grad = torch.zeros_like(p)
        opt.step()
        opt.zero_grad(set_to_none=True)
    state_tensors = {
        t.untyped_storage()._cdata: t.untyped_storage().nbytes()
        for s in opt.state.values()
        for t in s.values()
        if isinstance(t, torch.Tensor)
    }
    keys = (storage_key(t) for t in [*state.values(), *inputs])
    resident = frozenset(k for k in keys if k is not None)
    recorder.start(resident | frozenset(state_tensors))
    recorder.weights = frozenset(t.untyped_storage()._cdata for t in trainable)

    try:
        with recorder:
            recorder.phase = "forward"
            tracker = ModuleTracker(model, recorder, set(params), nodes=recorder.nodes)
            with tracker, during_capture(), autocast(precision):
                out = torch.func.functional_call(
                    model, state, new_args, new_kwargs, tie_weights=True, strict=False
                )
                value = loss(out) if loss is not None else sum_of_outputs(out)
            del out
            backward_start = len(recorder.ops)
            recorder.phase = "backward"
            value.backward()
            del value
            grads = {p.grad.untyped_storage()._cdata for p in trainable if p.grad is not None}
            for key in grads:
                block = recorder.ledger.live_block(key)
                if block is not None:
                    block.kind = "gradient"
            optimizer_start = len(recorder.ops)
            recorder.phase = "optimizer"
            opt.step()
    except NetcostError:
        raise
    except Exception as error:
        raise _step_error(error, recorder) from error
    return StepTrace(
        model_name=type(model).__name__,
        optimizer=optimizer if optimizer_impl == "foreach" else f"{optimizer}, {optimizer_impl}",
        precision=precision,
        ops=recorder.ops,
        op_calls=recorder.op_calls,
        calls=calls,
        backward_start=backward_start,
        optimizer_start=optimizer_start,
        blocks=recorder.ledger.blocks,
        params_bytes=sum(p.nbytes for p in param_table(model, stored).values()),
        buffers_bytes=buffers_bytes(model, stored),
        inputs_bytes=sum(t.numel() * t.element_size() for t in inputs),
        state_bytes=sum(state_tensors.values()),
        notes=recorder.notes,
        events=recorder.events,
    )


def sum_of_outputs(out: Any) -> torch.Tensor:
    """The default loss: the sum of every floating-point output that requires grad."""
    parts = [t.sum() for t in tensors_in(out) if t.requires_grad and t.is_floating_point()]
    if not parts:
        raise ModelError("the model's outputs do not require grad: nothing to train")
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def _step_error(error: Exception, recorder: StepRecorder) -> NetcostError:
    """One line: the phase, the layer and the op that failed, and PyTorch's complaint."""
    lines = str(error).strip().splitlines()
    reason = f"{type(error).__name__}: {lines[0] if lines else ''}"
    failure = recorder.failure
    if failure is None:
        return ModelError(f"training step ({recorder.phase}): {reason}")
    op, call = failure.op, failure.call
    where = "the model"
    if 0 <= call < len(recorder.calls):
        c = recorder.calls[call]
        where = f"{c.path} ({c.type})" if c.path else c.type
    return ModelError(f"training step ({recorder.phase}) in {where}: {op} failed: {reason}")
