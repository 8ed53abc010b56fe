"""Which inputs a transformers model is fed: its main input, every argument its forward
requires, and each modality it has a tower for (a CLIP-like model without its image has not
been analysed), with the inputs forwards read together. Each selector adds names, in order."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from netcost.hf.config import dotted
from netcost.hf.keys import (
    AUDIO_INPUTS,
    IMAGE_INPUTS,
    IMAGE_SIZE_PATHS,
    INPUT_GROUPS,
    TEXT_INPUTS,
    VIDEO_INPUTS,
)
from netcost.hf.source import refuses_ids


def forward_params(model: nn.Module) -> dict[str, inspect.Parameter]:
    """The forward's named parameters (no *args, **kwargs); {} where it has no signature."""
    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return {}
    return {n: p for n, p in params.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def required(params: dict[str, inspect.Parameter]) -> list[str]:
    return [n for n, p in params.items() if p.default is inspect.Parameter.empty and n != "self"]


@dataclass
class Wanted:
    """The names chosen so far, for one model."""

    model: nn.Module
    config: Any
    params: dict[str, inspect.Parameter]
    names: list[str]

    def add(self, *names: str) -> None:
        """Each name the forward takes, once."""
        self.names += [n for n in names if n in self.params and n not in self.names]


def main_and_required(w: Wanted) -> None:
    """The model's main input (embeddings where the forward refuses ids: Qwen3-Omni's code
    predictor), then every argument without a default."""
    main = getattr(w.model, "main_input_name", "input_ids")
    if main == "input_ids" and "inputs_embeds" in w.params and refuses_ids(w.model):
        main = "inputs_embeds"
    w.names += [main] if main in w.params or not w.params else []
    w.names += [n for n in required(w.params) if n not in w.names]


#: Each modality's inputs and the config keys of its tower.
MODALITIES = (
    (TEXT_INPUTS, ("text_config",)),
    (IMAGE_INPUTS, ("vision_config",)),
    (AUDIO_INPUTS, ("audio_config", "speech_config", "encoder_config")),
)


def every_tower(w: Wanted) -> None:
    """A multi-modal model (towers' configs for two modalities or more, not None placeholders):
    the first input of every tower it has."""

    def has(keys: tuple[str, ...]) -> bool:
        return any(getattr(w.config, c, None) is not None for c in keys)

    if sum(has(keys) for _, keys in MODALITIES) > 1:
        for names, keys in MODALITIES:
            if has(keys):
                w.names += [n for n in names if n in w.params and n not in w.names][:1]


def an_image_where_it_sees(w: Wanted) -> None:
    """A model with a vision side (a config without one has no tower) sees an image."""
    pictures = [n for n in (*IMAGE_INPUTS, *VIDEO_INPUTS) if n in w.params]
    paths = (*IMAGE_SIZE_PATHS, "vision_config", "video_config", "encoder.vision_config")
    sees = any(dotted(w.config, p) for p in paths)
    if pictures and sees and not any(n in w.names for n in pictures):
        w.names.append(pictures[0])
    if not w.names and "input_ids" in w.params:  # a text tower whose main input is named
        w.names.append("input_ids")  # otherwise


def read_with_the_image(w: Wanted) -> None:
    """Kosmos-2's latent positions go with its image; MiniCPM's vision tower alone takes each
    image's patch grid (models with token ids derive it)."""
    with_image = any(n in w.names for n in IMAGE_INPUTS)
    for name in ("image_embeds_position_mask", "target_sizes"):
        alone = name == "image_embeds_position_mask" or "input_ids" not in w.params
        if name in w.params and with_image and alone:
            w.names.append(name)


def model_specific(w: Wanted) -> None:
    """A Q-Former alone attends to an encoder; inputs read together (INPUT_GROUPS); an
    encoder-decoder's decoder tokens; SpeechT5 alone its decoder's hidden states; layout boxes;
    PI0's image and text with its actions; X-MOD's language of each token."""
    config, params = w.config, w.params
    if "encoder_hidden_states" in params and hasattr(config, "encoder_hidden_size"):
        w.names.append("encoder_hidden_states")
    for group in INPUT_GROUPS:  # all or none
        if group[0] in params:
            w.add(*group)
    if getattr(config, "is_encoder_decoder", False) and "decoder_input_ids" in params:
        w.names.append("decoder_input_ids")
    decoder = getattr(w.model, "decoder", None)
    if "decoder_input_values" in params and type(decoder).__name__.endswith("WithoutPrenet"):
        w.names.append("decoder_input_values")
    if "bbox" in params:
        w.names.append("bbox")
    if "action_embeds" in params and getattr(config, "vlm_config", None) is not None:
        w.add("input_ids", "pixel_values")
    if "lang_ids" in params and getattr(config, "languages", None):  # its first language
        w.names.append("lang_ids")


SELECTORS: tuple[Callable[[Wanted], None], ...] = (
    main_and_required,
    every_tower,
    an_image_where_it_sees,
    read_with_the_image,
    model_specific,
)


def wanted(model: nn.Module, config: Any, params: dict[str, inspect.Parameter]) -> list[str]:
    """The names of the inputs to feed `model`, in order (a name may repeat; callers keep the
    first)."""
    w = Wanted(model, config, params, [])
    for selector in SELECTORS:
        selector(w)
    return w.names
