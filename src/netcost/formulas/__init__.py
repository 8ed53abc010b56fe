"""Costing ops: one registry (formulas/_registry.py), one file per op family.

Importing this package registers every family; `costed(events)` costs recorded ops.
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
    Costed,
    Entry,
    FormulaError,
    costed,
    formula,
    local_formulas,
    lookup,
    registered,
)

__all__ = [
    "Costed", "Entry", "FormulaError", "costed", "formula", "local_formulas", "lookup",
    "registered",
]  # fmt: skip
