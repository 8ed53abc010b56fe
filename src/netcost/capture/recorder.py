"""Recording one forward pass: every aten op with its module-call stack, via a dispatch mode.

Module calls are tracked with PyTorch's global forward hooks, registered for the run only and
filtered to the model's own modules. Not per-module hooks: PyTorch turns off fast paths (the
fused nn.TransformerEncoderLayer kernel) on modules that carry hooks, and netcost must see the
path the model really takes.
"""

from __future__ import annotations

import logging
import time
import warnings
import weakref
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch._subclasses.fake_tensor import FakeTensorMode, unset_fake_temporarily
from torch.utils._python_dispatch import TorchDispatchMode

from netcost.capture.kernels import cpu_only
from netcost.capture.known import VALUE_LIMIT, balanced_argmax, balanced_indices, factory_values
from netcost.capture.lifetimes import Ledger, live_after, per_op
from netcost.capture.scenario import keep_all
from netcost.capture.specs import bind, plain, spec_of, storage_of, tensor_specs, tensors_in
from netcost.capture.state import packed_weights
from netcost.errors import UnsupportedError
from netcost.ops import aten
from netcost.trace import Kept, ModuleCall, OpEvent

#: A top-k whose indices follow the balanced routing (capture/known.py).
ROUTED = "(indices round-robin)"
#: Ops whose results are uninitialised memory: PyTorch's fake mode would run them on a known
#: input and keep what the memory held as "known" values.
UNINITIALISED = frozenset(
    {aten.new_empty.default, aten.new_empty_strided.default, aten.empty_like.default}
)
#: Ops on unknown values that the balanced routing decides (masked fills: remembered, so that
#: an argmax after one skips what was filled).
ROUTED_OPS = frozenset(
    {aten.topk.default, aten.argmax.default, aten.masked_fill.Scalar, aten.masked_fill.Tensor}
)

#: Reading a tensor's value into Python (.item(), int(t), if t: ...).
VALUE_READ = torch.ops.aten._local_scalar_dense.default


@dataclass
class Failure:
    """The op that raised, where it ran, and with what."""

    op: str
    call: int
    args: dict[str, Any]
    error: BaseException


