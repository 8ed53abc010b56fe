"""How FLOPs are shown: netcost's convention, or another tool's for comparison.

Every cost is kept in netcost's convention (a report, a training step, a timing); a report's
`convention` is applied only where FLOPs are shown (text, JSON, CSV, explanations, stages,
comparisons), so times, intensities and MFU always read the same arithmetic.

- "netcost": 2 FLOPs per MAC plus 1 per element for all other arithmetic (docs/conventions.md).
- "macs": FLOPs reported equal to MACs, as fvcore, thop and ptflops report "FLOPs".
- "torch": 2 FLOPs per MAC and nothing else, as torch.utils.flop_counter.FlopCounterMode counts.
"""

from __future__ import annotations

from dataclasses import replace

from netcost.cost import Cost
from netcost.errors import UsageError

CONVENTIONS = {
    "netcost": "FLOPs = 2 per MAC + 1 per element of other arithmetic",
    "macs": "FLOPs = MACs (fvcore, thop, ptflops)",
    "torch": "FLOPs = 2 per MAC only (torch FlopCounterMode)",
}


def check(convention: str) -> str:
    if convention not in CONVENTIONS:
        raise UsageError(
            f"unknown convention {convention!r}; choose one of: {', '.join(CONVENTIONS)}"
        )
    return convention


def under(cost: Cost, convention: str) -> Cost:
    """The same cost with FLOPs counted the named way."""
    if convention == "macs":
        return replace(cost, flops=cost.macs)
    if convention == "torch":
        return replace(cost, flops=2 * cost.macs)
    return cost
