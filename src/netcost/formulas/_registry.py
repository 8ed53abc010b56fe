"""The one registry: every aten op is costed by exactly one formula, or is free with a reason.

A formula is a pure function of the op's arguments (tensors arrive as TensorSpec: shape and dtype)
and its results (`out`, a TensorSpec or a tuple of them) returning the op's arithmetic as a Cost.
Bytes moved come from one generic rule (every tensor argument read once, every result written
once) unless the formula is registered with its own `moves` rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

from netcost.cost import Cost
from netcost.errors import UnsupportedError, UsageError
from netcost.trace import OpEvent, TensorSpec, specs_in

Formula = Callable[..., Cost]
Moves = Callable[[dict[str, Any], tuple[TensorSpec, ...]], tuple[int, int]]


@dataclass(frozen=True)
class Entry:
    """How one op is costed: by `fn`, or free for `reason` (fn is None)."""

    op: str
    fn: Formula | None
    reason: str
    moves: Moves | None
    family: str

    @property
    def is_free(self) -> bool:
        return self.fn is None

    def cost(self, event: OpEvent) -> Cost:
        """The event's arithmetic and bytes. Raises FormulaError when the formula cannot take
        the event's arguments (a schema it was not written for)."""
        if self.fn is None:
            return Cost()
        out: Any = event.outputs[0] if len(event.outputs) == 1 else event.outputs
        args = event.args
        if "out" in args:  # an argument named out (attention backward's forward output)
            args = {("out_arg" if k == "out" else k): v for k, v in args.items()}
        try:
            work = self.fn(**args, out=out)
            read, written = (self.moves or generic_moves)(event.args, event.outputs)
        except Exception as error:
            raise FormulaError(f"{type(error).__name__}: {error}") from error
        return replace(work, bytes_read=read, bytes_written=written)


class FormulaError(UnsupportedError):
    """A formula that could not cost one call of its op."""


_REGISTRY: dict[str, Entry] = {}

#: The families a formula may declare.
FAMILIES = (
    "attention", "backward", "conv", "detection", "interpolate", "loss", "matmul", "movement",
    "norm", "pointwise", "pool", "quantized", "reduction", "rnn", "selection", "spectral", "custom",
)  # fmt: skip


def _name(op: Any) -> str:
    """'aten.convolution' for an OpOverloadPacket, 'aten.add.Tensor' for an overload."""
    return op if isinstance(op, str) else str(op)


def _add(entry: Entry) -> None:
    if entry.op in _REGISTRY:
        raise UsageError(f"{entry.op} is registered twice ({_REGISTRY[entry.op].family})")
    _REGISTRY[entry.op] = entry


def formula(
    *ops: Any, family: str, moves: Moves | None = None, reason: str = ""
) -> Callable[[Formula], Formula]:
    """Register `fn` as the formula of every op given (packets or single overloads), in its
    family (conv, pool, norm, attention, ...: what the explanations and geometry key on)."""
    if family not in FAMILIES:
        raise UsageError(f"unknown formula family {family!r}; families: {', '.join(FAMILIES)}")

    def register(fn: Formula) -> Formula:
        for op in ops:
            check_arguments(op, fn)
            _add(Entry(_name(op), fn, reason or (fn.__doc__ or "").strip(), moves, family))
        return fn

    return register


def check_arguments(op: Any, fn: Formula) -> None:
    """Refuse a formula that needs an argument one of the op's overloads does not have (it would
    fail on every call of that overload: `aten.vdot` names its second tensor `other`, not
    `tensor` as `aten.dot` does). Ops this torch build lacks, or named by a string it cannot
    resolve, are not checked."""
    import inspect

    import torch

    try:
        if isinstance(op, str):
            namespace, name, *overload = op.split(".")
            op = getattr(getattr(torch.ops, namespace), name)
            if overload:
                op = getattr(op, overload[0])
        overloads = [getattr(op, o) for o in op.overloads()] if hasattr(op, "overloads") else [op]
        schemas = [o._schema for o in overloads]
    except Exception:  # a placeholder (netcost/ops.py) or an op outside this build
        return
    parameters = inspect.signature(fn).parameters.values()
    required = [
        p.name
        for p in parameters
        if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        and p.name != "out"
    ]  # fmt: skip
    for schema in schemas:
        names = {"out_arg" if a.name == "out" else a.name for a in schema.arguments}
        missing = [r for r in required if r not in names]
        if missing:
            raise UsageError(
                f"the formula {fn.__name__} needs {', '.join(missing)}, which {op}."
                f"{schema.overload_name or 'default'} does not take (its arguments: "
                f"{', '.join(a.name for a in schema.arguments)})"
            )


