"""analyze(): the one entry point. Capture -> formulas -> analysis -> Report."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

import torch
from torch import nn

from netcost.analysis import build_report
from netcost.analysis.memory import step_memory
from netcost.analysis.training_compute import step_compute, with_backward
from netcost.capture import EXECUTIONS, capture
from netcost.capture.lazy import initialised_copy, lazy_paths
from netcost.capture.precision import PRECISIONS, check_choice
from netcost.capture.training import OPTIMIZER_IMPLS, OPTIMIZERS, capture_step
from netcost.conventions import CONVENTIONS
from netcost.cost import Cost
from netcost.devices import KERNEL_VIEWS
from netcost.devices import load as load_device
from netcost.errors import UsageError
from netcost.formulas import local_formulas, lookup
from netcost.hf.config import global_value
from netcost.hf.keys import SHAPE_KEYS
from netcost.inputs import checked_shape, parse_input, shape_only
from netcost.report import Report

Inputs = torch.Tensor | Sequence[Any] | dict[str, Any]
Convention = Literal["netcost", "macs", "torch"]
Execution = Literal["auto", "fake", "real"]
Optimizer = Literal["sgd", "momentum", "adam", "adamw"]
Precision = Literal["fp32", "bf16-mixed", "fp16-mixed", "bf16", "fp8-mixed"]
Kernels = Literal["eager", "fused"]
OptimizerImpl = Literal["foreach", "forloop", "fused"]


def analyze(
    model: nn.Module,
    inputs: Inputs | None = None,
    *,
    input_size: Sequence[int] | Sequence[Sequence[int]] | str | Sequence[str] | None = None,
    dtype: torch.dtype = torch.float32,
    convention: Convention = "netcost",
    execution: Execution = "auto",
    train: bool = False,
    optimizer: Optimizer = "adamw",
    optimizer_impl: OptimizerImpl | None = None,
    precision: Precision = "fp32",
    loss: Callable[[Any], torch.Tensor] | None = None,
    formulas: Mapping[Any, Callable[..., Cost]] | None = None,
    device: str | None = None,
    tf32_matmul: bool = False,
    kernels: Kernels | None = None,
) -> Report:
    """What every layer of `model` costs for one call on `inputs`.

    inputs: a tensor, a tuple of positional tensors, or a dict of keyword arguments. Their values
    are never read: real, meta and fake tensors all work. Or give `input_size=(64, 1, 28, 28)`
    (several: a list of shapes) with `dtype`, or as on the command line, "64x1x28x28:int64".
    convention: how FLOPs are counted — "netcost", "macs" or "torch" (docs/conventions.md).
    execution: "auto" (fake tensors; real CPU execution only if fake execution cannot proceed and
    the model is small), "fake" or "real".
    precision: "fp32" (the model's and inputs' own dtypes), "bf16-mixed" / "fp16-mixed" (the
    forward under autocast), "bf16" (floating-point parameters, buffers and inputs in bf16) or
    "fp8-mixed" (Transformer Engine's FP8 recipe: captured as bf16-mixed; on a device every
    GEMM, forward and backward, runs on fp8 units, in the fused view).
    train: also simulate one training step on fake tensors (Report.training): forward in train
    mode, backward of `loss(outputs)` (default: the sum of the outputs), then the `optimizer`
    step ("sgd", "momentum", "adam", "adamw"), at `precision`. optimizer_impl: how the step
    runs — "foreach" (PyTorch's default on GPUs; netcost's default), "forloop" (one parameter at
    a time: PyTorch's default on the CPU, and netcost's for device="local" without CUDA) or
    "fused"; their temporaries, and so the step's peak, differ.
    formulas: costs for ops netcost has no formula for (your torch.library custom ops), by op
    name ("mylib::op"), each a function of the op's arguments (tensors as TensorSpec) and `out`
    returning a Cost; used for this analysis only (docs/conventions.md).
    device: time every op, layer and phase on this device (`netcost devices`, or a TOML file):
    roofline lower bounds (analysis/timing.py); `tf32_matmul` when fp32 matrix products may run
    as TF32. Same as `report.on(device)`.
    kernels: how the ops run on `device` — "eager" (one kernel per op, as PyTorch eager runs the
    model's code; the default on `local`) or "fused" (attention as one kernel, a KV cache
    written in place, point-wise chains fused: as engines run it; the default on accelerators).

    The report is inference: the forward runs under no_grad whatever the caller's grad mode
    (PyTorch's inference kernels, and an exact memory peak); `train=True` adds the step.
    The model is left exactly as it was: same parameters, buffers, mode, device, and no hooks.
    """
    if not isinstance(model, nn.Module):
        raise UsageError(f"expected a torch.nn.Module, got {type(model).__name__}")
    check_choice("convention", convention, CONVENTIONS)
    check_choice("execution", execution, EXECUTIONS)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    if optimizer_impl is not None:
        check_choice("optimizer implementation", optimizer_impl, OPTIMIZER_IMPLS)
    check_choice("precision", precision, PRECISIONS)
    args, kwargs = _arguments(inputs, input_size, dtype)
    names = _input_names(model, args, kwargs)
    if lazy_paths(model):  # analysed as an initialised copy: the user's stays lazy
        model = initialised_copy(model, args, kwargs)
    # the report is inference, whatever the caller's grad mode; an op with no formula (the
    # caller's included) is recorded as the ops of PyTorch's decomposition of it
    with torch.no_grad(), local_formulas(formulas):
        trace = capture(
            model, args, kwargs, input_names=names, execution=execution, precision=precision,
            decompose=lambda op, packet: lookup(op, packet) is None,
        )  # fmt: skip
    chosen = load_device(device) if device is not None else None  # a bad name: before the work
    with local_formulas(formulas):
        report = replace(build_report(trace, convention), config=_shape_config(model))
    if train:
        step = capture_step(
            model,
            args,
            kwargs,
            optimizer=optimizer,
            precision=precision,
            loss=loss,
            optimizer_impl=optimizer_impl or default_optimizer_impl(device),
        )
        with local_formulas(formulas):
            compute = step_compute(step, convention)
        memory = step_memory(step)
        if precision == "fp8-mixed":
            memory = replace(memory, notes=(*memory.notes, FP8_MEMORY))
        report = with_backward(replace(report, training=memory), compute)
    report = replace(report, precision=precision, precision_kept=_kept(model, precision))
    if kernels is not None:
        check_choice("kernels", kernels, KERNEL_VIEWS)
        if chosen is None:
            raise UsageError("kernels= chooses how ops run on a device: give device= too")
    if chosen is None:
        return report
    return report.on(chosen, tf32_matmul=tf32_matmul, kernels=kernels)


#: what fp8-mixed leaves out of a training step's memory
FP8_MEMORY = (
    "fp8-mixed: memory counted as bf16-mixed's; Transformer Engine's fp8 copies of the weights "
    "(1 byte a parameter more) and its fp8 copies of the GEMMs' saved inputs (less than bf16's) "
    "are not"
)


def _kept(model: nn.Module, precision: str) -> tuple[str, ...]:
    """Under fp8-mixed, the module whose GEMMs stay in bf16: a language model's output head,
    which Megatron-Core builds outside Transformer Engine and torchtitan's Llama 3 FP8
    configurations leave out (filter_fqns=["lm_head"])."""
    return output_head(model) if precision == "fp8-mixed" else ()


def output_head(model: nn.Module) -> tuple[str, ...]:
    """The path of a language model's output head (`get_output_embeddings()`; none: ())."""
    getter = getattr(model, "get_output_embeddings", None)
    head = getter() if callable(getter) else None
    if not isinstance(head, nn.Module):
        return ()
    return tuple(name for name, module in model.named_modules() if module is head)


def default_optimizer_impl(device: str | None) -> str:
    """PyTorch's own default where the step runs: one parameter at a time on a CPU (`local`
    without CUDA), foreach kernels on an accelerator."""
    if device == "local" and not torch.cuda.is_available():
        return "forloop"
    return "foreach"


def _shape_config(model: nn.Module) -> dict[str, Any] | None:
    """The shape keys of a transformers-style config (the text model's, for a multimodal one)."""
    config = getattr(model, "config", None)
    config = getattr(config, "text_config", None) or config
    if config is None:
        return None
    found = {k: v for k in SHAPE_KEYS if isinstance(v := global_value(config, k), int)}
    return found or None


def _arguments(
    inputs: Inputs | None, input_size: Any, dtype: torch.dtype
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if inputs is not None and input_size is not None:
        raise UsageError("give inputs or input_size, not both")
    if input_size is not None:
        if isinstance(input_size, str):  # "64x1x28x28:int64", as on the command line
            input_size = [input_size]
        sizes = list(input_size) if isinstance(input_size, list | tuple) else [input_size]
        if sizes and all(isinstance(n, int) for n in sizes):
            sizes = [sizes]
        tensors = []
        for size in sizes:
            if isinstance(size, str):
                shape, of = parse_input(size)
            else:
                shape, of = checked_shape(size, f"input_size {size!r}"), dtype
            tensors.append(shape_only(shape, of))
        return tuple(tensors), {}
    if inputs is None:
        raise UsageError("give the model's inputs (a tensor, a tuple or a dict) or input_size")
    if isinstance(inputs, torch.Tensor):
        return (inputs,), {}
    if isinstance(inputs, dict):
        return (), dict(inputs)
    if isinstance(inputs, list | tuple):
        return tuple(inputs), {}
    raise UsageError(
        f"inputs must be a tensor, a tuple of them or a dict of keyword arguments, "
        f"not {type(inputs).__name__}"
    )


def _input_names(model: nn.Module, args: tuple, kwargs: dict) -> tuple[str, ...]:
    """Names of the tensors among the inputs, in the order the capture lists them: forward()'s
    parameter names where possible, and inside lists, tuples and dicts the path to each
    ("batch.image", "pair[1]")."""
    try:
        params = [
            p.name
            for p in inspect.signature(model.forward).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        params = []
    names: list[str] = []
    for i, a in enumerate(args):
        _name_tensors(a, params[i] if i < len(params) else f"input{i}", names)
    for k, v in kwargs.items():
        _name_tensors(v, k, names)
    return tuple(names)


def _name_tensors(value: Any, path: str, names: list[str]) -> None:
    """Append a name for each tensor in `value`, as capture.specs.tensors_in walks it."""
    from torch.utils._pytree import tree_leaves

    if isinstance(value, torch.Tensor):
        names.append(path)
    elif isinstance(value, list | tuple) and type(value) in (list, tuple):
        for i, v in enumerate(value):
            _name_tensors(v, f"{path}[{i}]", names)
    elif type(value) is dict:
        for k, v in value.items():
            _name_tensors(v, f"{path}.{k}", names)
    elif value is not None and not isinstance(value, int | float | bool | str):
        leaves = [t for t in tree_leaves(value) if isinstance(t, torch.Tensor)]
        names += (
            [f"{path}[{i}]" for i in range(len(leaves))]
            if len(leaves) > 1
            else [path] * len(leaves)
        )
