"""What a model's own code and docstrings say about its inputs: each check one named predicate.

transformers writes some input conventions only in code (`pixel_values.size(1) != 2`) or in a
forward's docstring (`pixel_attention_mask (... of shape (batch_size, num_tiles))`). Each
predicate here reads one such sentence; tests/test_hf_rules.py gives each a class that says it
and one that does not.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from torch import nn


def source_of(obj: Any) -> str:
    """The source text of a class, function or module; empty where Python has none."""
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return ""


def module_source(model: nn.Module) -> str:
    """The source of the file that defines the model's class."""
    module = inspect.getmodule(type(model))
    return source_of(module) if module is not None else ""


def forward_doc(model: Any) -> str:
    return inspect.getdoc(getattr(model, "forward", None)) or ""


#: Idefics2/3, SmolVLM: images whose every value is 0 are padding, dropped before the tower.
PADDING_IMAGES = re.compile(r"== 0\.0\)\.sum\(dim=\(-1, -2, -3\)\)")


def drops_padding_images(model: nn.Module) -> bool:
    """Whether the model's own code tests its pixels' values for all-zero padding images."""
    return PADDING_IMAGES.search(module_source(model)) is not None


#: A forward that takes tiles with a mask of the real ones, required with the pixels.
TILE_MASK = re.compile(
    r"pixel_attention_mask \(`torch\.BoolTensor` of shape `\(batch_size, num_tiles\)`"
)


def masks_tiles(model: nn.Module) -> bool:
    """Whether the forward's docstring asks for `pixel_attention_mask` as (batch, tiles) with
    `pixel_values` (Granite-Docling: (batch, tiles, C, H, W))."""
    doc = forward_doc(model)
    return TILE_MASK.search(doc) is not None and "Required with `pixel_values`" in doc


IMAGE_PAIRS = re.compile(r"pixel_values\.size\(1\) != 2|\(batch_size, 2, num_channels")


def reads_image_pairs(model: nn.Module) -> bool:
    """Whether the model's own code wants its images in pairs (EfficientLoFTR, LightGlue)."""
    return IMAGE_PAIRS.search(module_source(model)) is not None


#: `batch, images, channels, height, width = pixel_values.shape`: a stack of images per sample.
STACKED_IMAGES = re.compile(
    r"^\s*\w+,\s*\w+,\s*\w+,\s*\w+,\s*\w+\s*=\s*pixel_values\.shape\b", re.M
)
#: `batch, channels, height, width = pixel_values.shape`: one image per sample.
SINGLE_IMAGES = re.compile(r"^\s*(\w+,\s*){3}\w+\s*=\s*pixel_values\.shape\b", re.M)
#: `pixel_values.flatten(0, 1)`: images per sample folded into the batch (IDEFICS).
FOLDED_STACKS = re.compile(r"pixel_values\s*=\s*pixel_values\.flatten\(0,\s*1\)")


def reads_image_stacks(model: nn.Module) -> bool:
    """Whether the model's own code unpacks pixel_values as five dims (Idefics2/3, SmolVLM) or
    folds its images per sample into the batch (IDEFICS)."""
    source = source_of(type(model))
    return STACKED_IMAGES.search(source) is not None or FOLDED_STACKS.search(source) is not None


def folds_frames(model: nn.Module) -> bool:
    """Whether a video model's tower takes its frames as a batch of images: neither the model
    nor its patch embedding unpacks five dims, and the embedding unpacks four (X-CLIP's vision
    model alone; VideoMAE's embedding unpacks five)."""
    if reads_image_stacks(model):
        return False
    for path, module in model.named_modules():
        if isinstance(module, nn.Conv2d | nn.Conv3d):
            parent = model.get_submodule(path.rpartition(".")[0]) if "." in path else model
            source = source_of(type(parent))
            return SINGLE_IMAGES.search(source) is not None and not reads_image_stacks(parent)
    return False


def negates(model: nn.Module, name: str) -> bool:
    """Whether the model's own code negates the input `name` with `~`: a boolean mask."""
    return f"~{name}" in source_of(type(model))


def refuses_ids(model: nn.Module) -> bool:
    """Whether the forward raises on token ids (it takes embeddings only: Qwen3-Omni's code
    predictor)."""
    return "`input_ids` is expected to be `None`" in source_of(type(model).forward)


def codebooks_last(model: nn.Module) -> bool:
    """Whether the forward's docstring takes decoder ids as (batch, length, codebooks) (Dia)."""
    return "(batch_size, target_sequence_length, num_codebooks)" in forward_doc(model)


#: The docstring's layout of pixels as one square of patches per image token.
TOKEN_SQUARES = "patch_size * spatial_merge_size, patch_size * spatial_merge_size, num_channels"


def token_squares(model: nn.Module) -> bool:
    """Whether the model's docstrings take pixels as one (p·m) × (p·m) × C square per image
    token (Inkling 2)."""
    for owner in (model, getattr(model, "vision_tower", None), getattr(model, "model", None)):
        for name in ("forward", "get_image_features"):
            if TOKEN_SQUARES in (inspect.getdoc(getattr(owner, name, None)) or ""):
                return True
    return False


def sums_audio_into_tokens(owner: nn.Module | None) -> bool:
    """Whether the forward adds each audio embedding to a token's (Voxtral Realtime:
    `inputs_embeds += audio_embeds`), one token per audio embedding."""
    source = source_of(type(owner).forward) if owner is not None else ""
    return "inputs_embeds += audio_embeds" in source


def masks_audio_features(model: nn.Module) -> bool:
    """Whether the forward's docstring says its `input_features_mask` selects audio features,
    not frames (Granite Speech)."""
    return "applied to audio features" in forward_doc(model)


def sums_offset_codebooks(module: nn.Module, buffer: str) -> bool:
    """Whether the module's forward adds its `buffer` of per-codebook offsets to the ids and sums
    the embeddings of each step (Kyutai)."""
    source = source_of(type(module).forward)
    return f"self.{buffer}" in source and ".sum(" in source


def documented_shape(model: nn.Module, name: str) -> tuple[str, list[str]] | None:
    """The type and the dims the forward's docstring gives argument `name`: `latents
    (torch.Tensor of shape (batch_size, hidden_size, frames))` -> ("torch.Tensor",
    ["batch_size", "hidden_size", "frames"]); None where it gives none."""
    pattern = rf"^\s*{re.escape(name)} \(`([^`]*)`[^\n]*?shape `[(\[]([^`]*)[)\]]`"
    found = re.search(pattern, forward_doc(model), re.M)
    if not found:
        return None
    return found.group(1), [d.strip() for d in found.group(2).split(",") if d.strip()]
