"""Which of PyTorch's CPU convolution paths a convolution takes: its own (im2col, then one BLAS
product: `Slow2d`, `SlowDilated2d`, …) or oneDNN's (`Mkldnn`).

PyTorch picks by shape (torch._C._select_conv_backend; ConvUtils.h): on a CPU with more than one
thread an fp32 convolution runs through oneDNN when the input has more than one image, its
kernel is wider than 3 × 3, it is grouped or strided, or the input holds more than 20,480
elements; otherwise through its own path. On this machine the two differ most on small maps:
oneDNN reorders a channels-first map into its blocked layout and back (1 × 1, 32 → 16 channels
at 28²: 114 µs through oneDNN, 18 µs as the equal BLAS product), so a calibration times each
path on its own and an estimate reads the path the op takes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch


def native_conv(
    x: torch.Tensor,
    weight: torch.Tensor,
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int] | None = None,
    transposed: bool = False,
    output_padding: Sequence[int] | None = None,
    groups: int = 1,
) -> bool:
    """True when PyTorch runs this convolution through its own im2col + BLAS path, as torch's
    own selector says for these tensors (only their shapes, strides, dtypes and device count);
    False for any other path, or where the selector cannot tell."""
    n = weight.dim() - 2
    try:
        backend = torch._C._select_conv_backend(
            x, weight, None, list(stride), list(padding), list(dilation or [1] * n),
            transposed, list(output_padding or [0] * n), groups, None,
        )  # fmt: skip
    except (RuntimeError, TypeError, ValueError):
        return False
    return str(backend).rsplit(".", 1)[-1].startswith("Slow")


def native_conv_of(args: dict[str, Any]) -> bool:
    """native_conv for a recorded convolution's arguments (TensorSpec input and weight): the
    tensors are allocated empty, never written or read, on the CPU."""
    x, w = args.get("input"), args.get("weight")
    if x is None or w is None or not hasattr(x, "stride"):
        return False
    try:
        x_, w_ = (
            torch.empty_strided(t.shape, t.stride, dtype=getattr(torch, t.dtype)) for t in (x, w)
        )
    except (AttributeError, RuntimeError, TypeError):
        return False
    return native_conv(
        x_, w_, args.get("stride", (1,)), args.get("padding", (0,)), args.get("dilation"),
        bool(args.get("transposed", False)), args.get("output_padding"), args.get("groups", 1),
    )  # fmt: skip


def conv_family(weight_shape: Sequence[int], groups: int, native: bool) -> str:
    """A convolution's calibrated family: `conv_depthwise` (grouped), `conv_1x1` (its weight's
    spatial dims all 1) or `conv` (dense), with `_native` where it takes PyTorch's own path."""
    if groups > 1:
        name = "conv_depthwise"
    elif len(weight_shape) > 2 and all(d == 1 for d in weight_shape[2:]):
        name = "conv_1x1"
    else:
        name = "conv"
    return name + ("_native" if native else "")
