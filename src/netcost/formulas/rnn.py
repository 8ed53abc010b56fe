"""Recurrent layers run as one fused kernel: mkldnn_rnn_layer (LSTM on the CPU), cuDNN's RNN and
the fused LSTM/GRU cells. (RNN_TANH, RNN_RELU and GRU on the CPU lower to addmm and element-wise
ops, costed by those formulas.)

Per time step and batch item, every gate matrix multiplies its input once:
MACs = T · B · Σ numel(W) over the input-hidden and hidden-hidden (and projection) matrices.
Per step, per hidden unit: G adds to combine the two products of G gates, 2·G bias adds when
biases are present, and the cell's own arithmetic (CELL_FLOPS).
"""

from __future__ import annotations

from typing import Any

from netcost.cost import Cost
from netcost.formulas._registry import formula
from netcost.formulas._shapes import numel
from netcost.ops import aten
from netcost.trace import TensorSpec

# Per hidden unit per step, after the gates are summed:
#   LSTM: sigmoid ×3, tanh ×2, c = f·c + i·g (3), h = o·tanh(c) (1 multiply)      = 9
#   GRU:  sigmoid ×2, n = tanh(xn + r·hn) (3), h = (1 − z)·n + z·h (4)            = 9
#   RNN:  tanh or relu                                                            = 1
CELL_FLOPS = {4: 9, 3: 9, 1: 1}


def recurrent_cost(
    steps_x_batch: int,
    weights: list[TensorSpec],
    hidden: int,
    layers: int,
    gates: int,
    biases: bool,
) -> Cost:
    """steps_x_batch = T · B; `layers` counts (layer, direction) pairs."""
    macs = steps_x_batch * sum(numel(w) for w in weights if len(w) == 2)
    per_unit = gates + (2 * gates if biases else 0) + CELL_FLOPS[gates]
    return Cost.mac_op(macs, extra_flops=steps_x_batch * layers * hidden * per_unit)


@formula(aten.mkldnn_rnn_layer, family="rnn")
def mkldnn_rnn_layer(
    input: TensorSpec,
    weight0: TensorSpec,
    weight1: TensorSpec,
    hidden_size: int,
    has_biases: bool,
    batch_first: bool = False,
    *,
    out: Any,
    **_: object,
) -> Cost:
    """One layer, one direction: input (T, B, I) (or (B, T, I) batch-first), W_ih (G·H, I),
    W_hh (G·H, H): MACs = T · B · G·H · (I + H)."""
    steps, batch = input.shape[0], input.shape[1] if len(input) == 3 else 1
    gates = weight0.shape[0] // hidden_size
    return recurrent_cost(steps * batch, [weight0, weight1], hidden_size, 1, gates, has_biases)


@formula(aten._cudnn_rnn, family="rnn")
def cudnn_rnn(
    input: TensorSpec,
    weight: tuple[TensorSpec, ...],
    hidden_size: int,
    proj_size: int,
    num_layers: int,
    bidirectional: bool,
    *,
    out: Any,
    **_: object,
) -> Cost:
    """All layers and directions at once; weight lists W_ih, W_hh (and biases, W_hr) for each."""
    steps, batch = input.shape[0], input.shape[1] if len(input) == 3 else 1
    directions = 2 if bidirectional else 1
    gates = weight[0].shape[0] // hidden_size
    biases = any(len(w) == 1 for w in weight)
    return recurrent_cost(
        steps * batch, list(weight), hidden_size, num_layers * directions, gates, biases
    )


def _fused_cell(gates: int) -> Any:
    def fused_cell(
        input_gates: TensorSpec,
        hidden_gates: TensorSpec,
        input_bias: TensorSpec | None = None,
        *,
        out: Any,
        **_: object,
    ) -> Cost:
        rows, gate_width = input_gates.shape
        hidden = gate_width // gates
        per_unit = gates + (2 * gates if input_bias is not None else 0) + CELL_FLOPS[gates]
        return Cost.elementwise(rows * hidden, per_unit)

    fused_cell.__doc__ = (
        f"The element-wise part of a {'LSTM' if gates == 4 else 'GRU'} cell (its matrix products"
        " ran before, as mm/addmm): per hidden unit, gate sums, biases and the cell arithmetic."
    )
    return fused_cell


lstm_cell = formula(aten._thnn_fused_lstm_cell, family="rnn")(_fused_cell(4))
gru_cell = formula(aten._thnn_fused_gru_cell, family="rnn")(_fused_cell(3))
