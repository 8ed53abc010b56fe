"""Upsampling and interpolation: FLOPs per output element from the taps each one blends.

Nearest copies one input element (0 FLOPs, only bytes). (Bi/tri)linear and bicubic take a
weighted sum of `taps` inputs: `taps` multiplies and `taps − 1` adds = 2 · taps − 1 FLOPs, with
taps = 2, 4, 8 for linear, bilinear, trilinear and 16 for bicubic.
"""

from __future__ import annotations

from math import ceil
from typing import Any

from netcost.cost import Cost
from netcost.formulas._registry import formula
from netcost.formulas._shapes import first, numel
from netcost.ops import aten


def _interpolate(taps: int) -> Any:
    def interpolate(*, out: Any, **_: object) -> Cost:
        return Cost.elementwise(numel(first(out)), 2 * taps - 1 if taps > 1 else 0)

    interpolate.__doc__ = (
        f"Each output element blends {taps} input element{'s' if taps > 1 else ''}: "
        f"{2 * taps - 1 if taps > 1 else 0} FLOPs."
    )
    return interpolate


nearest = formula(
    aten.upsample_nearest1d,
    aten.upsample_nearest2d,
    aten.upsample_nearest3d,
    aten._upsample_nearest_exact1d,
    aten._upsample_nearest_exact2d,
    aten._upsample_nearest_exact3d,
    family="interpolate",
)(_interpolate(1))
linear = formula(aten.upsample_linear1d, family="interpolate")(_interpolate(2))
bilinear = formula(aten.upsample_bilinear2d, family="interpolate")(_interpolate(4))
trilinear = formula(aten.upsample_trilinear3d, family="interpolate")(_interpolate(8))
bicubic = formula(aten.upsample_bicubic2d, family="interpolate")(_interpolate(16))


@formula(aten.grid_sampler_2d, aten.grid_sampler_3d, family="interpolate")
def grid_sample(*, out: Any, interpolation_mode: int, **args: Any) -> Cost:
    """Each output element blends the taps around its sampling point, as interpolation does:
    bilinear 4 taps (7 FLOPs; 8 taps, 15, in 3-D), nearest 0, bicubic 16 (31). The grid's
    coordinate arithmetic is not counted, as interpolation's index arithmetic is not."""
    three_d = len(args["input"].shape) == 5
    taps = {0: 8 if three_d else 4, 1: 1, 2: 16}[interpolation_mode]
    return _interpolate(taps)(out=out)


def _aa_taps(size_in: int, size_out: int, support: float) -> int:
    """Taps per output along one axis of an antialiased resize: the kernel's support widens
    by the downscale factor, window = 2·⌈support · max(in/out, 1)⌉ + 1 (PyTorch's
    _compute_indices_weights_aa)."""
    scale = size_in / size_out
    return 2 * ceil(support * max(scale, 1.0)) + 1


def _antialiased(support: float) -> Any:
    def resize(*, out: Any, **args: Any) -> Cost:
        x = args["self"] if "self" in args else args["input"]
        n, c, h_in, w_in = x.shape
        h_out, w_out = out.shape[-2:]
        wide = _aa_taps(w_in, w_out, support)
        high = _aa_taps(h_in, h_out, support)
        horizontal = n * c * h_in * w_out * (2 * wide - 1)
        vertical = n * c * h_out * w_out * (2 * high - 1)
        return Cost.elementwise(horizontal + vertical)

    resize.__doc__ = (
        "Separable: a horizontal pass (N·C·H_in·W_out outputs) then a vertical one "
        "(N·C·H_out·W_out), each output 2·taps − 1 FLOPs with taps = 2·⌈"
        f"{support:g}·max(in/out, 1)⌉ + 1 along its axis."
    )
    return resize


bilinear_aa = formula(aten._upsample_bilinear2d_aa, family="interpolate")(_antialiased(1.0))
bicubic_aa = formula(aten._upsample_bicubic2d_aa, family="interpolate")(_antialiased(2.0))
