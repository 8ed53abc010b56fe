"""The Report: plain frozen data about one analysed model, and its JSON contract (to_dict)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netcost.cost import Cost
from netcost.shown import ShownAsText

if TYPE_CHECKING:  # results of the analysis stages, read here and never imported at run time
    from netcost.analysis.timing import Timing
    from netcost.analysis.training_compute import TrainingCompute

SCHEMA_VERSION = 1

Shape = tuple[int, ...]


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: Shape
    dtype: str
    nbytes: int
    layout: str = "strided"  # sparse_coo, sparse_csr, ...: then `nnz` elements are stored
    nnz: int | None = None


@dataclass(frozen=True)
class OpRecord:
    """One op that ran directly in a layer, with what the formula saw and what it counted."""

    op: str
    family: str
    args: dict[str, Any]  # tensors as TensorSpec (shape, stride, dtype), other arguments as given
    output_shapes: tuple[Shape, ...]
    cost: Cost
    index: int = -1  # its place in the run's op order
    outputs: tuple[Any, ...] = ()  # its results as TensorSpec (tensor numbers: the dataflow)


@dataclass(frozen=True)
class ReceptiveField:
    """Per spatial dimension of the model's input: how many input positions one output position
    depends on (padding included), how far apart neighbouring outputs' fields are (0: every
    position sees the same field) and where output position 0's field is centered.
    exact is False where the field is a bound (analysis/receptive_field.py)."""

    size: tuple[int | float, ...]
    jump: tuple[int | float, ...]
    center: tuple[int | float, ...]
    exact: bool


@dataclass(frozen=True)
class Layer:
    """One call of one module. `self_cost` is the ops that ran directly in it; `cost` adds its
    children's. `params` counts the module's parameters (its children's included), each once."""

    index: int
    path: str
    type: str
    depth: int
    parent: int | None
    children: tuple[int, ...]
    call_number: int
    input_shapes: tuple[Shape, ...]
    output_shapes: tuple[Shape, ...]
    params: int
    trainable_params: int
    self_cost: Cost
    cost: Cost
    activation_elements: int
    activation_bytes: int
    description: str = ""
    ops: tuple[OpRecord, ...] = ()  # the costed ops that ran directly in this call
    warnings: tuple[str, ...] = ()  # window arithmetic worth knowing (analysis/conv_arithmetic.py)
    receptive_field: ReceptiveField | None = None  # None: the output does not see the input
    live_bytes: int | None = None  # activations alive as the call ends (inference, no_grad)
    module_order: int = -1  # the module's position in model.named_modules() (registration)
    backward: Cost | None = None  # with train=True: the backward ops of this call and its children

    @property
    def is_leaf(self) -> bool:
        return not self.children

    @property
    def name(self) -> str:
        """The path, or the model's type for the model itself."""
        return self.path or self.type

    @property
    def output_shape(self) -> Shape | None:
        return self.output_shapes[0] if self.output_shapes else None


@dataclass(frozen=True)
class OpSummary:
    op: str
    family: str
    calls: int
    cost: Cost


@dataclass(frozen=True)
class Diagnostic:
    """Something the user should know: an uncounted op, a fallback, a note."""

    kind: str
    message: str
    op: str | None = None
    count: int = 0
    layers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Totals:
    params: int
    trainable_params: int
    param_bytes: int
    buffer_bytes: int
    cost: Cost
    activation_bytes: int = 0  # every leaf layer's outputs, summed: the activations written
    active_params: int | None = None  # those one token uses (mixture of experts), if known
    routing: str = ""  # how active_params was counted: "top-2 of 8 experts in 32 layers (...)"
    convention: str = "netcost"  # how `flops` is shown; `cost` is always netcost's

    @property
    def macs(self) -> int:
        return self.cost.macs

    @property
    def flops(self) -> int:
        """FLOPs as the report shows them (its convention); `cost.flops` is netcost's."""
        from netcost.conventions import under

        return under(self.cost, self.convention).flops


@dataclass(frozen=True)
class Memory(ShownAsText):
    """Bytes alive during one forward pass under no_grad: parameters, buffers and inputs for the
    whole pass, activations from the op that creates them until the program drops them. Peaks
    are at op boundaries: scratch memory a kernel frees before it returns is not seen."""

    params_bytes: int
    buffers_bytes: int
    inputs_bytes: int
    activation_peak_bytes: int
    peak_layer: str  # the layer whose op made the peak
    peak_op: str
    weight_copies_bytes: int = 0  # autocast's low-precision copies of weights alive at the peak

    @property
    def peak_bytes(self) -> int:
        return (
            self.params_bytes
            + self.buffers_bytes
            + self.inputs_bytes
            + self.activation_peak_bytes
            + self.weight_copies_bytes
        )

    def __repr__(self) -> str:
        return (
            f"<Memory: inference peak {self.peak_bytes:,} B in {self.peak_layer} ({self.peak_op})>"
        )


@dataclass(frozen=True)
class PhasePeak:
    """The largest memory of one phase of a training step, what it is made of and where it is.
    `breakdown`: parameters, buffers, inputs and optimizer state (resident), then gradients,
    activations (created in forward: saved for backward, outputs, loss), weight copies (autocast's
    low-precision casts of parameters) and temporaries (created in backward or in the optimizer
    step), each storage once; the parts add up to `peak_bytes`."""

    phase: str  # forward, backward or optimizer step
    peak_bytes: int
    breakdown: tuple[tuple[str, int], ...]
    layer: str  # the layer whose op made the peak ("" when no layer: loss, optimizer)
    op: str

    def part(self, name: str) -> int:
        return dict(self.breakdown)[name]


@dataclass(frozen=True)
class TrainingMemory(ShownAsText):
    """Bytes alive during one steady-state training step: forward with autograd, backward of the
    loss, optimizer step, with the optimizer state created beforehand and gradients None at the
    start. Peaks are at op boundaries, as for inference."""

    optimizer: str
    precision: str
    phases: tuple[PhasePeak, ...]  # forward, backward, optimizer step
    saved_bytes: int  # activations alive when forward ends: what backward will read
    notes: tuple[str, ...] = ()  # what could not be sized (the peak is then a lower bound)

    @property
    def peak(self) -> PhasePeak:
        return max(self.phases, key=lambda p: p.peak_bytes)

    @property
    def peak_bytes(self) -> int:
        return self.peak.peak_bytes

    def __repr__(self) -> str:
        from netcost.text import binary_size

        return (
            f"<TrainingMemory ({self.optimizer}, {self.precision}): peak "
            f"{binary_size(self.peak_bytes)} in the {self.peak.phase}>"
        )


@dataclass(frozen=True)
class Report:
    """What each layer of one model costs for one input. Render it with the methods below."""

    model: str
    inputs: tuple[TensorInfo, ...]
    modules: tuple[Layer, ...]  # every module call, in the order the calls began
    total: Totals
    ops: tuple[OpSummary, ...]
    diagnostics: tuple[Diagnostic, ...]
    execution: str
    memory: Memory | None = None  # inference memory (None only from a capture with autograd on)
    training: TrainingMemory | None = None  # a training step's memory, when asked for
    training_compute: TrainingCompute | None = None  # a training step's arithmetic, when asked for
    time: Timing | None = None  # roofline times on a device, when asked for
    config: dict[str, Any] | None = None  # a transformers model's shape keys (layers, heads, ...)
    aliases: dict[int, int] | None = None  # a view's tensor number -> its base's (the dataflow)
    precision: str = "fp32"  # capture/precision.py: fp8-mixed times GEMMs on fp8 units
    #: fp8-mixed: the module paths whose GEMMs stay at the traced width (the LM head)
    precision_kept: tuple[str, ...] = ()

    @property
    def convention(self) -> str:
        """How FLOPs are shown (conventions.py): the totals'."""
        return self.total.convention

    def shown(self, cost: Cost) -> Cost:
        """`cost` (kept in netcost's convention, as every cost is) with its FLOPs counted as this
        report shows them: its `convention`."""
        from netcost.conventions import under

        return under(cost, self.convention)

    @property
    def complete(self) -> bool:
        """True when every op that ran was costed by a formula or is free for a stated reason."""
        return not any(d.kind == "uncounted_op" for d in self.diagnostics)

    @property
    def layers(self) -> tuple[Layer, ...]:
        """The leaf module calls, in execution order."""
        return tuple(m for m in self.modules if m.is_leaf)

    def layer(self, path: str) -> Layer:
        """The first call of the module at `path`."""
        for m in self.modules:
            if m.path == path:
                return m
        from netcost.errors import UsageError

        raise UsageError(f"no layer {path!r}; layers are: {', '.join(self._paths()[:20])}")

    def _paths(self) -> list[str]:
        return [m.path for m in self.modules if m.path]

    def to_dict(self) -> dict[str, Any]:
        from netcost.render.json import report_to_dict

        return report_to_dict(self)

    def explain(self, path: str | None = None) -> str:
        """Each number of every leaf layer (or of the layer at `path`) derived with its values."""
        from netcost.analysis.explain import explain
        from netcost.render.explain import render_explanations

        return render_explanations(explain(self, path))

    def on(
        self,
        device: Any,
        *,
        tf32_matmul: bool = False,
        kernels: str | None = None,
        valid_keys: dict[int, int] | None = None,
        serving: Any = None,
    ) -> Report:
        """This report with its ops timed on `device` (a name `netcost devices` lists, a TOML
        file or a Device): roofline lower bounds per op, layer and phase (analysis/timing.py),
        as `kernels` run them ("eager" or "fused"; default: fused on accelerators)."""
        from dataclasses import replace

        from netcost.analysis.timing import timing

        found = timing(
            self, device, tf32_matmul=tf32_matmul, kernels=kernels, valid_keys=valid_keys,
            serving=serving,
        )  # fmt: skip
        return replace(self, time=found)

    def table(self, depth: int | None = None) -> str:
        from netcost.render.table import render_table

        if depth is not None and depth < 0:
            from netcost.errors import UsageError

            raise UsageError("--depth must be 0 or more")

        return render_table(self, depth=depth)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        shapes = ", ".join(f"{'x'.join(map(str, i.shape))} {i.dtype}" for i in self.inputs)
        state = "complete" if self.complete else "incomplete"
        return (
            f"<Report of {self.model} at {shapes or 'no tensor input'}: {self.total.params:,} "
            f"params, {self.total.cost.macs:,} MACs, {len(self.layers)} layers, {state}>"
        )

    def stages(self, depth: int = 1, top: int = 5):
        """Where the compute goes: the calls at `depth` with their shares, and the `top`
        heaviest layers by each measure (analysis/stages.py)."""
        from netcost.analysis.stages import stages

        return stages(self, depth, top)

    def plot(self, path: str | Path) -> None:
        """Save per-layer bars and cumulative shares as a .png or .svg (needs matplotlib)."""
        from netcost.render.plots import save_plot

        save_plot(self, Path(path))

    def to_html(self) -> str:
        """The self-contained HTML page (with the plot when matplotlib is installed)."""
        from netcost.analysis.stages import stages
        from netcost.render.html import render_html
        from netcost.render.plots import optional_svg

        return render_html(self, stages(self, 1, top=0), optional_svg(self))

    def _repr_html_(self) -> str:
        """Jupyter shows the report as HTML: summary, sortable layers, stages, diagnostics."""
        from netcost.analysis.stages import stages
        from netcost.render.html import render_html_fragment

        return render_html_fragment(self, stages(self, 1, top=0))

    def to_pandas(self):
        """Every module call as a row of a pandas DataFrame (the CSV's columns; needs pandas)."""
        from netcost.render.csv import to_records

        try:
            import pandas
        except ImportError:
            from netcost.errors import UnsupportedError

            raise UnsupportedError(
                "to_pandas() needs pandas: pip install 'netcost[pandas]'"
            ) from None
        header, records = to_records(self)
        return pandas.DataFrame.from_records(records, columns=list(header))