def register_formula(
    *ops: Any, family: str = "custom", moves: Moves | None = None
) -> Callable[[Formula], Formula]:
    """For library authors: cost your own ops (`torch.library` custom ops, by op or by name
    "mylib::op") in every analysis from now on — a decorator on a function of the op's arguments
    by schema name (tensors as TensorSpec) and `out`, returning a Cost; its docstring is the
    reason the explanations show. Checked against the op's schema; an op registered twice is
    refused. For one analysis only, pass `formulas=` to analyze()."""
    names = [op.replace("::", ".") if isinstance(op, str) else op for op in ops]
    return formula(*names, family=family, moves=moves)


def free(*ops: Any, reason: str) -> None:
    """Register ops that do no arithmetic and move no data, with the reason why."""
    if not reason:
        raise UsageError("a free op needs a reason")
    for op in ops:
        _add(Entry(_name(op), None, reason, None, "free"))


_LOCAL: ContextVar[dict[str, Entry] | None] = ContextVar("netcost_local_formulas", default=None)


@contextmanager
def local_formulas(formulas: Mapping[Any, Formula] | None) -> Iterator[None]:
    """Formulas for one analysis, by op ('mylib::op', 'mylib.op', torch.ops.mylib.op or an
    overload), consulted before the registry and forgotten afterwards; family "custom"."""
    entries: dict[str, Entry] = {}
    for op, fn in (formulas or {}).items():
        if not callable(fn):
            raise UsageError(f"the formula for {op} must be a function, not {type(fn).__name__}")
        name = _name(op).replace("::", ".")
        reason = (fn.__doc__ or "").strip() or "a formula given to analyze()"
        entries[name] = Entry(name, fn, reason, None, "custom")
    token = _LOCAL.set(entries)
    try:
        yield
    finally:
        _LOCAL.reset(token)


def lookup(event_op: str, packet: str) -> Entry | None:
    """The overload's own entry if it has one, else its packet's; formulas given for this
    analysis first."""
    local = _LOCAL.get() or {}
    return (
        local.get(event_op) or local.get(packet) or _REGISTRY.get(event_op) or _REGISTRY.get(packet)
    )


def registered() -> dict[str, Entry]:
    return dict(_REGISTRY)


def generic_moves(args: dict[str, Any], outputs: Iterable[TensorSpec]) -> tuple[int, int]:
    """Each distinct tensor argument read once; each result written once."""
    read = sum(t.nbytes for t in specs_in(args.values()))
    written = sum(t.nbytes for t in outputs)
    return read, written


@dataclass(frozen=True)
class Costed:
    """One recorded op as the registry costs it: its entry (None: no formula knows it), its
    cost (None: not counted) and, where its formula failed, why."""

    event: OpEvent
    entry: Entry | None
    cost: Cost | None
    failure: str | None = None


def costed(events: Iterable[OpEvent]) -> Iterator[Costed]:
    """Every event costed by the one registry (the caller's formulas first), in netcost's FLOP
    convention (a report converts only what it shows): the one loop both an inference report
    and a training step's compute read."""
    for event in events:
        entry = lookup(event.op, event.packet)
        if entry is None:
            yield Costed(event, None, None)
            continue
        try:
            yield Costed(event, entry, entry.cost(event))
        except FormulaError as error:
            yield Costed(event, entry, None, str(error))
