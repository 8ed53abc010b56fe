"""Leaving the user's model exactly as it was after a capture.

A forward may write to its modules: a cache dict filled with the stand-ins' tensors (timm's
levit `attention_bias_cache`), a plain attribute (RAFT's `corr_pyramid` on a helper object), a
counter, a mode flag. And torch.func.functional_call does not always put back a parameter that
is registered under two names (timm's coat). `Untouched` photographs, before the run, the
attribute graph reachable from every submodule — each module's `__dict__` (its `_parameters`,
`_buffers`, `_modules`, hook dicts and plain attributes), and inside it every list, dict, set
and plain Python object — by identity, and puts each container's contents back afterwards, in
place, so references the user holds stay valid. The global RNG state is restored too.

Parameters and buffers are swapped for stand-ins during a capture, so the model's own are never
written to; a plain tensor attribute (`self.steps = torch.zeros(())`, a list of tensors) is not,
and a forward that writes it in place (`self.steps += 1`) would write the user's: each such
tensor with values is copied before the run and, if its version counter moved, copied back.

What cannot be undone: writes to objects outside that graph (globals, class attributes,
closures, files).
"""

from __future__ import annotations

import types
from typing import Any

import torch
from torch import nn

#: How deep to follow plain objects and containers below a module's attributes.
MAX_DEPTH = 6

_ATOMS = (
    torch.Tensor,
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    str,
    bytes,
    int,
    float,
    complex,
    bool,
    type(None),
    torch.dtype,
    torch.device,
)


class Untouched:
    """`with Untouched(model): ...` restores every reachable container's contents on exit."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self._saved: list[tuple[Any, Any]] = []
        self._tensors: list[tuple[torch.Tensor, int, torch.Tensor]] = []  # (tensor, version, copy)
        self._swapped: set[int] = set()  # modules' _parameters and _buffers dicts

    def __enter__(self) -> Untouched:
        seen: set[int] = set()
        for module in self.model.modules():
            self._photograph(module, 0, seen)
        self._rng = torch.random.get_rng_state()
        return self

    def __exit__(self, *exc: object) -> None:
        for obj, contents in reversed(self._saved):
            _put_back(obj, contents)
        with torch.no_grad():
            for tensor, version, copy in self._tensors:
                if tensor._version != version:
                    tensor.copy_(copy)
        torch.random.set_rng_state(self._rng)

    def _keep(self, t: torch.Tensor) -> None:
        """Copy a plain tensor attribute that has values, to put them back if the run writes it."""
        from torch._subclasses.fake_tensor import FakeTensor

        if isinstance(t, nn.Parameter | FakeTensor) or t.device.type == "meta" or t.is_sparse:
            return
        with torch.no_grad():
            self._tensors.append((t, t._version, t.detach().clone()))

    def _photograph(self, obj: Any, depth: int, seen: set[int]) -> None:
        if id(obj) in seen or depth > MAX_DEPTH:
            return
        seen.add(id(obj))
        if isinstance(obj, dict):
            self._saved.append((obj, dict(obj)))
            children = list(obj.values())
        elif isinstance(obj, list):
            self._saved.append((obj, list(obj)))
            children = list(obj)
        elif isinstance(obj, set):
            self._saved.append((obj, set(obj)))
            children = list(obj)
        elif isinstance(obj, tuple):
            try:  # immutable: its mutable members are photographed
                children = list(tuple.__iter__(obj))
            except Exception:  # a tuple subclass that refuses to be read (e3nn's Irreps)
                return
        else:
            attributes = getattr(obj, "__dict__", None)
            if not isinstance(attributes, dict):
                return
            self._saved.append((obj, dict(attributes)))
            children = list(attributes.values())
            if isinstance(obj, nn.Module):  # swapped for stand-ins during a capture
                self._swapped |= {id(obj._parameters), id(obj._buffers)}
        for child in children:
            if isinstance(child, nn.Module):  # a module's own attributes start at depth 0
                self._photograph(child, 0, seen)
            elif isinstance(child, torch.Tensor):
                if id(obj) not in self._swapped and id(child) not in seen:
                    seen.add(id(child))
                    self._keep(child)
            elif not isinstance(child, _ATOMS):
                self._photograph(child, depth + 1, seen)


def _put_back(obj: Any, contents: Any) -> None:
    """Restore contents in place, touching only what changed."""
    if isinstance(obj, dict):
        if obj.keys() != contents.keys() or any(obj[k] is not v for k, v in contents.items()):
            obj.clear()
            obj.update(contents)
    elif isinstance(obj, list):
        if len(obj) != len(contents) or any(a is not b for a, b in zip(obj, contents, strict=True)):
            obj[:] = contents
    elif isinstance(obj, set):
        if obj != contents:
            obj.clear()
            obj.update(contents)
    else:
        attributes = obj.__dict__
        for key in [k for k in attributes if k not in contents]:
            del attributes[key]
        for key, value in contents.items():
            if attributes.get(key, _MISSING) is not value:
                attributes[key] = value


_MISSING = object()