class Recorder(TorchDispatchMode):
    """Records ops in dispatch order, and the storages their results hold (capture/lifetimes.py).
    Knows nothing of what ops cost."""

    #: Real execution notes each value read into Python; on fake tensors a read either has a
    #: known value (exact) or fails.
    notes_value_reads = True

    def __init__(
        self,
        calls: list[ModuleCall],
        decompose: Callable[[str, str], bool] | None = None,
        **mode_options: Any,
    ) -> None:
        super().__init__(**mode_options)
        self.calls = calls
        #: which ops to record as the ops of their decomposition (op, packet) -> bool, and how
        #: often each was
        self.decompose = decompose
        self.decomposed: Counter[str] = Counter()
        self._decompositions: dict[Any, Callable[..., Any] | None] = {}  # asked once per op
        self._decomposing: set[Any] = set()  # an op inside its own decomposition runs as itself
        self.call_stack: list[int] = []
        self.events: list[OpEvent] = []
        self.failure: Failure | None = None
        self.kept: list[Kept] = []  # value-dependent ops (and value reads) as they ran
        self.ledger = Ledger()
        self.recording = False  # off while stand-ins are made
        self.weights: frozenset[int] = frozenset()
        self.started = time.perf_counter()
        self._inside = False  # within a recorded op: what it dispatches is part of it

    def start(self, resident: frozenset[int], weights: frozenset[int] = frozenset()) -> None:
        """Record from now on; these storages (parameters, buffers, inputs) are resident, and a
        cast of a `weights` storage (autocast's low-precision copy) is a weight copy."""
        self.ledger = Ledger(resident)
        self.weights = weights
        self.started = time.perf_counter()
        self.recording = True

    def _dispatch(self, func, types, args, kwargs):
        """Run the op; a value-dependent one under the keep-all scenario (capture/scenario.py)."""

        def run(op, op_args, op_kwargs):
            return self._run_op(op, types, op_args, op_kwargs)

        if self.recording:
            handled, out, size, exact = keep_all(func, args, kwargs, run)
            if handled:
                self.kept.append(Kept(str(func), self.current, size, exact))
                return out
            if func is VALUE_READ and self.notes_value_reads:
                self.kept.append(Kept(str(func), self.current, 1))
        return run(func, args, kwargs)

    #: Real execution stops after this many seconds: a scenario's sizes (keep-all keypoints, say)
    #: can ask a real run for more arithmetic than any user waits for.
    REAL_SECONDS = 120.0

    def _run_op(self, func, types, args, kwargs):
        if self.recording and time.perf_counter() - self.started > self.REAL_SECONDS:
            raise UnsupportedError(
                f"real CPU execution stopped after {self.REAL_SECONDS:.0f} s, at {func}: the "
                "sizes it runs at (value-dependent ops keep all their candidates) ask more "
                "arithmetic than a real run can do here; give smaller inputs with --input"
            )
        return func(*args, **kwargs)

    @property
    def current(self) -> int:
        return self.call_stack[-1] if self.call_stack else 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        # metadata queries (prim.device) and profiler ranges hold no data
        if func.namespace in ("prim", "profiler") or self._inside or not self.recording:
            return self._dispatch(func, types, args, kwargs)
        if func not in self._decompositions:
            self._decompositions[func] = self._decomposition(func)
        decomposition = self._decompositions[func]
        if decomposition is not None and func not in self._decomposing:
            out = self._decomposed(func, decomposition, args, kwargs)
            if out is not NotImplemented:
                return out
        call = self.current
        self._inside = True
        try:
            out = self._dispatch(func, types, args, kwargs)
        except Exception as error:
            if self.failure is None:
                self.failure = Failure(str(func), call, safe_bind(func, args, kwargs), error)
            raise
        finally:
            self._inside = False
        return self._record(func, args, kwargs, out, call)

    def _decomposition(self, func: Any) -> Callable[..., Any] | None:
        """PyTorch's decomposition of an op the caller wants decomposed: a Python one
        (torch._decomp), else the op's composite kernel (which may decline: NotImplemented)."""
        if self.decompose is None or not isinstance(func, torch._ops.OpOverload):
            return None
        if func.namespace != "aten" or not self.decompose(str(func), str(func.overloadpacket)):
            return None
        from torch._decomp import decomposition_table

        return decomposition_table.get(func, func.decompose)

    def _decomposed(
        self, func: Any, decomposition: Callable[..., Any], args: tuple, kwargs: dict
    ) -> Any:
        """The op run as its decomposition's ops, each recorded; NotImplemented where the
        decomposition declines before running any op (the op then runs as itself)."""
        recorded, call = len(self.events), self.current
        self._decomposing.add(func)  # inside its own decomposition, an op runs as itself
        try:
            with self:  # its ops dispatch through this mode again
                out = decomposition(*args, **kwargs)
        except Exception as error:
            if len(self.events) == recorded:
                return NotImplemented
            if self.failure is None:  # part of it ran: it fails as the op
                self.failure = Failure(str(func), call, safe_bind(func, args, kwargs), error)
            raise
        finally:
            self._decomposing.discard(func)
        if out is not NotImplemented:
            self.decomposed[str(func)] += 1
        return out

    def _record(self, func: Any, args: tuple, kwargs: dict, out: Any, call: int) -> Any:
        """Keep what the op did; returns its (possibly completed) results."""
        copy = func is torch.ops.aten._to_copy.default and _storage(args[0]) in self.weights
        self.ledger.hold(out, len(self.events), "weight copy" if copy else "")
        self.events.append(op_event(len(self.events), func, args, kwargs, out, call))
        return out

    def memory(self) -> tuple[list[int], list[int], list[int]]:
        """Bytes allocated by each op and freed after it, and the weight copies alive after each
        op (call after the run's result is gone)."""
        blocks, ops = self.ledger.blocks, len(self.events)
        copies = live_after([b for b in blocks if b.kind == "weight copy"], ops)
        return (*per_op(blocks, ops), copies)


