"""Plain records of one run of a model: the ops it dispatched and the module calls they ran in.

Capture writes these; formulas and analysis read them. Nothing here knows about cost.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from math import prod
from typing import Any


@dataclass(frozen=True)
class TensorSpec:
    """What a formula may know of a tensor: its shape, strides and dtype, never its values."""

    shape: tuple[int, ...]
    stride: tuple[int, ...]
    dtype: str
    itemsize: int
    tid: int = field(default=-1, compare=False)  # which tensor, within one capture (-1: unknown)
    layout: str = "strided"  # or sparse_coo, sparse_csr, sparse_csc, sparse_bsr, sparse_bsc
    nnz: int | None = None  # a sparse tensor's stored elements (None: strided, or not known)

    @property
    def numel(self) -> int:
        return prod(self.shape)

    @property
    def sparse(self) -> bool:
        return self.layout != "strided"

    @property
    def distinct_elements(self) -> int:
        """Elements at distinct addresses: dimensions with stride 0 (broadcasts) repeat, not add;
        a sparse tensor's stored ones."""
        if self.sparse:
            return self.nnz or 0
        if self.numel == 0:
            return 0
        return prod(n for n, s in zip(self.shape, self.stride, strict=True) if s != 0)

    @property
    def nbytes(self) -> int:
        """Bytes a kernel must touch to read or write this tensor once. Sparse: its stored values
        and int64 indices — COO nnz · (itemsize + 8 · dims); CSR/CSC nnz · (itemsize + 8) plus
        8 · (compressed dimension + 1)."""
        if not self.sparse:
            return self.distinct_elements * self.itemsize
        nnz = self.nnz or 0
        if self.layout == "sparse_coo":
            return nnz * (self.itemsize + 8 * len(self.shape))
        compressed = (
            self.shape[-1] if self.layout in ("sparse_csc", "sparse_bsc") else self.shape[-2]
        )
        return nnz * (self.itemsize + 8) + 8 * (compressed + 1)

    def __len__(self) -> int:
        return len(self.shape)

    def __getitem__(self, i):
        return self.shape[i]

    def __iter__(self):
        return iter(self.shape)


def specs_in(values: Iterable[Any]) -> Iterator[TensorSpec]:
    """The TensorSpecs among op arguments, those inside tuples (a list of tensors) included."""
    for v in values:
        if isinstance(v, TensorSpec):
            yield v
        elif isinstance(v, tuple):
            yield from specs_in(v)


def first_dtype(args: Mapping[str, Any]) -> str:
    """The dtype an op runs at: its first tensor argument's (a list's first); float32 if none."""
    return next((t.dtype for t in specs_in(args.values())), "float32")


@dataclass(frozen=True)
class PackedWeight:
    """A quantized op's prepacked weight (torch.ao's packed params), as specs."""

    weight: TensorSpec
    bias: TensorSpec | None
    groups: int = 1
    transposed: bool = False


@dataclass(frozen=True)
class OpEvent:
    """One aten op as it ran: arguments bound by name (tensors as TensorSpec) and its results."""

    index: int
    op: str  # "aten.convolution.default"
    packet: str  # "aten.convolution"
    args: dict[str, Any]
    outputs: tuple[TensorSpec, ...]
    call: int  # the innermost module call it ran in (index into Trace.calls)


@dataclass(frozen=True)
class Kept:
    """A value-dependent op costed under the keep-all scenario (capture/scenario.py): where it
    ran and the size it produced."""

    op: str
    call: int
    size: int  # result rows (nonzero, nms, masks) or elements (unique)
    exact: bool = False  # the values deciding it were known: no scenario needed


@dataclass(frozen=True)
class ExpertLayer:
    """One mixture-of-experts layer: its module, how many experts, their parameters together."""

    path: str
    experts: int
    params: int


@dataclass(frozen=True)
class Experts:
    """A model's expert layers and its routing: each token uses `top_k` experts of each layer
    (None: not found); `source` names where top-k was read."""

    layers: tuple[ExpertLayer, ...]
    top_k: int | None
    source: str

    @property
    def inactive_params(self) -> int | None:
        """Parameters one token does not use: (E − k) of each layer's E experts."""
        if self.top_k is None:
            return None
        return sum(
            layer.params // layer.experts * (layer.experts - self.top_k) for layer in self.layers
        )


@dataclass(frozen=True)
class ParamInfo:
    numel: int
    trainable: bool
    nbytes: int
    name: str


@dataclass
class ModuleCall:
    """One call of one module: where it sits, what went in and out, which parameters it owns."""

    index: int
    path: str  # "layer1.0.conv1"; "" for the model itself
    type: str  # "Conv2d"
    description: str  # "Conv2d(4, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))"
    parent: int | None
    depth: int
    module_key: int  # the same module called twice has the same key
    call_number: int  # 0 for its first call, 1 for the second, ...
    module_order: int = -1  # the module's position in model.named_modules() (registration)
    inputs: tuple[TensorSpec, ...] = ()
    outputs: tuple[TensorSpec, ...] = ()
    params: tuple[int, ...] = ()  # keys into Trace.params, this module and its children, once each
    children: list[int] = field(default_factory=list)


@dataclass
class Trace:
    """Everything one capture saw."""

    model_name: str
    inputs: tuple[TensorSpec, ...]
    input_names: tuple[str, ...]
    calls: list[ModuleCall]
    events: list[OpEvent]
    params: dict[int, ParamInfo]
    buffers_bytes: int
    execution: str  # "fake" or "real"
    notes: list[str] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)  # value-dependent ops under the scenario
    experts: Experts | None = None  # mixture-of-experts layers, when the model has them
    grad_enabled: bool = False  # autograd on during capture: saved tensors are not followed
    allocated: list[int] = field(default_factory=list)  # bytes of new storages op i created
    freed: list[int] = field(default_factory=list)  # bytes released after op i
    weight_copies: list[int] = field(default_factory=list)  # autocast's copies alive after op i
    module_paths: list[str] = field(default_factory=list)  # every submodule, called or not
    #: each parameter's and buffer's tensor number ("layer.weight" -> n): which ones ops read
    state_numbers: dict[str, int] = field(default_factory=dict)


@dataclass
class StepTrace:
    """What one simulated training step did to memory: each op's name and module call, the phase
    boundaries, every storage's lifetime, and the bytes resident throughout."""

    model_name: str
    optimizer: str
    precision: str
    ops: list[str]
    op_calls: list[int]  # the module call each op ran in (backward: the call that made its node)
    calls: list[ModuleCall]
    backward_start: int  # index of the first op of backward
    optimizer_start: int  # index of the first op of the optimizer step
    blocks: list[Any]  # capture.lifetimes.Block
    params_bytes: int
    buffers_bytes: int
    inputs_bytes: int
    state_bytes: int  # optimizer state, created before the step (a steady-state step)
    notes: list[str] = field(default_factory=list)  # what could not be sized
    events: list[OpEvent] = field(default_factory=list)  # every op with its arguments, to cost
