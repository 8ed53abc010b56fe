"""Convolution, plain and transposed, 1d/2d/3d, any groups, dilation and padding."""

from __future__ import annotations

from math import prod

from netcost.cost import Cost
from netcost.formulas._registry import formula
from netcost.formulas._shapes import numel
from netcost.ops import aten
from netcost.trace import TensorSpec


@formula(aten.convolution, aten._convolution, family="conv")
def convolution(
    input: TensorSpec,
    weight: TensorSpec,
    bias: TensorSpec | None = None,
    stride: object = None,
    padding: object = None,
    dilation: object = None,
    transposed: bool = False,
    output_padding: object = None,
    groups: int = 1,
    *,
    out: TensorSpec,
    **_: object,
) -> Cost:
    """Each output element is a dot product over (C_in / groups) · k_1 · … · k_d inputs:
    MACs = N · C_out · out_1 · … · out_d · (C_in / groups) · k_1 · … · k_d.
    Transposed, each *input* element is scattered through (C_out / groups) · k_1 · … · k_d
    weights: MACs = N · C_in · in_1 · … · in_d · (C_out / groups) · k_1 · … · k_d.
    Bias: one add per output element. Stride, padding and dilation change only the output size."""
    kernel = prod(weight.shape[2:])
    if transposed:  # weight is (C_in, C_out / groups, *k)
        macs = numel(input) * weight.shape[1] * kernel
    else:  # weight is (C_out, C_in / groups, *k)
        macs = numel(out) * weight.shape[1] * kernel
    return Cost.mac_op(macs, extra_flops=numel(out) if bias is not None else 0)
