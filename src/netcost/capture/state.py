"""Stand-ins for a model's parameters, buffers and inputs: fake (shapes only) or real CPU copies.

The user's tensors are never modified: the model runs through torch.func.functional_call on these.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any, cast

import torch
from torch import nn
from torch.utils._pytree import tree_map

from netcost.trace import ParamInfo


def named_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Every parameter and buffer under every name it has (tied weights appear under each name)."""
    state: dict[str, torch.Tensor] = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        state[name] = p
    for name, b in model.named_buffers(remove_duplicate=False):
        state[name] = b
    return state


def _itemsize(t: torch.Tensor, dtype: Any) -> int:
    return (dtype(t) if dtype is not None else t.dtype).itemsize


def param_table(model: nn.Module, dtype: Any = None) -> dict[int, ParamInfo]:
    """Each distinct parameter once, keyed by identity: shared and tied parameters count once.
    dtype(t): the dtype its stand-in has, when not its own."""
    table: dict[int, ParamInfo] = {}
    for name, p in model.named_parameters():
        table[id(p)] = ParamInfo(p.numel(), p.requires_grad, p.numel() * _itemsize(p, dtype), name)
    for name, packed in packed_weights(model):
        tensors = [t for t in packed.unpack() if isinstance(t, torch.Tensor)]
        numel = sum(t.numel() for t in tensors)
        table[id(packed)] = ParamInfo(numel, False, sum(t.nbytes for t in tensors), name)
    return table


def packed_weights(module: nn.Module, recurse: bool = True) -> list[tuple[str, Any]]:
    """Quantized layers' prepacked weights (torch.ao keeps them as script objects, not
    parameters): (name, object) for each, found in module attributes and one wrapper deep."""
    found: list[tuple[str, Any]] = []
    modules = module.named_modules() if recurse else [("", module)]
    for path, m in modules:
        for key, value in vars(m).items():
            inner = getattr(value, "_packed_params", None) if isinstance(value, nn.Module) else None
            for obj in (value, inner):
                if isinstance(obj, torch.ScriptObject) and cast(Any, obj)._has_method("unpack"):
                    found.append((f"{path}.{key}" if path else key, obj))
    return found


def buffers_bytes(model: nn.Module, dtype: Any = None) -> int:
    return sum(b.numel() * _itemsize(b, dtype) for b in model.buffers())


#: Stand-ins live on the CPU, whatever the model's device: that also decides which kernels PyTorch
#: picks (SDPA's CPU flash kernel, oneDNN's LSTM).
SIMULATED_DEVICE = torch.device("cpu")


def fake_like(t: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Call inside a FakeTensorMode: a tensor of the same shape and strides (a sparse one: the
    same layout and stored elements) and of its dtype (or `dtype`), no storage."""
    if t.layout != torch.strided:
        out = _sparse_like(t, dtype or t.dtype)
    else:
        out = torch.empty_strided(
            tuple(t.shape), tuple(t.stride()), dtype=dtype or t.dtype, device=SIMULATED_DEVICE
        )
    if t.requires_grad:
        out.requires_grad_(True)
    return out


def _sparse_like(t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """A sparse stand-in with t's sizes and stored elements: COO with empty indices and values.
    Fake tensors cannot make compressed layouts (CSR, CSC, BSR, BSC), so those stand in as COO
    with the same elements: the same products and their arithmetic, COO's index bytes (the
    report says so)."""
    from torch._subclasses.fake_tensor import unset_fake_temporarily

    with unset_fake_temporarily():  # the user's tensor as it is (a fake mode would hide its nnz)
        coo = t.layout == torch.sparse_coo
        nnz = t._nnz()
        sparse_dims = t.sparse_dim() if coo else 2
        dense = tuple(t.shape[sparse_dims:])
        coalesced = t.is_coalesced() if coo else True
    indices = torch.empty((sparse_dims, nnz), dtype=torch.int64, device=SIMULATED_DEVICE)
    stored = torch.empty((nnz, *dense), dtype=dtype, device=SIMULATED_DEVICE)
    return torch.sparse_coo_tensor(indices, stored, tuple(t.shape), is_coalesced=coalesced)


def real_like(t: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A CPU tensor with t's values if it has any, else random values of its shape and dtype."""
    if t.device.type == "meta" or _is_fake(t):
        if t.dtype.is_floating_point or t.dtype.is_complex:
            out = torch.randn(tuple(t.shape), dtype=t.dtype, generator=generator)
        elif t.dtype == torch.bool:
            out = torch.zeros(tuple(t.shape), dtype=torch.bool)
        else:
            out = torch.zeros(tuple(t.shape), dtype=t.dtype)
    else:
        out = t.detach().to("cpu", copy=True)
    return out.requires_grad_(t.requires_grad)


