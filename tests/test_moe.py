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


def test_active_params_count_top_k_of_each_layers_experts():
    """Qwen3-MoE: each token uses k of E experts per layer; everything else is shared."""
    h, f, experts, k, layers, vocab = 32, 24, 8, 2, 2, 50
    heads, kv_heads, head_dim = 4, 2, 8
    source = (
        f"hf:qwen3_moe:hidden_size={h},moe_intermediate_size={f},num_experts={experts},"
        f"num_experts_per_tok={k},num_hidden_layers={layers},vocab_size={vocab},"
        f"num_attention_heads={heads},num_key_value_heads={kv_heads},"
        "decoder_sparse_step=1,mlp_only_layers=[]"
    )
    import torch

    from netcost.inputs import shape_only

    model = resolve(source).model
    r = netcost.analyze(model, {"input_ids": shape_only((1, 8), torch.int64)})
    expert = 3 * h * f  # gate, up and down projections of one expert
    # q, o (heads), k, v (kv heads), and the q and k RMS norms over head_dim
    attention = h * heads * head_dim * 2 + h * kv_heads * head_dim * 2 + 2 * head_dim
    per_layer_shared = attention + h * experts + 2 * h  # + router + two RMS norms
    shared = vocab * h + layers * per_layer_shared + h  # + embeddings and the final norm
    assert r.total.params == shared + layers * experts * expert
    assert r.total.active_params == shared + layers * k * expert
    assert r.total.routing == (
        f"top-{k} of {experts} experts in {layers} expert layers (config.num_experts_per_tok)"
    )
    d = r.to_dict()["total"]
    assert (d["active_params"], d["routing"]) == (r.total.active_params, r.total.routing)
    from netcost.render.rows import summary_lines

    active = shared + layers * k * expert
    line = f"Active params per token: {active:,} (top-{k} of {experts} experts in {layers} expert"
    assert any(text.startswith(line) for text in summary_lines(r))


def test_dense_model_has_no_active_params_line():
    from torch import nn

    r = netcost.analyze(nn.Linear(4, 4), input_size=(1, 4))
    assert r.total.active_params is None and r.to_dict()["total"]["routing"] is None


def _eager_moe(h: int, f: int, experts: int, k: int):
    import torch
    from torch import nn

    class Loop(nn.Module):
        """Experts as a loop over the tokens routed to each (no grouped product)."""

        def __init__(self) -> None:
            super().__init__()
            self.router = nn.Linear(h, experts, bias=False)
            self.up = nn.ModuleList(nn.Linear(h, f, bias=False) for _ in range(experts))
            self.down = nn.ModuleList(nn.Linear(f, h, bias=False) for _ in range(experts))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            weights, chosen = self.router(x).softmax(-1).topk(k, dim=-1)
            out = torch.zeros_like(x)
            for e in range(experts):
                token, slot = torch.where(chosen == e)
                if token.numel() == 0:
                    continue
                y = self.down[e](self.up[e](x[token]).relu())
                out.index_add_(0, token, y * weights[token, slot, None])
            return out

    return Loop()


def test_per_expert_loop_is_costed_at_balanced_top_k():
    """T tokens pick k of E experts by round-robin: each expert gets T·k/E tokens."""
    import torch

    h, f, experts, k, tokens = 8, 16, 4, 2, 12
    model = _eager_moe(h, f, experts, k)
    r = netcost.analyze(model, torch.randn(tokens, h), execution="fake")
    assert r.execution == "fake" and r.complete
    per_expert = tokens * k // experts
    assert r.total.macs == tokens * h * experts + experts * per_expert * (h * f + f * h)
    for e in range(experts):
        assert r.layer(f"up.{e}").output_shapes == ((per_expert, f),)
    lines = [d.message for d in r.diagnostics if d.kind == "scenario"]
    assert "balanced routing" in lines[0]
    assert f"Loop: aten.topk.default (indices round-robin) kept {k}" in lines


def _switch_moe(h: int, f: int, experts: int, second_choice: bool):  # type: ignore[no-untyped-def]
    """A Switch/NLLB-style router in eager PyTorch: argmax picks (twice, the second after
    filling the first choice with -inf), one-hot masks, experts looked up by name, and the
    router converting its own classifier inside forward."""
    import torch
    from torch import nn

    class Switch(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.classifier = nn.Linear(h, experts, bias=False)
            self.experts = nn.ModuleDict(
                {
                    f"expert_{e}": nn.Sequential(
                        nn.Linear(h, f, bias=False), nn.Linear(f, h, bias=False)
                    )
                    for e in range(experts)
                }
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.classifier = self.classifier.to(torch.float32)  # as Switch Transformers does
            logits = self.classifier(x)
            first = torch.argmax(logits, dim=-1)
            mask = nn.functional.one_hot(first, experts)
            if second_choice:
                rest = logits.masked_fill(mask.bool(), float("-inf"))
                mask = mask + nn.functional.one_hot(torch.argmax(rest, dim=-1), experts)
            out = torch.zeros_like(x)
            hit = torch.greater(mask.sum(0), 0).nonzero()
            for e in hit:
                (tokens,) = torch.where(mask[:, e[0]])
                out.index_add_(0, tokens, self.experts[f"expert_{e[0]}"](x[tokens]))
            return out

    return Switch()


@pytest.mark.parametrize("second_choice", [False, True])
def test_argmax_routers_cost_balanced_choices_and_leave_the_model(second_choice):
    """T tokens, E experts: argmax routes token r to expert r mod E; a second argmax over the
    scores with the first choice filled skips it, so each token reaches k distinct experts."""
    import torch

    h, f, experts, tokens = 8, 16, 4, 12
    k = 2 if second_choice else 1
    model = _switch_moe(h, f, experts, second_choice)
    weight = model.classifier.weight
    r = netcost.analyze(model, torch.randn(tokens, h), execution="fake")
    assert r.complete
    per_expert = tokens * k // experts
    for e in range(experts):
        assert r.layer(f"experts.expert_{e}.0").output_shapes == ((per_expert, f),)
    assert r.layer("classifier").cost.macs == tokens * h * experts
    assert r.total.macs == tokens * h * experts + experts * per_expert * (h * f + f * h)
    assert model.classifier.weight is weight  # the conversion inside forward was undone
    assert "aten.argmax.default (indices round-robin)" in " ".join(
        d.message for d in r.diagnostics if d.kind == "scenario"
    )
