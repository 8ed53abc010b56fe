"""Audio as audio towers read it: log-mel features oriented and stacked as the tower takes
them, raw samples with their channel, and masks that mark every frame valid."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from netcost.hf.draft import Draft
from netcost.hf.keys import AUDIO_MASKS, COMMON_MEL_BINS, SAMPLES_PER_FRAME
from netcost.hf.select import required
from netcost.hf.shapes import audio_frames, first_layer
from netcost.hf.source import negates
from netcost.hf.spec import Input, filled


def owner(model: nn.Module, method: str) -> nn.Module | None:
    """The model, or the base model a head wraps (`model.model`), that has `method`."""
    for candidate in (model, getattr(model, "model", None)):
        if isinstance(candidate, nn.Module) and hasattr(candidate, method):
            return candidate
    return None


def orient_features(d: Draft) -> None:
    """Log-mel features as the audio tower reads them: where its own feature method (or, for an
    encoder alone, its forward) fails on mel × frames or frames × mel and runs on the other
    (Qwen3-ASR reads frames last behind a Conv2d), the other it is; or k frames stacked, where
    the tower's first layer is a Linear k · mel wide (Granite Speech 5); or the common mel bins
    where the config names none (Gemma 4's audio: 128)."""
    if len(d.shape("input_features")) != 3:
        return
    masks = set(AUDIO_MASKS["input_features"])
    if hasattr(d.model, "get_audio_features"):
        method = "get_audio_features"
    elif set(required(d.params)) <= {"input_features", *masks}:
        method = "forward"
    else:
        return
    mask = next((m for m in AUDIO_MASKS["input_features"] if m in d.params), None)
    valid = torch.bool if mask is not None and negates(d.model, mask) else torch.int64

    def runs(features: Input) -> bool:
        given = {"input_features": features}
        if mask is not None:  # every frame valid, frames along the longer dim, as fed
            given[mask] = filled((1, max(features.shape[1:])), 1, valid)
        return d.probe.rows(d.model, method, given) is not None

    batch, a, b = d.shape("input_features")
    if runs(Input((batch, a, b))):
        return
    candidates = [Input((batch, b, a))]
    first = first_layer(getattr(d.model, "audio_tower", d.model))
    frames, mel = a, b
    if isinstance(first, nn.Linear) and first.in_features % mel == 0 and first.in_features > mel:
        k = first.in_features // mel  # k frames stacked into its first Linear
        candidates.append(Input((batch, frames // k, first.in_features)))
    for bins in COMMON_MEL_BINS:
        if bins != mel:
            candidates += [Input((batch, frames, bins)), Input((batch, bins, frames))]
    found = next((features for features in candidates if runs(features)), None)
    if found is not None:
        d.inputs["input_features"] = found


def channel_samples(d: Draft) -> None:
    """Raw samples as (batch, 1, samples) where the audio tower's first convolution reads them
    without adding the channel itself (OmniASR) and the plain (batch, samples) fails; a padding
    mask stays (batch, samples)."""
    if len(d.shape("input_values")) != 2:
        return
    audio = owner(d.model, "get_audio_features")
    if audio is not None:
        method, target = "get_audio_features", audio
    elif set(required(d.params)) <= {"input_values", "padding_mask"}:
        method, target = "forward", d.model
    else:
        return
    given = d.given(("input_values", "padding_mask"))
    if d.probe.rows(target, method, given) is not None:
        return
    samples = Input((1, 1, *d.shape("input_values")[1:]))
    if d.probe.rows(target, method, given | {"input_values": samples}) is not None:
        d.inputs["input_values"] = samples


def every_frame_valid(d: Draft) -> None:
    """A mask of the audio's frames (or samples), every one valid: ones, boolean where the
    model negates it (Gemma 3n: `~mask`); Gemma 3n's encoder alone marks padding with True
    (none: zeros); VibeVoice's `padding_mask` over its audio's samples."""
    for name, masks in AUDIO_MASKS.items():
        if name == "input_values" and owner(d.model, "get_audio_features") is not None:
            masks = (*masks, "padding_mask")
        mask = next((m for m in masks if m in d.params), None)
        if name not in d.inputs or mask is None or mask in d.inputs:
            continue
        frames = audio_frames(d.inputs[name], d.config)
        padding = mask == "audio_mel_mask"
        dtype = torch.bool if padding or negates(d.model, mask) else torch.int64
        d.inputs[mask] = filled((1, frames), 0 if padding else 1, dtype)


METHOD = "get_audio_features"


def raw_samples_mask(d: Draft) -> None:
    """MOSS's audio feature method requires the raw samples' padding mask: the samples behind
    the frames (160 a frame), all valid."""
    audio = owner(d.model, "get_audio_features")
    if "input_features" not in d.inputs or "padding_mask" not in d.params or audio is None:
        return
    method: Callable[..., Any] = getattr(audio, METHOD)
    wants = inspect.signature(method).parameters.get("padding_mask")
    if wants is not None and wants.default is inspect.Parameter.empty:
        samples = audio_frames(d.inputs["input_features"], d.config) * SAMPLES_PER_FRAME
        d.inputs["padding_mask"] = filled((1, samples), 1)
