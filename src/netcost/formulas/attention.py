"""Attention: scaled_dot_product_attention on every backend, and PyTorch's fused transformer paths.

For queries (…, L, E), keys (…, S, E) and values (…, S, Ev) with batch·heads = prod(…):
- scores Q·Kᵀ: B·L·S'·E MACs and the weighted sum P·V: B·L·S'·Ev MACs, where S' is the number of
  keys each query attends to (S' = S unmasked; under a causal mask only the unmasked part of the
  score matrix counts — docs/conventions.md);
- per score: 1 FLOP for the scale, 5 for the softmax (max, subtract, exp, sum, divide), 1 for an
  added mask.
"""

from __future__ import annotations

from math import prod
from typing import Any

from netcost.cost import Cost
from netcost.formulas._registry import formula
from netcost.formulas.norm import normalisation_cost
from netcost.ops import aten
from netcost.trace import TensorSpec

SOFTMAX_FLOPS = 5  # max, subtract, exp, sum, divide: per element


def causal_scores(q_len: int, k_len: int) -> int:
    """Unmasked entries of an L × S causal mask aligned top-left, as PyTorch's is_causal does:
    row i sees keys 0..i, so the count is Σ_{i<L} min(i + 1, S) (L·(L+1)/2 when S = L)."""
    full_rows = min(q_len, k_len)  # rows 0..full_rows-1 see i + 1 keys
    return full_rows * (full_rows + 1) // 2 + (q_len - full_rows) * k_len


def attention_cost(
    query: tuple[int, ...],
    key: tuple[int, ...],
    value: tuple[int, ...],
    *,
    is_causal: bool = False,
    has_mask: bool = False,
) -> Cost:
    """The core of attention, softmax(Q·Kᵀ · scale + mask) · V, on shapes (…, L, E), (…, S, E),
    (…, S, Ev). Batch and heads come from the query (grouped-query keys are shared, not cheaper)."""
    batch_heads = prod(query[:-2])
    q_len, e = query[-2], query[-1]
    k_len, ev = key[-2], value[-1]
    scores = causal_scores(q_len, k_len) if is_causal else q_len * k_len
    macs = batch_heads * scores * (e + ev)
    per_score = 1 + SOFTMAX_FLOPS + (1 if has_mask else 0)
    return Cost.mac_op(macs, extra_flops=batch_heads * scores * per_score)


@formula(
    aten._scaled_dot_product_flash_attention_for_cpu,
    aten._scaled_dot_product_flash_attention,
    aten._scaled_dot_product_efficient_attention,
    aten._scaled_dot_product_cudnn_attention,
    aten._scaled_dot_product_attention_math,
    aten._scaled_dot_product_fused_attention_overrideable,
    "aten.scaled_dot_product_attention",
    family="attention",
)
def scaled_dot_product_attention(
    query: TensorSpec,
    key: TensorSpec,
    value: TensorSpec,
    is_causal: bool = False,
    attn_mask: TensorSpec | None = None,
    attn_bias: TensorSpec | None = None,
    *,
    out: Any,
    **_: object,
) -> Cost:
    """Every SDPA backend does the same arithmetic: see attention_cost (dropout not counted)."""
    mask = attn_mask if attn_mask is not None else attn_bias
    return attention_cost(
        query.shape, key.shape, value.shape, is_causal=is_causal, has_mask=mask is not None
    )


def linear_cost(rows: int, in_features: int, out_features: int, bias: bool) -> Cost:
    """rows × in_features @ in_features × out_features (+ bias): MACs = rows · in · out."""
    return Cost.mac_op(rows * in_features * out_features, extra_flops=rows * out_features * bias)


def multi_head_attention_cost(
    batch: int, q_len: int, k_len: int, embed_dim: int, num_heads: int, *, masked: bool
) -> Cost:
    """nn.MultiheadAttention's arithmetic: Q, K and V projections (E × E each, with bias),
    attention over num_heads heads of E / num_heads, and the output projection (E × E, bias)."""
    head_dim = embed_dim // num_heads
    q_proj = linear_cost(batch * q_len, embed_dim, embed_dim, True)
    kv_proj = linear_cost(batch * k_len, embed_dim, 2 * embed_dim, True)
    core = attention_cost(
        (batch, num_heads, q_len, head_dim),
        (batch, num_heads, k_len, head_dim),
        (batch, num_heads, k_len, head_dim),
        has_mask=masked,
    )
    out_proj = linear_cost(batch * q_len, embed_dim, embed_dim, True)
    return q_proj + kv_proj + core + out_proj


def _batch_len(t: TensorSpec) -> tuple[int, int]:
    """(batch, length) of a batch-first (B, L, E) or unbatched (L, E) tensor."""
    return (t.shape[0], t.shape[1]) if len(t) == 3 else (1, t.shape[0])


@formula(aten._native_multi_head_attention, family="attention")
def native_multi_head_attention(
    query: TensorSpec,
    key: TensorSpec,
    value: TensorSpec,
    embed_dim: int,
    num_head: int,
    mask: TensorSpec | None = None,
    need_weights: bool = True,
    average_attn_weights: bool = True,
    *,
    out: Any,
    **_: object,
) -> Cost:
    """nn.MultiheadAttention's fast path (eval, no_grad): see multi_head_attention_cost.
    Returned weights averaged over the heads cost what the slow path's mean costs: one add per
    weight of every head, B·H·L·S, and one division per averaged weight, B·L·S."""
    batch, q_len = _batch_len(query)
    k_len = _batch_len(key)[1]
    cost = multi_head_attention_cost(
        batch, q_len, k_len, embed_dim, num_head, masked=mask is not None
    )
    if need_weights and average_attn_weights:
        averaged = batch * q_len * k_len
        cost = cost + Cost.elementwise(averaged * num_head) + Cost.elementwise(averaged)
    return cost


@formula(aten._transformer_encoder_layer_fwd, family="attention")
def transformer_encoder_layer(
    src: TensorSpec,
    embed_dim: int,
    num_heads: int,
    use_gelu: bool,
    ffn_weight_1: TensorSpec,
    mask: TensorSpec | None = None,
    *,
    out: Any,
    **_: object,
) -> Cost:
    """nn.TransformerEncoderLayer's fast path (eval, no_grad), one op for the whole layer:
    self-attention (multi_head_attention_cost), two residual adds and two affine layer norms
    over E per token, and the feed-forward block E → F → E with biases and one activation per
    hidden unit — the same arithmetic the layer's unfused path runs op by op."""
    batch, length = _batch_len(src)
    tokens = batch * length
    hidden = ffn_weight_1.shape[0]
    attention = multi_head_attention_cost(
        batch, length, length, embed_dim, num_heads, masked=mask is not None
    )
    ffn = linear_cost(tokens, embed_dim, hidden, True) + linear_cost(
        tokens, hidden, embed_dim, True
    )
    activation = Cost.elementwise(tokens * hidden)
    residuals = Cost.elementwise(tokens * embed_dim, 2)
    norm = normalisation_cost(tokens * embed_dim, tokens, stats=True, weight=True, bias=True)
    return attention + ffn + activation + residuals + norm + norm
