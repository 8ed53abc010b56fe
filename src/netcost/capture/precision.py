"""Precisions a capture can run at: the dtype floating-point state and inputs are stored in, and
the autocast dtype of the forward (None: no autocast)."""

from __future__ import annotations

from collections.abc import Collection
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch

from netcost.errors import UsageError

#: --precision names: stored dtype, autocast dtype.
PRECISIONS: dict[str, tuple[torch.dtype | None, torch.dtype | None]] = {
    "fp32": (None, None),  # as the model and inputs are (float32 for most)
    "bf16-mixed": (None, torch.bfloat16),
    "fp16-mixed": (None, torch.float16),
    "bf16": (torch.bfloat16, None),
    # Transformer Engine's FP8 training: captured as bf16-mixed; on a device, every GEMM runs
    # on fp8 units (analysis/fusion.py fp8_products)
    "fp8-mixed": (None, torch.bfloat16),
}


def check_choice(kind: str, value: str, choices: Collection[str]) -> None:
    """One line naming the choices when `value` is not among them (the API's and the CLI's)."""
    if value not in choices:
        raise UsageError(f"unknown {kind} {value!r}; choose one of: {', '.join(choices)}")


def stored_dtype(precision: str, t: torch.Tensor) -> torch.dtype:
    """The dtype a stand-in for `t` has: bf16 for floating-point tensors under "bf16"."""
    stored = PRECISIONS[precision][0]
    return stored if stored is not None and t.dtype.is_floating_point else t.dtype


def autocast(precision: str) -> AbstractContextManager[Any]:
    """The forward's autocast context (CPU autocast: the stand-ins are CPU tensors)."""
    dtype = PRECISIONS[precision][1]
    return torch.autocast("cpu", dtype=dtype) if dtype is not None else nullcontext()
