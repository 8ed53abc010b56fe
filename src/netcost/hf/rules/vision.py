"""Images as vision towers read them: frames as a batch, flattened patches, pairs, stacks and
tiles, patches with their positions or grid, any-resolution tiles, and the pixels' values where
a model tests them."""

from __future__ import annotations

import sys
from math import isqrt
from typing import Any

import torch
from torch import nn

from netcost.hf.config import first_int, sub
from netcost.hf.draft import Draft
from netcost.hf.keys import GRID_IMAGE_SIDE
from netcost.hf.source import (
    drops_padding_images,
    folds_frames,
    masks_tiles,
    reads_image_pairs,
    reads_image_stacks,
    token_squares,
)
from netcost.hf.spec import LONG, Input, filled
from netcost.inputs import with_known_values


def frames_as_batch(d: Draft) -> None:
    """X-CLIP's vision tower alone takes a clip's frames as a batch of images: (F, C, H, W)."""
    if len(d.shape("pixel_values")) == 5 and folds_frames(d.model):
        d.inputs["pixel_values"] = d.inputs["pixel_values"].resized(*d.shape("pixel_values")[1:])


def linear_patches(d: Draft) -> None:
    """Fuyu: an image as flattened patches, (1, (H/p)·(W/p), C·p²), where the image's first
    layer is a Linear of C·p² inputs (not LeViT, whose first is a convolution) and the model's
    own feature method fails on the image itself (RADIO patches it itself)."""
    p = first_int(d.config, ("patch_size",), 0)
    if len(d.shape("pixel_values")) != 4 or not p:
        return
    batch, channels, h, w = d.shape("pixel_values")
    flat = channels * p * p
    first = next(
        (
            m
            for path, m in d.model.named_modules()
            if isinstance(m, nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d)
            and any(word in path for word in ("vis", "patch", "image"))
        ),
        None,
    )
    if not isinstance(first, nn.Linear) or first.in_features != flat or h % p or w % p:
        return
    method = "get_image_features" if hasattr(d.model, "get_image_features") else "forward"
    if method == "forward" and "input_ids" in d.params:
        return  # no way to try the image alone
    if d.probe.rows(d.model, method, {"pixel_values": Input((batch, channels, h, w))}) is not None:
        return  # the model patches the image itself (RADIO)
    d.inputs["pixel_values"] = Input((batch, (h // p) * (w // p), flat))


def images_per_sample(d: Draft) -> None:
    """An image where the code reads several per sample: pairs for keypoint matching
    (EfficientLoFTR, LightGlue: (B, 2, C, H, W)); a stack of one (Idefics2/3, SmolVLM; IDEFICS
    with which image each token attends to: all see it); one real tile of a tiled image, with
    its mask (Granite-Docling)."""
    if len(d.shape("pixel_values")) != 4:
        return
    batch, *picture = d.shape("pixel_values")
    if reads_image_pairs(d.model):
        d.inputs["pixel_values"] = Input((batch, 2, *picture))
    elif reads_image_stacks(d.model):
        d.inputs["pixel_values"] = Input((batch, 1, *picture))
        if "image_attention_mask" in d.params and "input_ids" in d.inputs:
            length = d.shape("input_ids")[-1]
            d.inputs["image_attention_mask"] = filled((1, length, 1), 1)
    if "pixel_attention_mask" in d.params and masks_tiles(d.model):
        d.inputs["pixel_values"] = Input((batch, 1, *picture))
        d.inputs["pixel_attention_mask"] = filled((1, 1), True, torch.bool)


def positioned_patches(d: Draft) -> None:
    """Gemma 4's vision tower: an image as its P flattened patches (3 · p² values each) with
    each patch's (x, y), the grid a whole number of k × k pools a side: 224 px at p = 16 and
    k = 3 is ⌈224 / 48⌉ · 3 = 15 patches a side, P = 225."""
    if "pixel_position_ids" not in d.params or "pixel_values" not in d.inputs:
        return
    vision = sub(d.config, "vision_config")
    p = first_int(vision, ("patch_size",), 16)
    k = first_int(vision, ("pooling_kernel_size",), 1)
    side = -(-GRID_IMAGE_SIDE // (p * k)) * k
    rows, cols = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
    positions = torch.stack([cols.flatten(), rows.flatten()], dim=-1)[None]
    d.inputs["pixel_values"] = Input((1, side * side, 3 * p * p))
    d.inputs["pixel_position_ids"] = Input.of(positions)


def tiles_of_one_image(d: Draft) -> None:
    """Mllama: one image as its `max_num_tiles` tiles, aspect ratio 1 (the first tile used)."""
    if "pixel_values" not in d.inputs or "aspect_ratio_ids" not in d.params:
        return
    tiles = first_int(sub(d.config, "vision_config"), ("max_num_tiles",), 4)
    batch, *picture = d.shape("pixel_values")
    d.inputs["pixel_values"] = Input((batch, 1, tiles, *picture[-3:]))
    d.inputs["aspect_ratio_ids"] = filled((1, 1), 1)
    d.inputs["aspect_ratio_mask"] = Input.of(torch.tensor([[[1] + [0] * (tiles - 1)]]))


def naflex_patches(d: Draft) -> None:
    """An image as SigLIP2-style (NaFlex) models take it: g × g patches (g² = the vision
    config's `num_patches`, else image size ÷ patch size), each flattened to C·p² values, every
    patch valid, with the grid's shape."""
    if "pixel_values" not in d.inputs or "spatial_shapes" not in d.params:
        return
    vision = sub(d.config, "vision_config")
    p = first_int(vision, ("patch_size",), 16)
    channels = first_int(vision, ("num_channels",), 3)
    side = d.shape("pixel_values")[-1]
    g = isqrt(first_int(vision, ("num_patches",), (side // p) ** 2))
    d.inputs["pixel_values"] = Input((1, g * g, channels * p * p))
    d.inputs["pixel_attention_mask"] = filled((1, g * g), 1)
    d.inputs["spatial_shapes"] = Input.of(torch.tensor([[g, g]], dtype=LONG))


def image_sizes(d: Draft) -> None:
    """Each image's (height, width) where the model reads it: an any-resolution model's image
    as its grid's tiles plus a thumbnail (LLaVA-NeXT); a tower that patches images at their own
    size (Pixtral); a feature method that fails without it (Apertus)."""
    if "pixel_values" not in d.inputs or "image_sizes" not in d.params:
        return
    h, w = d.shape("pixel_values")[-2:]
    tiles = _any_resolution_tiles(d.model, d.config, (h, w))
    if tiles is not None:
        d.inputs["pixel_values"] = Input((1, tiles, *d.shape("pixel_values")[-3:]))
    sizes = Input.of(torch.tensor([[h, w]], dtype=LONG))
    if tiles is not None or _reads_image_sizes(d.model) or _needs_sizes(d, sizes):
        d.inputs["image_sizes"] = sizes


def _any_resolution_tiles(model: nn.Module, config: Any, size: tuple[int, int]) -> int | None:
    """How many tiles an any-resolution model cuts an image of `size` into, by its own
    `image_size_to_num_patches` and the config's grid pinpoints; None for others."""
    module = sys.modules.get(type(model).__module__)
    count = getattr(module, "image_size_to_num_patches", None)
    pinpoints = getattr(config, "image_grid_pinpoints", None)
    if count is None or not pinpoints:
        return None
    tile = first_int(sub(config, "vision_config"), ("image_size",), size[0])
    return int(count(size, pinpoints, tile))


def _reads_image_sizes(model: nn.Module) -> bool:
    """Whether the vision tower has a `patch_size` of its own (Pixtral): it patches images at
    their own size; CLIP-like towers take none."""
    towers = ("vision_tower", "vision_model", "vision_encoder")
    tower = next((m for n, m in model.named_children() if n in towers), None)
    return isinstance(getattr(tower, "patch_size", None), int)


def _needs_sizes(d: Draft, sizes: Input) -> bool:
    """Whether the model's own `get_image_features` fails on the image alone and runs with its
    size (Apertus)."""
    if not hasattr(d.model, "get_image_features"):
        return False
    image = {"pixel_values": Input(d.shape("pixel_values"))}
    if d.probe.rows(d.model, "get_image_features", image) is not None:
        return False
    return d.probe.rows(d.model, "get_image_features", {**image, "image_sizes": sizes}) is not None


def patch_grid_sizes(d: Draft) -> None:
    """MiniCPM's vision tower alone: each image's patch grid, (H / p, W / p)."""
    if "target_sizes" in d.inputs and "pixel_values" in d.inputs:
        h, w = d.shape("pixel_values")[-2:]
        p = first_int(sub(d.config, "vision_config"), ("patch_size",), 14)
        d.inputs["target_sizes"] = Input.of(torch.tensor([[h // p, w // p]], dtype=LONG))


def padding_images_given(d: Draft) -> None:
    """Idefics2/3, SmolVLM drop images whose every value is 0 as padding: the pixels get
    values, a real (all-ones) image."""
    if "pixel_values" in d.inputs and drops_padding_images(d.model):
        shape = d.shape("pixel_values")
        d.inputs["pixel_values"] = Input(shape, values=with_known_values(torch.ones(shape)))


def patch_layouts(model: nn.Module, n: int, flat: int) -> list[Input]:
    """The ways n patches may be laid out, likeliest first: flattened to the vision tower's
    first Linear's width, or to C·t·p² (a Conv3d or Conv2d embedding reshapes them itself);
    as N images of C × p × p for a Conv2d, with and without a leading batch dim."""
    linear = None
    for path, module in model.named_modules():
        vision = "vis" in path or "Vision" in type(model).__name__
        if not vision or not isinstance(module, nn.Linear | nn.Conv2d | nn.Conv3d):
            continue
        if isinstance(module, nn.Linear):  # a Linear registered before the patch embedding
            linear = linear or module  # may be a merger's (Qwen3-Omni): convolutions first
            continue
        if isinstance(module, nn.Conv2d):
            c, (kh, kw) = module.in_channels, module.kernel_size
            return [Input((n, flat)), Input((n, c, kh, kw)), Input((1, n, c, kh, kw))]
        return [Input((n, flat))]
    return [Input((n, linear.in_features))] if linear is not None else [Input((n, flat))]


def patch_grid(d: Draft, names: list[str], grid: str) -> int:
    """One 224-pixel image as Qwen2-VL-style models take it: g × g patches of p pixels (g a
    multiple of the spatial merge m), each flattened over channels and `temporal_patch_size`
    frames, with its grid (1, g, g). Inkling 2 reads one (p·m)² square per image token. Returns
    the image tokens a language model gets by the grid, g²/m² (multimodal.grid_image_tokens
    asks the model's own feature method first)."""
    vision = sub(d.config, "vision_config")
    p = first_int(vision, ("patch_size",), 14)
    t = first_int(vision, ("temporal_patch_size",), 1)
    m = first_int(vision, ("spatial_merge_size", "merge_size"), 1)
    channels = first_int(vision, ("in_channels", "num_channels", "in_chans"), 3)
    g = max(m, GRID_IMAGE_SIDE // (p * m) * m)
    sides = torch.tensor([[1, g, g]], dtype=LONG)
    alone = grid == "grid_thw" and "pixel_values" not in names
    pixels = "hidden_states" if alone else "pixel_values"
    layouts = patch_layouts(d.model, g * g, channels * t * p * p)
    if token_squares(d.model):  # its grid counted in tokens
        n = g // m
        sides = torch.tensor([[1, n, n]], dtype=LONG)
        layouts = [Input((n * n, p * m, p * m, channels))]
    d.inputs = {pixels: layouts[0], grid: Input((1, 3), LONG, sides)}
    merges = next((n for n in ("image_merge_sizes", "merge_sizes") if n in d.params), None)
    if merges is not None:  # VideoLLaMA3: each image's spatial merge
        d.inputs[merges] = Input.of(torch.tensor([m], dtype=LONG))
    method = "get_image_features" if hasattr(d.model, "get_image_features") else "forward"
    for layout in layouts if len(layouts) > 1 else []:  # the first the vision tower takes
        trial = {**d.inputs, pixels: layout}
        if d.probe.rows(d.model, method, trial) is not None:
            d.inputs = trial
            break
    return g * g // (m * m)
