"""Text: prompt masks that attend to every token, each token's language, and token ids an
ordinary token."""

from __future__ import annotations

import torch

from netcost.hf.config import text_token
from netcost.hf.draft import Draft
from netcost.hf.keys import TOKEN_INPUTS
from netcost.hf.spec import filled


def prompt_masks(d: Draft) -> None:
    """Every `…_attention_mask` but the decoder's (whose absence means causal) attends to every
    token: ones, of the mask's dtype where boolean; X-MOD's language of every token: its first
    (0)."""
    for name, given in d.inputs.items():
        if name.endswith("_attention_mask") and name != "decoder_attention_mask":
            dtype = given.dtype if given.dtype == torch.bool else torch.int64
            d.inputs[name] = filled(given.shape, 1, dtype)
    if "lang_ids" in d.inputs:
        d.inputs["lang_ids"] = filled(d.shape("lang_ids"), 0)


def ordinary_tokens(d: Draft) -> None:
    """Token ids whose values no rule placed: one ordinary (non-special) token everywhere, so
    that masks a model derives from them (padding, lengths) are exact."""
    token = text_token(d.config)
    for name in TOKEN_INPUTS:
        if name in d.inputs and d.inputs[name].values is None:
            d.inputs[name] = filled(d.shape(name), token)
