"""Backward ops of a training step, and the optimizer's foreach ops.

The products of backward are counted as FlopCounterMode counts them: a convolution's input and
weight gradients each cost the forward's MACs; attention's backward is four products (dP = dO·Vᵀ,
dV = Pᵀ·dO, dQ = dS·K, dK = dSᵀ·Q), twice the forward's two. Work a fused kernel recomputes
(flash attention's Q·Kᵀ and softmax again) is not counted: it is the forward's, done twice.
Element-wise backward ops count their steps, a transcendental as one, as pointwise.py does.
"""

from __future__ import annotations

from math import prod
from typing import Any

from netcost.cost import Cost
from netcost.formulas._registry import formula
from netcost.formulas._shapes import first, numel
from netcost.formulas.attention import causal_scores
from netcost.formulas.pointwise import COMPOUND, ONE_FLOP
from netcost.formulas.rnn import CELL_FLOPS
from netcost.ops import aten, has
from netcost.trace import TensorSpec


@formula(aten.convolution_backward, family="backward")
def convolution_backward(
    grad_output: TensorSpec,
    input: TensorSpec,
    weight: TensorSpec,
    bias_sizes: Any = None,
    stride: Any = None,
    padding: Any = None,
    dilation: Any = None,
    transposed: bool = False,
    output_padding: Any = None,
    groups: int = 1,
    output_mask: Any = (True, True, True),
    *,
    out: Any,
    **_: object,
) -> Cost:
    """The input gradient and the weight gradient each cost the forward's MACs (conv.py);
    the bias gradient sums grad_output, one add per element."""
    kernel = prod(weight.shape[2:])
    forward = numel(input if transposed else grad_output) * weight.shape[1] * kernel
    grad_input, grad_weight, grad_bias = (bool(m) for m in output_mask)
    extra = numel(grad_output) if grad_bias else 0
    return Cost.mac_op(forward * (grad_input + grad_weight), extra_flops=extra)


@formula(
    aten._scaled_dot_product_flash_attention_for_cpu_backward,
    aten._scaled_dot_product_flash_attention_backward,
    aten._scaled_dot_product_efficient_attention_backward,
    aten._scaled_dot_product_cudnn_attention_backward,
    family="backward",
)
def attention_backward(*, out: Any, **args: Any) -> Cost:
    """(B, H, L, E) queries, S keys, Ev values; scores L·S (causal: Σ min(i + 1, S)):
    MACs = B·H·scores·(2·E + 2·Ev), the four products; dS = P ∘ (dP − rowsum(dO ∘ O)) adds
    2 FLOPs per score and 2·Ev per query row."""
    query, key, value = args["query"], args["key"], args["value"]
    *lead, length, e = query.shape
    keys, ev = key.shape[-2], value.shape[-1]
    heads = prod(lead)
    scores = causal_scores(length, keys) if args.get("is_causal") else length * keys
    return Cost.mac_op(
        heads * scores * 2 * (e + ev), extra_flops=heads * (2 * scores + 2 * ev * length)
    )


@formula(aten._softmax_backward_data, aten._log_softmax_backward_data, family="backward")
def softmax_backward(*, out: Any, **args: Any) -> Cost:
    """4 per element. softmax: y ∘ (g − Σ g∘y): multiply, add, subtract, multiply; log-softmax:
    g − exp(y) · Σ g: add, exp, multiply, subtract."""
    return Cost.elementwise(numel(args["grad_output"]), 4)


@formula(aten.embedding_dense_backward, family="backward")
def embedding_backward(grad_output: TensorSpec, *, out: Any, **_: object) -> Cost:
    """Each looked-up row's gradient added into its weight row: one add per element."""
    return Cost.elementwise(numel(grad_output))


@formula(
    aten.max_pool2d_with_indices_backward,
    aten.max_pool3d_with_indices_backward,
    aten.adaptive_max_pool2d_backward,
    aten.adaptive_max_pool3d_backward,
    family="backward",
)
def max_pool_backward(grad_output: TensorSpec, *, out: Any, **_: object) -> Cost:
    """Each output's gradient added at the index of its maximum: one add per output element."""
    return Cost.elementwise(numel(grad_output))


@formula(
    aten.avg_pool2d_backward,
    aten.avg_pool3d_backward,
    aten._adaptive_avg_pool2d_backward,
    aten._adaptive_avg_pool3d_backward,
    family="backward",
)
def avg_pool_backward(grad_output: TensorSpec, *, out: Any, **_: object) -> Cost:
    """Each output's gradient divided by its window size and added to each input of its window:
    one division per output element and one add per input element written."""
    return Cost.elementwise(numel(grad_output)) + Cost.elementwise(numel(first(out)))


@formula(aten.threshold_backward, family="backward")
def threshold_backward(grad_output: TensorSpec, *, out: Any, **_: object) -> Cost:
    """ReLU's gradient: compare the input with the threshold, select the gradient or 0: 2."""
    return Cost.elementwise(numel(grad_output), 2)


#: Per element of a gradient, the steps of each activation's derivative times the gradient.
#: gelu (erf): Φ = ½(1 + erf(x/√2)) (4), φ = exp(−x²/2)/√(2π) (4), x·φ + Φ (2), × g (1) = 11;
#: gelu (tanh): u = √(2/π)(x + 0.044715x³) (5), t = tanh u (1), ½(1 + t) (2),
#: u' = √(2/π)(1 + 3·0.044715x²) (4), 1 − t² (2), ½x(1 − t²)u' (3), + (1), × g (1) = 19;
#: silu: s = sigmoid x (1), s·(1 + x·(1 − s)) (4), × g (1) = 6;
#: sigmoid/tanh from their output y: y(1 − y) or 1 − y² (2), × g (1) = 3;
#: hardswish, hardsigmoid, leaky_relu, elu, hardtanh: compare, select and one scale (3).
ACTIVATION_BACKWARD = {
    "silu_backward": 6,
    "sigmoid_backward": 3,
    "tanh_backward": 3,
    "hardswish_backward": 3,
    "hardsigmoid_backward": 3,
    "leaky_relu_backward": 3,
    "elu_backward": 3,
    "hardtanh_backward": 3,
}


