"""Token ids with each modality's features in place: one placeholder token per feature vector
the model makes of its image, audio or clip (counted by its own feature methods, a Q-Former's
queries, the audio tower's rows or the count its own check reports), then the text."""

from __future__ import annotations

import inspect
import re
from typing import Any

import torch
from torch import nn

from netcost.hf.config import first_int, sub, text_token, token_id, tokens
from netcost.hf.draft import Draft
from netcost.hf.keys import (
    AUDIO_INPUTS,
    AUDIO_MASKS,
    AUDIO_TOKEN_KEYS,
    IMAGE_COMPANIONS,
    IMAGE_INPUTS,
    IMAGE_TOKEN_KEYS,
    VIDEO_INPUTS,
    VIDEO_TOKEN_KEYS,
)
from netcost.hf.rules.audio import owner
from netcost.hf.source import masks_audio_features, sums_audio_into_tokens
from netcost.hf.spec import Input, filled, ids

#: Per modality: the config keys of its placeholder token, the method that makes its features,
#: and the inputs that method reads.
PLACEHOLDERS = (
    (IMAGE_TOKEN_KEYS, "get_image_features", (*IMAGE_INPUTS, *IMAGE_COMPANIONS)),
    (
        AUDIO_TOKEN_KEYS,
        "get_audio_features",
        (
            *AUDIO_INPUTS,
            *AUDIO_MASKS["input_features"],
            *AUDIO_MASKS["input_values"],
            "padding_mask",
        ),
    ),
    # a clip, where no image took the pixels already (InstructBLIP-Video's `pixel_values`)
    (VIDEO_TOKEN_KEYS, "get_video_features", (*VIDEO_INPUTS, "pixel_values")),
)


def one_class_prompt(d: Draft) -> None:
    """OmDet: one class prompt per sample."""
    if "classes_structure" in d.inputs:
        d.inputs["classes_structure"] = filled(d.shape("classes_structure"), 1)


def latent_positions(d: Draft) -> None:
    """Kosmos-2: its image's `latent_query_num` latents go after the first token."""
    if "image_embeds_position_mask" in d.inputs:
        shape = d.shape("image_embeds_position_mask")
        latents = first_int(d.config, ("latent_query_num",), 64)
        mask = torch.zeros(shape, dtype=torch.int64)
        mask[..., 1 : 1 + latents] = 1
        d.inputs["image_embeds_position_mask"] = Input.of(mask)


