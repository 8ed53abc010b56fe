"""Model quirks, one rule each: a function of the `Draft` that amends the default inputs where
a model reads them otherwise (Fuyu's image as flattened patches, Whisper's mel bins as
channels, a vision-language model's image tokens in place). Each rule's docstring names the
models it is for; tests/test_hf_inputs.py holds a model of each, tests/test_hf_rules.py the
predicates. RULES runs them in order: layouts first, then masks and values, token ids last
(placeholders are counted on the final image and audio)."""

from __future__ import annotations

from collections.abc import Callable

from netcost.hf.draft import Draft
from netcost.hf.rules import audio, multimodal, series, text, vision

Rule = Callable[[Draft], None]

RULES: tuple[Rule, ...] = (
    vision.frames_as_batch,
    vision.linear_patches,
    vision.images_per_sample,
    vision.positioned_patches,
    vision.tiles_of_one_image,
    vision.naflex_patches,
    vision.image_sizes,
    audio.orient_features,
    audio.channel_samples,
    audio.every_frame_valid,
    audio.raw_samples_mask,
    series.known_values,
    text.prompt_masks,
    multimodal.one_class_prompt,
    multimodal.latent_positions,
    vision.patch_grid_sizes,
    vision.padding_images_given,
    multimodal.camera_prefix,
    multimodal.placeholder_ids,
    text.ordinary_tokens,
)
