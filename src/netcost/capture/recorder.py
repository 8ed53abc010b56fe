"""Recording one forward pass: every aten op with its module-call stack, via a dispatch mode.

Module calls are tracked with PyTorch's global forward hooks, registered for the run only and
filtered to the model's own modules. Not per-module hooks: PyTorch turns off fast paths (the
fused nn.TransformerEncoderLayer kernel) on modules that carry hooks, and netcost must see the
path the model really takes.
"""

from __future__ import annotations

import weakref
from collections import Counter
from dataclasses import dataclass
from typing import Any

from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from netcost.capture.specs import bind, plain, spec_of, tensor_specs, tensors_in
from netcost.capture.trace import ModuleCall, OpEvent


@dataclass
class Failure:
    """The op that raised, where it ran, and with what."""

    op: str
    call: int
    args: dict[str, Any]
    error: BaseException


class Recorder(TorchDispatchMode):
    """Records ops in dispatch order, and the memory their results hold: bytes of each new
    storage an op's results bring (allocated[i]) and of storages whose last tensor the program
    dropped after op i (freed[i]). Knows nothing of what ops cost."""

    def __init__(self, calls: list[ModuleCall], resident: frozenset[int] = frozenset()) -> None:
        super().__init__()
        self.calls = calls
        self.stack: list[int] = []
        self.events: list[OpEvent] = []
        self.failure: Failure | None = None
        self.allocated: list[int] = []
        self.freed: list[int] = []
        self._resident = resident  # storages alive throughout: parameters, buffers, inputs
        self._live: dict[int, list[int]] = {}  # storage -> [bytes, tensors still holding it]
        self._counted: dict[int, Any] = {}  # id(tensor) -> weakref, tensors already counted
        self._pending = 0  # bytes freed since the last op

    @property
    def current(self) -> int:
        return self.stack[-1] if self.stack else 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        kwargs = kwargs or {}
        if func.namespace == "prim":  # metadata queries (prim.device) of fake tensors: no data
            return func(*args, **kwargs)
        try:
            out = func(*args, **kwargs)
        except Exception as error:
            if self.failure is None:
                self.failure = Failure(
                    str(func), self.current, _safe_bind(func, args, kwargs), error
                )
            raise
        if self.freed:
            self.freed[-1] += self._pending
        self._pending = 0
        self.allocated.append(self._hold(out))
        self.freed.append(0)
        self.events.append(
            OpEvent(
                index=len(self.events),
                op=str(func),
                packet=str(func.overloadpacket),
                args=_safe_bind(func, args, kwargs),
                outputs=tensor_specs(out),
                call=self.current,
            )
        )
        return out

    def finish(self) -> None:
        """Book the frees that happened after the last op (the run's end)."""
        if self.freed:
            self.freed[-1] += self._pending
        self._pending = 0

    def _hold(self, out: Any) -> int:
        """Count the results' storages; a storage is freed when its last tensor object dies."""
        new = 0
        for t in tensors_in(out):
            ref = self._counted.get(id(t))
            if ref is not None and ref() is t:
                continue  # an in-place op's result: the same tensor
            self._counted[id(t)] = weakref.ref(t)
            try:
                storage = t.untyped_storage()
            except RuntimeError:  # tensors without a storage (sparse, nested)
                continue
            key = storage._cdata
            if key in self._resident:
                continue
            entry = self._live.get(key)
            if entry is None:
                entry = self._live[key] = [storage.nbytes(), 0]
                new += entry[0]
            entry[1] += 1
            weakref.finalize(t, self._release, key)
        return new

    def _release(self, key: int) -> None:
        entry = self._live.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] == 0:
            self._pending += entry[0]
            del self._live[key]


def _safe_bind(func: Any, args: tuple, kwargs: dict) -> dict[str, Any]:
    try:
        return bind(func, args, kwargs)
    except Exception:  # an op whose schema does not bind (custom ops): keep positions
        return {f"arg{i}": plain(a) for i, a in enumerate(args)} | {
            k: plain(v) for k, v in kwargs.items()
        }


class ModuleTracker:
    """Global pre/post forward hooks for the duration of one run, building the call tree of one
    model's modules (other modules are ignored)."""

    def __init__(self, model: nn.Module, recorder: Recorder, param_keys: set[int]) -> None:
        self.model = model
        self.recorder = recorder
        self.calls = recorder.calls
        self.paths = {id(m): name for name, m in model.named_modules()}
        self._handles: list[Any] = []
        self._counts: Counter[int] = Counter()
        # Read before the run: functional_call swaps the parameters for stand-ins during it.
        self._params = {
            id(m): tuple(k for k in dict.fromkeys(id(p) for p in m.parameters()) if k in param_keys)
            for m in model.modules()
        }

    def __enter__(self) -> ModuleTracker:
        from torch.nn.modules.module import (
            register_module_forward_hook,
            register_module_forward_pre_hook,
        )

        self._handles.append(register_module_forward_pre_hook(self._pre))
        self._handles.append(
            register_module_forward_hook(self._post, with_kwargs=True, always_call=True)
        )
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _pre(self, module: nn.Module, args: tuple) -> None:
        if id(module) not in self.paths:
            return
        stack = self.recorder.stack
        parent = stack[-1] if stack else None
        call = ModuleCall(
            index=len(self.calls),
            path=self.paths.get(id(module), f"<unregistered {type(module).__name__}>"),
            type=type(module).__name__,
            description=_describe(module),
            parent=parent,
            depth=len(stack),
            module_key=id(module),
            call_number=self._counts[id(module)],
            params=self._params.get(id(module), ()),
        )
        self._counts[id(module)] += 1
        self.calls.append(call)
        if parent is not None:
            self.calls[parent].children.append(call.index)
        stack.append(call.index)

    def _post(self, module: nn.Module, args: tuple, kwargs: dict, output: Any = None) -> None:
        if id(module) not in self.paths:
            return
        stack = self.recorder.stack
        # Pop back to this module's call: a hook that raised may have left deeper calls open.
        while stack:
            index = stack.pop()
            if self.calls[index].module_key == id(module):
                self.calls[index].inputs = tensor_specs((args, kwargs))
                self.calls[index].outputs = tensor_specs(output)
                break


def _describe(module: nn.Module) -> str:
    """The module's one-line constructor-like repr: its type and extra_repr()."""
    try:
        extra = module.extra_repr()
    except Exception:  # a user module whose extra_repr fails must not stop the analysis
        extra = ""
    return f"{type(module).__name__}({extra})" if "\n" not in extra else type(module).__name__


__all__ = ["Failure", "ModuleTracker", "Recorder", "spec_of"]
