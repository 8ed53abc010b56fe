"""Mixture-of-experts layers of a model, found by structure: which parameters belong to experts,
how many experts each layer has, and how many a token is routed to (top-k).

Two layouts are recognised: stacked experts (a module whose class name contains "Experts" and
whose parameters all have the experts as their leading dim, as transformers' grouped-GEMM
layers keep them) and a list of expert modules (an nn.ModuleList registered as `experts`).
Top-k comes from the model's config (`num_experts_per_tok` and its synonyms, nested text
configs included), else from a `top_k` attribute of a module.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from netcost.trace import ExpertLayer, Experts

TOP_K_KEYS = (
    "num_experts_per_tok",
    "num_experts_per_token",
    "experts_per_token",
    "moe_topk",
    "moe_top_k",
    "router_top_k",
    "num_selected_experts",
    "top_k",
    "moe_k",
)


def find_experts(model: nn.Module) -> Experts | None:
    layers: list[ExpertLayer] = []
    for path, module in model.named_modules():
        if any(path.startswith(f"{layer.path}.") for layer in layers):
            continue  # inside an expert layer already found
        own = list(module.parameters(recurse=False))
        if "Experts" in type(module).__name__ and own:  # stacked: experts on the leading dim
            counts = {p.shape[0] if p.dim() else 0 for p in own}
            if len(counts) == 1 and (count := counts.pop()) > 1 and all(p.dim() >= 2 for p in own):
                numel = sum(p.numel() for p in module.parameters())
                layers.append(ExpertLayer(path, count, numel))
        elif _expert_list(path, module):
            numel = sum(p.numel() for p in module.parameters())
            layers.append(ExpertLayer(path, len(list(module.children())), numel))
    if not layers:
        return None
    k, source = _top_k(model)
    return Experts(tuple(layers), k, source)


def _expert_list(path: str, module: nn.Module) -> bool:
    """A container of more than one expert module of one type: named `experts`, or of a class
    whose name contains "Experts" (switch transformers' `expert_0`, `expert_1`, ...)."""
    named = path.rsplit(".", 1)[-1] == "experts" or "Experts" in type(module).__name__
    children = list(module.children())
    return named and len(children) > 1 and len({type(c) for c in children}) == 1


def _top_k(model: nn.Module) -> tuple[int | None, str]:
    configs: list[tuple[str, Any]] = []
    config = getattr(model, "config", None)
    if config is not None:
        configs.append(("config", config))
        for sub in ("text_config", "language_config", "thinker_config", "llm_config"):
            if getattr(config, sub, None) is not None:
                configs.append((f"config.{sub}", getattr(config, sub)))
    for where, cfg in configs:
        for key in TOP_K_KEYS:
            value = getattr(cfg, key, None)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value, f"{where}.{key}"
    for path, module in model.named_modules():
        for key in ("top_k", "num_experts_per_tok"):
            value = module.__dict__.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value, f"{path}.{key}"
    return None, ""
