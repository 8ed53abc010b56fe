"""`hf_inputs`: the default inputs of a transformers model (the package's entry point)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from netcost.hf.draft import Draft
from netcost.hf.rules import RULES, multimodal, vision
from netcost.hf.select import forward_params, wanted
from netcost.hf.shapes import spec_for


def hf_inputs(
    model: nn.Module, config: Any
) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, torch.Tensor]]:
    """(names, specs, values) of the inputs to feed `model` by keyword; values: inputs whose
    values matter (a vision-language model's token ids with its image tokens in place)."""
    params = forward_params(model)
    names = wanted(model, config, params)
    draft = Draft(model, config, params)
    grid = "image_grid_thw" if "image_grid_thw" in params else "grid_thw"
    if grid in params:  # images as flattened patches with their grid (Qwen2-VL and kin)
        count = vision.patch_grid(draft, names, grid)
        multimodal.grid_image_tokens(draft, names, count)
        return draft.result()
    for name in dict.fromkeys(names):
        default = spec_for(name, config, model)
        if default is not None:
            draft.inputs[name] = default
    for rule in RULES:
        rule(draft)
    return draft.result()
