"""Quantized (int8) ops of torch.ao / torchvision's quantized models.

Integer MACs are MACs: a quantized convolution or linear layer does the float formula's MACs
(its prepacked weight gives the shape), in int8 with int32 accumulation; the report shows the
dtypes. FLOPs follow the float conventions — bias add 1 per output element, a fused ReLU 1 —
plus requantization of each output element: 3 (multiply by the combined scale, round, add the
zero point). quantize: 3 per element (divide by the scale, round, add the zero point);
dequantize: 2 (subtract the zero point, multiply by the scale). Element-wise quantized ops count
their float arithmetic + 3 for requantization; quantized cat requantizes every element (3).
"""

from __future__ import annotations

from typing import Any

from netcost.cost import Cost
from netcost.formulas._registry import formula, free
from netcost.formulas._shapes import first, numel
from netcost.formulas.pool import max_pool2d
from netcost.ops import aten
from netcost.trace import PackedWeight, TensorSpec

REQUANTIZE = 3
QUANTIZE = 3
DEQUANTIZE = 2


def _packed(args: dict[str, Any]) -> PackedWeight:
    for value in args.values():
        if isinstance(value, PackedWeight):
            return value
    raise TypeError("no prepacked weight among the arguments")


def _conv(relu: bool) -> Any:
    def conv(*, out: TensorSpec, **args: Any) -> Cost:
        packed = _packed(args)
        w = (
            packed.weight.shape
        )  # (C_out, C_in / groups, k...) or transposed (C_in, C_out / g, k...)
        per_output = w[1] * numel(w[2:])
        if packed.transposed:  # each input element scattered through the kernel
            x = args["qx"]
            macs = numel(x) * w[1] * numel(w[2:])
        else:
            macs = numel(out) * per_output
        extra = (packed.bias is not None) + relu + REQUANTIZE
        return Cost.mac_op(macs, extra_flops=numel(out) * extra)

    conv.__doc__ = (
        "MACs of the float convolution from the packed weight's shape; + bias 1"
        f"{' + ReLU 1' if relu else ''} + requantize 3 per output element."
    )
    return conv


def _linear(relu: bool, requantized: bool = True) -> Any:
    def linear(*, out: TensorSpec, **args: Any) -> Cost:
        packed = _packed(args)
        k = packed.weight.shape[1]
        extra = (packed.bias is not None) + relu + (REQUANTIZE if requantized else 0)
        return Cost.mac_op(numel(out) * k, extra_flops=numel(out) * extra)

    linear.__doc__ = "numel(out) · K MACs (K from the packed weight); + bias, ReLU, requantize."
    return linear


conv = formula(
    "quantized.conv1d", "quantized.conv2d", "quantized.conv3d",
    "quantized.conv_transpose1d", "quantized.conv_transpose2d", "quantized.conv_transpose3d",
    family="quantized",
)(_conv(relu=False))  # fmt: skip
conv_relu = formula(
    "quantized.conv1d_relu", "quantized.conv2d_relu", "quantized.conv3d_relu", family="quantized"
)(_conv(relu=True))
linear = formula("quantized.linear", family="quantized")(_linear(relu=False))
linear_relu = formula("quantized.linear_relu", family="quantized")(_linear(relu=True))
linear_dynamic = formula("quantized.linear_dynamic", family="quantized")(
    _linear(relu=False, requantized=False)
)


def _elementwise(flops: int) -> Any:
    def elementwise(*, out: Any, **_: Any) -> Cost:
        return Cost.elementwise(numel(first(out)), flops)

    elementwise.__doc__ = f"{flops} FLOPs per output element (requantization included)."
    return elementwise


formula(
    "quantized.add", "quantized.mul", "quantized.hardswish", "quantized.sigmoid", family="quantized"
)(_elementwise(1 + REQUANTIZE))
formula("quantized.add_relu", "quantized.mul_relu", family="quantized")(
    _elementwise(2 + REQUANTIZE)
)
formula("quantized.cat", "quantized.cat_relu", family="quantized")(_elementwise(REQUANTIZE))
formula(aten.quantize_per_tensor, aten.quantize_per_channel, family="quantized")(
    _elementwise(QUANTIZE)
)
formula(aten.dequantize, family="quantized")(_elementwise(DEQUANTIZE))
formula(aten.quantized_max_pool2d, aten.quantized_max_pool1d, family="pool")(max_pool2d)

free(
    aten._empty_per_channel_affine_quantized,
    aten._empty_affine_quantized,
    reason="allocates memory without writing it",
)
free(aten.qscheme, aten.q_scale, aten.q_zero_point, reason="reads tensor metadata, not data")
free(
    "quantized.linear_unpack",
    "quantized.conv2d_unpack",
    reason="returns the prepacked weight's tensors: no arithmetic",
)