@formula(aten.gelu_backward, family="backward")
def gelu_backward(
    grad_output: TensorSpec, self: TensorSpec, approximate: str = "none", *, out: Any, **_: object
) -> Cost:
    """11 per element for the erf form, 19 for the tanh approximation (steps above)."""
    return Cost.elementwise(numel(grad_output), 19 if approximate == "tanh" else 11)


def _activation(flops: int) -> Any:
    def activation_backward(*, out: Any, **_: object) -> Cost:
        return Cost.elementwise(numel(first(out)), flops)

    activation_backward.__doc__ = f"{flops} FLOPs per element (ACTIVATION_BACKWARD's steps)."
    return activation_backward


for _name, _flops in ACTIVATION_BACKWARD.items():
    formula(getattr(aten, _name), family="backward")(_activation(_flops))


@formula(aten.native_batch_norm_backward, family="backward")
def batch_norm_backward(
    grad_out: TensorSpec,
    input: TensorSpec,
    weight: TensorSpec | None = None,
    running_mean: Any = None,
    running_var: Any = None,
    save_mean: Any = None,
    save_invstd: Any = None,
    train: bool = True,
    eps: float = 0.0,
    output_mask: Any = (True, True, True),
    *,
    out: Any,
    **_: object,
) -> Cost:
    """N elements per channel, C channels. Training: x̂ = (x − μ)·σ⁻¹ (2), g·x̂ (1), Σg and
    Σg·x̂ (2), N·g − Σg − x̂·Σg·x̂ (4), × w·σ⁻¹/N (1) = 10 per element, w·σ⁻¹/N per channel (2);
    the weight and bias gradients are those two sums. Eval: g·(w·σ⁻¹) (1 per element, 1 per
    channel), and for the weight gradient x̂ (2), g·x̂ (1) and its sum (1), the bias's Σg (1)."""
    elements = numel(input)
    channels = input.shape[1] if len(input) > 1 else 1
    grad_input, grad_weight, grad_bias = (bool(m) for m in output_mask)
    if train:
        return Cost.elementwise(elements, 10) + Cost.elementwise(channels, 2)
    per_element = grad_input + 4 * grad_weight + grad_bias
    return Cost.elementwise(elements, per_element) + Cost.elementwise(channels, grad_input)


@formula(aten.native_layer_norm_backward, aten.native_group_norm_backward, family="backward")
def layer_norm_backward(*, out: Any, **args: Any) -> Cost:
    """Per element: g·w (1, with a weight), x̂ = (x − μ)·σ⁻¹ (2), g·x̂ (1), the two sums over the
    normalised elements (2), N·g − Σ − x̂·Σ (4), × σ⁻¹/N (1): 10 (11 with a weight); the weight
    gradient Σ g·x̂ over the rows (2: multiply, add) and the bias gradient Σ g (1); per row,
    σ⁻¹/N (1)."""
    grad = args.get("grad_out")
    x = args["input"]
    elements = numel(x)
    mask = [bool(m) for m in args.get("output_mask", (True, True, True))]
    weighted = args.get("weight") is not None
    per_element = (10 + weighted) * mask[0] + 2 * mask[1] + 1 * mask[2]
    rows = numel(args["mean"]) if isinstance(args.get("mean"), TensorSpec) else 1
    return Cost.elementwise(elements if grad is None else numel(grad), per_element) + (
        Cost.elementwise(rows) if mask[0] else Cost()
    )


@formula(aten.mkldnn_rnn_layer_backward, family="backward")
def rnn_layer_backward(*, out: Any, **args: Any) -> Cost:
    """One LSTM layer's backward: four products per gate matrix, dX = dGates·W_ih,
    dH = dGates·W_hh, dW_ih = dGatesᵀ·X, dW_hh = dGatesᵀ·H — twice the forward's MACs,
    T · B · 2 · G·H · (I + H); the cell's derivative per hidden unit and step, 2 · CELL_FLOPS."""
    x, w_ih, w_hh = args["input"], args["weight1"], args["weight2"]
    hidden = args["hidden_size"]
    steps, batch = x.shape[0], x.shape[1] if len(x) == 3 else 1
    gates = w_ih.shape[0] // hidden
    macs = 2 * steps * batch * (numel(w_ih) + numel(w_hh))
    return Cost.mac_op(macs, extra_flops=steps * batch * hidden * 2 * CELL_FLOPS[gates])


def _list_elements(args: dict[str, Any]) -> int:
    tensors = args.get("self") or ()
    return sum(numel(t) for t in tensors if isinstance(t, TensorSpec))


def _foreach(flops: int) -> Any:
    def foreach(*, out: Any, **args: Any) -> Cost:
        return Cost.elementwise(_list_elements(args), flops)

    foreach.__doc__ = f"{flops} FLOP{'s' if flops > 1 else ''} per element of every tensor listed."
    return foreach


def _foreach_packets(name: str) -> list[Any]:
    return [getattr(aten, n) for n in (f"_foreach_{name}", f"_foreach_{name}_") if has(n)]


for _name in ONE_FLOP.split():
    if packets := _foreach_packets(_name):
        formula(*packets, family="pointwise")(_foreach(1))
for _name, _flops in COMPOUND.items():
    if packets := _foreach_packets(_name):
        formula(*packets, family="pointwise")(_foreach(_flops))
