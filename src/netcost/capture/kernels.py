"""Fake kernels for ops whose meta kernel rejects what the real CPU kernel runs, and checks for
ops whose meta kernel accepts what the real CPU kernel refuses.

PyTorch's meta kernel for `aten._grouped_mm` accepts only bf16/fp16 (the CUDA kernel's types)
while the CPU kernel runs float32 too, as transformers' mixture-of-experts layers do on a CPU.
netcost gives such an op its result's shape and dtype directly, as the CPU kernel would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from netcost.ops import aten

Dispatch = Callable[[Any, tuple, dict], Any]


def grouped_mm_shape(a: torch.Tensor, b: torch.Tensor, offs: Any) -> list[int]:
    """(M, K)·(G, K, N) → (M, N); (G, M, K)·(G, K, N) → (G, M, N); (G, M, K)·(K, N) → (M, N)
    with N split by offs; (M, K)·(K, N) with K split by offs → (G, M, N)."""
    if a.dim() == 2 and b.dim() == 3:
        return [a.shape[0], b.shape[-1]]
    if a.dim() == 3 and b.dim() == 3:
        return [a.shape[0], a.shape[1], b.shape[-1]]
    if a.dim() == 3 and b.dim() == 2:
        return [a.shape[1], b.shape[-1]]
    return [offs.shape[0], a.shape[0], b.shape[-1]]


#: matrix products whose CPU kernels refuse operands of different dtypes (their meta kernels
#: do not check): the operands' positions
SAME_DTYPE = {
    "aten.mm.default": (0, 1), "aten.bmm.default": (0, 1), "aten.addmm.default": (1, 2),
    "aten.baddbmm.default": (1, 2), "aten.mv.default": (0, 1), "aten.dot.default": (0, 1),
}  # fmt: skip


def cpu_only(func: Any, args: tuple, kwargs: dict, dispatch: Dispatch) -> tuple[bool, Any]:
    """(True, result) for an op given its result here, else (False, None). Raises what the CPU
    kernel would raise where the meta kernel would let it pass (a float64 input to a float32
    Linear)."""
    pair = SAME_DTYPE.get(str(func))
    if pair is not None and len(args) > max(pair):
        a, b = args[pair[0]], args[pair[1]]
        if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype != b.dtype:
            first, second = (
                ("mat1", "mat2")
                if "addmm" in str(func) or "mm." in str(func)
                else ("self", "other")
            )
            raise RuntimeError(
                f"{first} and {second} must have the same dtype, but got "
                f"{_dtype_name(a.dtype)} and {_dtype_name(b.dtype)}"
            )
    if func is aten._grouped_mm.default:
        a, b = args[0], args[1]
        if a.dtype in (torch.bfloat16, torch.float16):
            return False, None  # the meta kernel takes these
        offs = args[2] if len(args) > 2 else kwargs.get("offs")
        out_dtype = (args[4] if len(args) > 4 else kwargs.get("out_dtype")) or a.dtype
        shape = grouped_mm_shape(a, b, offs)
        return True, dispatch(aten.new_empty.default, (a, shape), {"dtype": out_dtype})
    return False, None


def _dtype_name(dtype: torch.dtype) -> str:
    """PyTorch's own name in its messages: Double, Float, Long, Half, BFloat16."""
    return {torch.float64: "Double", torch.float32: "Float", torch.int64: "Long",
            torch.float16: "Half", torch.bfloat16: "BFloat16", torch.int32: "Int"}.get(
        dtype, str(dtype).removeprefix("torch.")
    )  # fmt: skip
