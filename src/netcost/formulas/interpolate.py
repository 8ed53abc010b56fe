"""Upsampling and interpolation: FLOPs per output element from the taps each one blends.

Nearest copies one input element (0 FLOPs, only bytes). (Bi/tri)linear and bicubic take a
weighted sum of `taps` inputs: `taps` multiplies and `taps − 1` adds = 2 · taps − 1 FLOPs, with
taps = 2, 4, 8 for linear, bilinear, trilinear and 16 for bicubic.
"""

from __future__ import annotations

from typing import Any

from torch.ops import aten

from netcost.cost import Cost
from netcost.formulas._registry import formula
from netcost.formulas._shapes import first, numel


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
)(_interpolate(1))
linear = formula(aten.upsample_linear1d)(_interpolate(2))
bilinear = formula(aten.upsample_bilinear2d)(_interpolate(4))
trilinear = formula(aten.upsample_trilinear3d)(_interpolate(8))
bicubic = formula(aten.upsample_bicubic2d)(_interpolate(16))