def camera_prefix(d: Draft) -> None:
    """PI0's prefix: one camera (its mask: present), its image's (224 / 14)² = 256 tokens of
    the vision-language model, then the text."""
    if "action_embeds" not in d.inputs or "pixel_values" not in d.inputs:
        return
    vlm = getattr(d.config, "vlm_config", None)
    vision = getattr(vlm, "vision_config", None)
    token = getattr(vlm, "image_token_id", None)
    if vision is None or not isinstance(token, int):
        return
    count = (vision.image_size // vision.patch_size) ** 2
    d.inputs["input_ids"] = ids([token] * count + [text_token(d.config, token)] * tokens(d.config))
    d.inputs["pixel_attention_mask"] = filled((1, 1), True, torch.bool)


def placeholder_ids(d: Draft) -> None:
    """Token ids for a multi-modal model: one placeholder token per feature vector the model
    makes of each default input, images first, then the text tokens; Voxtral Realtime's one
    token per audio embedding it adds to a token's. Granite Speech's `input_features_mask` then
    selects audio features, not frames: one True per audio placeholder."""
    if "input_ids" not in d.inputs or d.inputs["input_ids"].values is not None:
        return
    placed = _placeholders(d)
    if placed is None:
        return
    d.inputs["input_ids"] = placed
    audio_token = token_id(d.config, AUDIO_TOKEN_KEYS)
    if (
        "input_features_mask" in d.inputs
        and masks_audio_features(d.model)
        and audio_token is not None
    ):
        count = int((placed.tensor() == audio_token).sum())
        d.inputs["input_features_mask"] = filled((1, count), True, torch.bool)


def _placeholders(d: Draft) -> Input | None:
    """The ids, or None when no modality has both a placeholder token and an input."""
    config = d.config
    placed: list[int] = []
    placeholders: set[int] = set()
    used: set[str] = set()
    for keys, method, inputs in PLACEHOLDERS:
        token = token_id(config, keys)
        given = {n: i for n, i in d.given(inputs).items() if n not in used}
        if token is None or not given:
            continue
        count = _feature_count(d, method, given, token)
        if count is not None:
            placed += [token] * count
            placeholders.add(token)
            used |= set(given)
    if not placed and (summed := _summed_audio(d)):
        return filled((1, summed), text_token(config))
    if not placed:
        return None
    return ids(placed + [text_token(config, *placeholders)] * tokens(config))


def _feature_count(d: Draft, method: str, given: dict[str, Input], token: int) -> int | None:
    """How many features `method` makes of `given`: a Q-Former's queries whatever the method;
    the model's own method; the count its own check reports where it reads the ids (Music
    Flamingo); Qwen2-Audio's audio tower's rows (no method); T5Gemma 2's encoder's pooled
    count (no method)."""
    config = d.config
    features = _query_tokens(config, given)
    holder = owner(d.model, method)
    if features is None and holder is not None:
        features = d.probe.rows(holder, method, given)
    if features is None and holder is not None and _needs_ids(holder, method):
        features = _told_count(d, holder, method, given, token)
    elif features is None and method == "get_audio_features" and "input_features" in given:
        tower = getattr(d.model, "audio_tower", None)  # (Qwen2-Audio: after its pooling)
        if isinstance(tower, nn.Module):
            one = {"input_features": given["input_features"]}
            features = d.probe.rows(tower, "forward", one, config=sub(config, "audio_config"))
    elif features is None and method == "get_image_features":
        pooled = getattr(sub(config, "encoder"), "mm_tokens_per_image", None)
        features = pooled if isinstance(pooled, int) else None
    return features


def _summed_audio(d: Draft) -> int | None:
    """Voxtral Realtime adds each audio embedding to a token's (`inputs_embeds +=
    audio_embeds`): one token per audio embedding, however many its features make."""
    holder = owner(d.model, "get_audio_features")
    if holder is None or not sums_audio_into_tokens(holder):
        return None
    given = d.given((*AUDIO_INPUTS, *AUDIO_MASKS["input_features"]))
    return d.probe.rows(holder, "get_audio_features", given) if given else None


def _needs_ids(holder: nn.Module, method: str) -> bool:
    """Whether `method` requires the token ids it places its features in."""
    wants = inspect.signature(getattr(holder, method)).parameters.get("input_ids")
    return wants is not None and wants.default is inspect.Parameter.empty


#: What a model says when its placeholders and its features differ in number.
TOLD_FEATURES = re.compile(r"tokens: 0, features:? (\d+)")


def _told_count(
    d: Draft, holder: nn.Module, method: str, given: dict[str, Input], token: int
) -> int | None:
    """A feature method that reads the token ids it places its features in (Music Flamingo's
    audio): run it on text alone, take the count its own check reports, and keep that count
    only where the method then runs on as many placeholders."""
    text = [text_token(d.config, token)] * tokens(d.config)
    errors: list[str] = []
    if d.probe.rows(holder, method, {**given, "input_ids": ids(text)}, errors) is not None:
        return None
    said = TOLD_FEATURES.search(errors[0]) if errors else None
    if said is None:
        return None
    count = int(said[1])
    trial = {**given, "input_ids": ids([token] * count + text)}
    return count if d.probe.rows(holder, method, trial) is not None else None


def _query_tokens(config: Any, given: dict[str, Input]) -> int | None:
    """A Q-Former model hands the text model `num_query_tokens` features per image, per frame of
    a clip (B × F × C × H × W), whatever its feature method returns (BLIP-2's gives the vision
    tower's pooled output; InstructBLIP-Video has none)."""
    queries = getattr(config, "num_query_tokens", None)
    if not isinstance(queries, int):
        return None
    shape = next(iter(given.values())).shape
    return queries * (shape[1] if len(shape) == 5 else 1)


def grid_image_tokens(d: Draft, names: list[str], count: int) -> None:
    """A patch-grid model's token ids (Qwen2-VL and kin): its image tokens (as many as its own
    `get_image_features` makes, else `count`) before the text, first among the inputs; M-RoPE's
    `mm_token_type_ids` mark them."""
    config = d.config
    image_token = token_id(config, IMAGE_TOKEN_KEYS)
    if "input_ids" not in names and image_token is None:
        return
    text = [text_token(config, image_token or -1)] * tokens(config)
    if image_token is not None and hasattr(d.model, "get_image_features"):  # the model's own
        made = d.probe.rows(d.model, "get_image_features", d.inputs)
        count = made if made is not None else count
    placed = ids([image_token] * count + text if image_token is not None else text)
    d.inputs = {"input_ids": placed, **d.inputs}
    if "mm_token_type_ids" in d.params:  # 1 marks an image token
        marks = [int(t == image_token) for t in placed.tensor()[0].tolist()]
        d.inputs["mm_token_type_ids"] = Input.of(torch.tensor([marks], dtype=torch.int64))
