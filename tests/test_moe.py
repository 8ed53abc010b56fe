"""Mixture-of-experts models from transformers: grouped expert products, exact by hand."""

from __future__ import annotations

import pytest

import netcost
from netcost.sources import resolve

pytest.importorskip("transformers")


def test_mixtral_costs_top_k_experts_per_token():
    """Per token and layer: q, k, v, o projections (GQA), the router, and k experts' SwiGLU
    (three h × f products); causal attention Σ_{i<T} (i + 1) keys per head."""
    h, f, experts, k, heads, kv_heads, layers, tokens = 64, 96, 4, 2, 4, 2, 2, 16
    head_dim = h // heads
    source = (
        f"hf:mixtral:hidden_size={h},intermediate_size={f},num_local_experts={experts},"
        f"num_experts_per_tok={k},num_attention_heads={heads},num_key_value_heads={kv_heads},"
        f"num_hidden_layers={layers},vocab_size=100"
    )
    resolved = resolve(source)
    import torch

    from netcost.inputs import shape_only

    ids = shape_only((1, tokens), torch.int64)
    r = netcost.analyze(resolved.model, {"input_ids": ids})
    assert r.complete, [d.message for d in r.diagnostics if d.kind == "uncounted_op"]
    projections = 2 * h * h + 2 * h * kv_heads * head_dim
    per_token = projections + h * experts + k * 3 * h * f
    attention = heads * sum(i + 1 for i in range(tokens)) * 2 * head_dim
    assert r.total.macs == layers * (tokens * per_token + attention)
