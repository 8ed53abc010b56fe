"""Fourier transforms: the FFT family (torch.fft lowers to these three ops).

A complex FFT of length n counts 5·n·⌈log₂ n⌉ real FLOPs (the radix-2 Cooley–Tukey count: n/2
butterflies per stage, each a complex multiply (6) and two complex adds (4), over log₂ n
stages). A multi-dimensional transform applies it along each dim: for each transformed dim d,
numel · 5·⌈log₂ n_d⌉ over the complex elements. A real-input (r2c) or real-output (c2r)
transform does half that work, counted on the real side: ⌊5·N·Σ_d ⌈log₂ n_d⌉ / 2⌋.
Normalisation (1/n or 1/√n) adds 1 multiply per output element.
"""

from __future__ import annotations

from math import ceil, log2
from typing import Any

from netcost.cost import Cost
from netcost.formulas._registry import formula
from netcost.formulas._shapes import numel
from netcost.ops import aten
from netcost.trace import TensorSpec

BUTTERFLY_FLOPS = 5


def _stages(shape: tuple[int, ...], dims: Any) -> int:
    """Σ over the transformed dims of ⌈log₂ n_d⌉."""
    return sum(ceil(log2(shape[d])) if shape[d] > 1 else 0 for d in dims)


def _normalised(normalization: int, out: TensorSpec) -> int:
    return numel(out) if normalization else 0


@formula(aten._fft_c2c, family="spectral")
def fft_c2c(self: TensorSpec, dim: Any, normalization: int, *, out: TensorSpec, **_: Any) -> Cost:
    """5 · numel · Σ_d ⌈log₂ n_d⌉, + numel when normalised."""
    flops = BUTTERFLY_FLOPS * numel(self) * _stages(self.shape, dim)
    return Cost.elementwise(flops + _normalised(normalization, out))


@formula(aten._fft_r2c, family="spectral")
def fft_r2c(self: TensorSpec, dim: Any, normalization: int, *, out: TensorSpec, **_: Any) -> Cost:
    """⌊5 · N · Σ_d ⌈log₂ n_d⌉ / 2⌋ with N the real input's elements, + the output's when
    normalised."""
    flops = BUTTERFLY_FLOPS * numel(self) * _stages(self.shape, dim) // 2
    return Cost.elementwise(flops + _normalised(normalization, out))


@formula(aten._fft_c2r, family="spectral")
def fft_c2r(self: TensorSpec, dim: Any, normalization: int, *, out: TensorSpec, **_: Any) -> Cost:
    """⌊5 · N · Σ_d ⌈log₂ n_d⌉ / 2⌋ with N and n_d the real output's, + N when normalised."""
    flops = BUTTERFLY_FLOPS * numel(out) * _stages(out.shape, dim) // 2
    return Cost.elementwise(flops + _normalised(normalization, out))
