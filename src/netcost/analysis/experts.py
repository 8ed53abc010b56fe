"""Active parameters of a mixture-of-experts model: those one token uses.

active = all parameters − Σ over expert layers of (E − k) experts' parameters, with E the
layer's experts and k the model's top-k: shared layers (attention, embeddings, routers, shared
experts) count fully, each expert layer k/E of its experts.
"""

from __future__ import annotations

from typing import Any

from netcost.trace import Trace


def active_params(trace: Trace) -> dict[str, Any]:
    """Totals' active_params and routing fields ({} for a model without experts)."""
    experts = trace.experts
    if experts is None:
        return {}
    counts = sorted({layer.experts for layer in experts.layers})
    shown = "/".join(str(n) for n in counts)
    layers = len(experts.layers)
    where = f"{layers} expert layer{'s' * (layers != 1)}"
    inactive = experts.inactive_params
    if inactive is None:
        return {
            "routing": f"{shown} experts in {where}; top-k not found: active parameters unknown"
        }
    total = sum(p.numel for p in trace.params.values())
    return {
        "active_params": total - inactive,
        "routing": f"top-{experts.top_k} of {shown} experts in {where} ({experts.source})",
    }