def _is_fake(t: torch.Tensor) -> bool:
    from torch._subclasses.fake_tensor import FakeTensor

    return isinstance(t, FakeTensor)


def stand_ins(
    state: dict[str, torch.Tensor], make: Any, *extra: Any
) -> tuple[dict[str, torch.Tensor], tuple[Any, ...]]:
    """Apply `make` to every tensor once (tied tensors stay tied) in the state and in `extra`."""
    made: dict[int, torch.Tensor] = {}

    def convert(t: Any) -> Any:
        if not isinstance(t, torch.Tensor):
            return t
        if id(t) not in made:
            made[id(t)] = make(t)
        return made[id(t)]

    new_state = {name: convert(t) for name, t in state.items()}
    return new_state, tuple(tree_map(convert, e) for e in extra)


def state_nbytes(state: dict[str, torch.Tensor], *extra: Any) -> int:
    from torch.utils._pytree import tree_leaves

    seen: set[int] = set()
    total = 0
    for t in [*state.values(), *tree_leaves(extra)]:
        if isinstance(t, torch.Tensor) and id(t) not in seen:
            seen.add(id(t))
            total += t.numel() * t.element_size()
    return total


def initialised_state(model: nn.Module, state: dict[str, torch.Tensor]) -> dict[int, torch.Tensor]:
    """Real CPU values for the model's tensors that have none (meta or fake), keyed by the
    original tensor's identity, initialised as the model initialises itself: a copy of the model
    is materialised on the CPU (`to_empty`), then every module's own `reset_parameters` runs
    (BatchNorm's resets its running statistics: mean 0, variance 1), then the model's own
    `init_weights` if it has one (transformers, timm). What no initialiser covers gets
    `default_value`. Seeded: the same model always gets the same values. {} when every tensor
    already has values; the model itself is not touched."""
    if not any(t.device.type == "meta" or _is_fake(t) for t in state.values()):
        return {}
    try:
        fresh = materialised(model)
    except Exception:  # a model that cannot be copied: values by name alone
        return {id(t): default_value(name, t) for name, t in state.items()}
    fresh_state = named_state(fresh)
    found: dict[int, torch.Tensor] = {}
    for name, t in state.items():
        if (t.device.type == "meta" or _is_fake(t)) and name in fresh_state:
            found[id(t)] = fresh_state[name].detach().requires_grad_(t.requires_grad)
    return found


def materialised(model: nn.Module, device: str = "cpu") -> nn.Module:
    """A copy of `model` with real values on `device`, initialised as the model initialises
    itself (default_value, then every module's reset_parameters, then the model's init_weights),
    seeded; the model itself is not touched."""
    import copy

    with torch.random.fork_rng(), torch.no_grad():
        torch.manual_seed(0)
        fresh = copy.deepcopy(model).to_empty(device=device)
        for name, t in named_state(fresh).items():
            t.copy_(default_value(name, t))
        for module in fresh.modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset):
                with suppress(Exception):  # an initialiser that needs more: keep the defaults
                    reset()
        init = getattr(fresh, "init_weights", None)
        if callable(init):
            with suppress(Exception):
                init()
    return fresh


def default_value(name: str, t: torch.Tensor) -> torch.Tensor:
    """A value for a tensor no initialiser sets: ones for norm scales and variances
    (`...weight` of one dimension, `...var`), zeros for other vectors and integer tensors,
    N(0, 0.02²) for matrices (the common transformer initialisation)."""
    leaf = name.rsplit(".", 1)[-1]
    shape = tuple(t.shape)
    if not (t.dtype.is_floating_point or t.dtype.is_complex):
        return torch.zeros(shape, dtype=t.dtype)
    if leaf.endswith("var") or (leaf == "weight" and len(shape) == 1):
        return torch.ones(shape, dtype=t.dtype)
    if len(shape) < 2:
        return torch.zeros(shape, dtype=t.dtype)
    return torch.randn(shape, dtype=t.dtype) * 0.02
