"""Costing ops: one registry (formulas/_registry.py), one file per op family.

Importing this package registers every family; `cost_of(event)` costs one recorded op.
"""

from __future__ import annotations

from netcost.formulas import (  # noqa: F401  (registration happens at import)
    attention,
    backward,
    conv,
    detection,
    free,
    interpolate,
    loss,
    matmul,
    movement,
    norm,
    pointwise,
    pool,
    quantized,
    reduction,
    rnn,
    selection,
    spectral,
)
from netcost.formulas._registry import (
    Entry,
    FormulaError,
    cost_of,
    formula,
    local_formulas,
    lookup,
    registered,
)

__all__ = ["Entry", "FormulaError", "cost_of", "formula", "local_formulas", "lookup", "registered"]