class FakeRecorder(Recorder, FakeTensorMode):
    """The Recorder as the fake tensor mode itself: every op and metadata query crosses one Python
    dispatch layer instead of two, and the ops a fake kernel decomposes into stay part of it.
    Plain attributes a model keeps as real tensors (anchors, masks) become fake on first use.

    Tensors of up to VALUE_LIMIT elements whose values are known (token ids given as real
    tensors, what factories make, and what is computed from those alone) keep their values, as
    PyTorch's fake tensors do for one-element constants: a mask of image tokens, its count,
    `.item()` on it are then exact, and the keep-all scenario is only for values nobody knows.
    Top-k of unknown values picks its indices by the balanced routing (capture/known.py)."""

    notes_value_reads = False

    def __init__(
        self, calls: list[ModuleCall], decompose: Callable[[str, str], bool] | None = None
    ) -> None:
        super().__init__(calls, decompose, allow_non_fake_inputs=True)
        #: unknown tensors made by filling a known mask: the positions an argmax then skips
        self.filled: dict[int, tuple[weakref.ref, torch.Tensor]] = {}

    def may_turn_const(self, t: torch.Tensor) -> bool:
        return (
            t.numel() <= VALUE_LIMIT
            and t.layout == torch.strided
            and not self.is_our_fake(t)
            and t.device.type != "meta"
        )

    def with_values(self, t: torch.Tensor) -> torch.Tensor:
        """A fake of a real integer or boolean tensor that keeps its values (see above): a copy of
        them, since ops on a constant run on it (an in-place add would write the user's)."""
        with unset_fake_temporarily():  # a real copy, even when called inside this mode
            copy = t.detach().clone()
        return self.constant(copy)

    def constant(self, real: torch.Tensor) -> torch.Tensor:
        """A fake tensor carrying `real` as its values (netcost's own real tensor, not a user's)."""
        return self.fake_tensor_converter.from_real_tensor(self, real, make_constant=True)

    def _run_op(self, func, types, args, kwargs):
        def fake(op, op_args, op_kwargs):
            return FakeTensorMode.__torch_dispatch__(self, op, types, op_args, op_kwargs)

        handled, out = cpu_only(func, args, kwargs, fake)
        if handled:
            return out
        if self.recording:
            known = factory_values(func, args, kwargs)
            if known is not None:
                return self.constant(known)
            if func in UNINITIALISED:  # no values, even when made from a known tensor
                out = fake(func, args, kwargs)
                out.constant = None
                return out
            if func in ROUTED_OPS and getattr(args[0], "constant", None) is None:
                if func is aten.topk.default:
                    return self._routed_topk(fake(func, args, kwargs), args, kwargs)
                if func is aten.argmax.default:
                    return self._routed_argmax(fake(func, args, kwargs), args, kwargs)
                if getattr(args[1], "constant", None) is not None:  # a known mask filled
                    out = fake(func, args, kwargs)
                    self.filled[id(out)] = (weakref.ref(out), args[1].constant)
                    return out
        return fake(func, args, kwargs)

    def _routed_argmax(self, out: Any, args: tuple, kwargs: dict) -> Any:
        """Argmax of unknown values along a dim: top-1 of the balanced routing (row r picks
        r mod n), as a router that takes the largest score does under balanced top-k; positions
        a known mask filled beforehand (a second choice after the first) are skipped."""
        x = args[0]
        dim = args[1] if len(args) > 1 else kwargs.get("dim")
        if dim is None or x.dim() == 0 or out.numel() > VALUE_LIMIT:
            return out
        ref, mask = self.filled.get(id(x), (None, None))
        excluded = mask if ref is not None and ref() is x else None
        routed = balanced_argmax(tuple(x.shape), dim, excluded)
        self.kept.append(Kept(f"{aten.argmax.default} {ROUTED}", self.current, 1))
        return self.constant(routed.reshape(out.shape))

    def _routed_topk(self, out: Any, args: tuple, kwargs: dict) -> Any:
        """Top-k of unknown values: the fake values, and indices of the balanced routing."""
        values, indices = out
        x = args[0]
        dim = args[2] if len(args) > 2 else kwargs.get("dim", -1)
        n = x.shape[dim] if x.dim() else 1
        routed = balanced_indices(tuple(indices.shape), dim, n)
        if routed is None:
            return out
        self.kept.append(
            Kept(
                f"{aten.topk.default} {ROUTED}",
                self.current,
                indices.shape[dim] if indices.dim() else 1,
            )
        )
        return values, self.constant(routed)


@contextmanager
def quiet_fake_tensor_log() -> Iterator[None]:
    """PyTorch logs a traceback when a meta kernel rejects its inputs; netcost reports that
    failure itself, in one line, so the log stays quiet during a capture."""
    log = logging.getLogger("torch._subclasses.fake_tensor")
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


def _storage(t: object) -> int | None:
    storage = storage_of(t)
    return None if storage is None else storage._cdata


def op_event(index: int, func: Any, args: tuple, kwargs: dict, out: Any, call: int) -> OpEvent:
    """What a recorder keeps of one op: its name, arguments bound by name, results' specs."""
    return OpEvent(
        index=index,
        op=str(func),
        packet=str(func.overloadpacket),
        args=safe_bind(func, args, kwargs),
        outputs=tensor_specs(out),
        call=call,
    )


def safe_bind(func: Any, args: tuple, kwargs: dict) -> dict[str, Any]:
    try:
        return bind(func, args, kwargs)
    except Exception:  # an op whose schema does not bind (custom ops): keep positions
        return {f"arg{i}": plain(a) for i, a in enumerate(args)} | {
            k: plain(v) for k, v in kwargs.items()
        }


