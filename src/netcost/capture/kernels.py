"""Fake kernels for ops whose meta kernel rejects what the real CPU kernel runs.

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


def cpu_only(func: Any, args: tuple, kwargs: dict, dispatch: Dispatch) -> tuple[bool, Any]:
    """(True, result) for an op given its result here, else (False, None)."""
    if func is aten._grouped_mm.default:
        a, b = args[0], args[1]
        if a.dtype in (torch.bfloat16, torch.float16):
            return False, None  # the meta kernel takes these
        offs = args[2] if len(args) > 2 else kwargs.get("offs")
        out_dtype = (args[4] if len(args) > 4 else kwargs.get("out_dtype")) or a.dtype
        shape = grouped_mm_shape(a, b, offs)
        return True, dispatch(aten.new_empty.default, (a, shape), {"dtype": out_dtype})
    return False, None