def _module_params(model: nn.Module, param_keys: set[int]) -> dict[int, tuple[int, ...]]:
    """Each module's parameters and prepacked weights (its submodules' included, each once, in
    `m.parameters()`'s pre-order), by module id: one walk of the tree, each module's own tensors
    read once (asking every module for all of its subtree's is quadratic in the modules)."""
    own_params = {id(m): [id(p) for p in m.parameters(recurse=False)] for m in model.modules()}
    own_packed = {id(m): [id(w) for _, w in packed_weights(m, False)] for m in model.modules()}
    trees: dict[int, tuple[list[int], list[int]]] = {}

    def tree(m: nn.Module) -> tuple[list[int], list[int]]:
        found = trees.get(id(m))
        if found is None:
            params, packed = list(own_params[id(m)]), list(own_packed[id(m)])
            for child in m.children():
                child_params, child_packed = tree(child)
                params += child_params
                packed += child_packed
            found = trees[id(m)] = (params, packed)
        return found

    return {
        id(m): tuple(k for k in dict.fromkeys(tree(m)[0] + tree(m)[1]) if k in param_keys)
        for m in model.modules()
    }


class ModuleTracker:
    """Global pre/post forward hooks for the duration of one run, building the call tree of one
    model's modules (other modules are ignored)."""

    def __init__(
        self,
        model: nn.Module,
        recorder: Any,
        param_keys: set[int],
        nodes: dict[int, int] | None = None,
    ) -> None:
        """recorder: a Recorder, or any mode with `calls` and `call_stack`. nodes: when given, every
        autograd node a call's outputs lead back to, not yet claimed by an inner call, is mapped
        to that call (backward ops then know their layer)."""
        self.model = model
        self.nodes = nodes
        self._pinned: list[Any] = []  # the nodes' Python objects, alive so their ids stay unique
        self.recorder = recorder
        self.calls = recorder.calls
        self.paths = {id(m): name for name, m in model.named_modules()}
        self.order = {id(m): i for i, (_, m) in enumerate(model.named_modules())}
        self._handles: list[Any] = []
        self._counts: Counter[int] = Counter()
        # Read before the run: functional_call swaps the parameters for stand-ins during it.
        self._params = _module_params(model, param_keys)

    def __enter__(self) -> ModuleTracker:
        from torch.nn.modules.module import (
            register_module_forward_hook,
            register_module_forward_pre_hook,
        )

        # our hooks are the scoped, global ones torch.compile warns about; they ignore the
        # compiled wrapper, so the warning would be about nothing netcost does
        self._quiet = warnings.catch_warnings()
        self._quiet.__enter__()
        warnings.filterwarnings(
            "ignore", message=r"Using `torch.compile\(module\)` when there are global hooks"
        )
        self._handles.append(register_module_forward_pre_hook(self._pre))
        self._handles.append(
            register_module_forward_hook(self._post, with_kwargs=True, always_call=True)
        )
        return self

    def __exit__(self, *exc: Any) -> None:
        from torch.nn.modules import module

        for handle in self._handles:
            handle.remove()
            # removing the handle leaves its with_kwargs flag behind (torch 2.14): drop it too
            module._global_forward_hooks_with_kwargs.pop(handle.id, None)
        self._handles.clear()
        self._quiet.__exit__(*exc)

    def _pre(self, module: nn.Module, args: tuple) -> None:
        if id(module) not in self.paths:
            return
        stack = self.recorder.call_stack
        parent = stack[-1] if stack else None
        call = ModuleCall(
            index=len(self.calls),
            path=self.paths.get(id(module), f"<unregistered {type(module).__name__}>"),
            type=type(module).__name__,
            description=_describe(module),
            parent=parent,
            depth=len(stack),
            module_key=id(module),
            module_order=self.order[id(module)],
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
        stack = self.recorder.call_stack
        # Pop back to this module's call: a hook that raised may have left deeper calls open.
        while stack:
            index = stack.pop()
            if self.calls[index].module_key == id(module):
                self.calls[index].inputs = tensor_specs((args, kwargs))
                self.calls[index].outputs = tensor_specs(output)
                if self.nodes is not None:
                    self._claim(output, index)
                break

    def _claim(self, output: Any, call: int) -> None:
        todo = [t.grad_fn for t in tensors_in(output) if t.grad_fn is not None]
        nodes = self.nodes
        assert nodes is not None
        while todo:
            node = todo.pop()
            if node is None or id(node) in nodes:
                continue
            nodes[id(node)] = call
            self._pinned.append(node)
            todo.extend(n for n, _ in node.next_functions if n is not None)


def _describe(module: nn.Module) -> str:
    """The module's one-line constructor-like repr: its type and extra_repr()."""
    try:
        extra = module.extra_repr()
    except Exception:  # a user module whose extra_repr fails must not stop the analysis
        extra = ""
    return f"{type(module).__name__}({extra})" if "\n" not in extra else type(module).__name__


__all__ = ["Failure", "ModuleTracker", "Recorder", "spec_of"]
