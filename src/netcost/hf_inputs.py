"""Default inputs for a transformers model, from its forward signature and its config.

Every tensor argument the forward requires gets a tensor, and so does each modality of a
multi-modal model (a CLIP-like model without its image has not been analysed): tokens for text
(128, or fewer where the text config allows fewer positions), an image at the vision config's
size (a clip of `num_frames` for video models), one second of 16 kHz audio or the feature layout
the audio config describes, layout boxes, decoder tokens for encoder-decoders. The command line
prints which inputs were used, so `--input` can change them.
"""

from __future__ import annotations

import inspect
import re
import sys
from math import isqrt, prod
from typing import Any

import torch
from torch import nn

from netcost.inputs import parse_input, shape_only, with_known_values

TOKENS = 128
AUDIO_SAMPLES = 16_000  # one second at 16 kHz, what wav2vec2-style models take
POSITION_KEYS = ("max_position_embeddings", "n_positions", "max_text_len", "max_seq_len")
TEXT_INPUTS = ("input_ids",)
IMAGE_INPUTS = ("pixel_values",)
VIDEO_INPUTS = ("pixel_values_videos",)
AUDIO_INPUTS = ("input_values", "input_features")
#: Masks of valid audio frames (processors give ones where there is no padding), by the input.
AUDIO_MASKS = {
    "input_features": ("input_features_mask", "feature_attention_mask"),
    "audio_mel": ("audio_mel_mask",),  # Gemma 3n's audio encoder alone: True marks padding
    "input_values": ("input_values_mask",),
}
#: Time-series inputs with known values: no padding, frequency class 0 (high).
SERIES_VALUES = {"past_values_padding": 0, "freq": 0, "lang_ids": 0}


def _sub(config: Any, *names: str) -> Any:
    """The first nested config of those names, else the config itself."""
    for name in names:
        sub = getattr(config, name, None)
        if sub is not None and not isinstance(sub, dict):
            return sub
    return config


def _forward_params(model: nn.Module) -> dict[str, inspect.Parameter]:
    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return {}
    return {n: p for n, p in params.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def tokens(config: Any) -> int:
    """128, or the text config's position limit when smaller (CLIP's text tower: 77)."""
    text = _sub(config, "text_config", "decoder")
    limits = [getattr(text, k) for k in POSITION_KEYS if isinstance(getattr(text, k, None), int)]
    return min([TOKENS, *[n for n in limits if n > 0]])


#: Where configs keep the image size, first match wins: the vision tower's (FLAVA: image
#: config), its backbone's (SAM 2), the model's, the prompt encoder's (EdgeTAM), TVP's maximum,
#: LayoutLMv3's input size.
IMAGE_SIZE_PATHS = (
    "vision_config.image_size",
    "encoder.vision_config.image_size",  # T5Gemma 2: the encoder's image tower
    "image_config.image_size",
    "vision_config.backbone_config.image_size",
    "backbone_config.image_size",
    "image_size",
    "prompt_encoder_config.image_size",
    "max_img_size",
    "input_size",
)


def _dotted(config: Any, path: str) -> Any:
    for key in path.split("."):
        config = getattr(config, key, None)
        if config is None or isinstance(config, dict):
            return None
    return config


def image(config: Any) -> str:
    """An image at the config's size (224 where it names none); a clip where the vision config
    has frames; for Aria, the side whose patches its projector takes (the fewest it lists)."""
    vision = _sub(config, "vision_config", "backbone_config")
    size = next((v for p in IMAGE_SIZE_PATHS if (v := _dotted(config, p))), None) or _timm_size(
        config
    )
    ratios = getattr(config, "scaled_images_ratios", None)
    if ratios and isinstance(getattr(config, "patch_size", None), int):  # DepthPro's pyramid
        size = round(config.patch_size / min(ratios))  # its smallest scale is one patch
    queries = getattr(config, "projector_patch_to_query_dict", None)
    if isinstance(queries, dict) and queries:  # Aria: only some patch counts have queries
        size = isqrt(min(int(k) for k in queries)) * _first_int(vision, ("patch_size",), 14)
    h, w = (size, size) if isinstance(size, int) else tuple(size)[-2:]
    shuffle = (
        getattr(config, "scale_factor", None)
        or getattr(config, "pixel_shuffle_factor", None)
        or getattr(vision, "num_windows", None)
    )
    patch = _first_int(vision, ("patch_size",), 0)
    if isinstance(shuffle, int) and shuffle > 1 and patch and (h // patch) % shuffle:
        # Idefics3, SmolVLM: the connector pixel-shuffles the patch grid by `scale_factor`;
        # RF-DETR's backbone splits it into `num_windows` a side. Each side must then be a
        # whole number of p · s pixels (Idefics3's 224 pixels at patch 32 and factor 2 are 7
        # patches: rounded up to 8, 256 pixels; RF-DETR's 518 at 14 and 4 windows: 560)
        h = w = -(-max(h, w) // (patch * shuffle)) * patch * shuffle
    channels = getattr(vision, "num_channels", None) or getattr(config, "num_channels", 3)
    frames = getattr(vision, "num_frames", None)
    if isinstance(frames, int) and frames > 0:  # video: a clip of frames
        return f"1x{frames}x{channels}x{h}x{w}"
    return f"1x{channels}x{h}x{w}"


def _timm_size(config: Any, depth: int = 0) -> int | tuple[int, ...]:
    """A timm backbone's input size (a TimmWrapperConfig's `architecture`, found in the nested
    configs), from timm's pretrained config for it; 224 when there is none."""
    architecture = getattr(config, "architecture", None)
    if isinstance(architecture, str):
        try:
            import timm

            size = timm.get_pretrained_cfg(architecture).input_size
            if size:
                return tuple(size[-2:])
        except Exception:  # no timm, or an architecture it does not know
            pass
    if depth < 3:
        for key in ("vision_config", "video_config", "backbone_config"):
            sub = getattr(config, key, None)
            if sub is not None and not isinstance(sub, dict):
                found = _timm_size(sub, depth + 1)
                if found != 224:
                    return found
    return 224


def audio(name: str, config: Any, model: nn.Module | None = None) -> str:
    """Audio in the layout the config describes: raw samples (one second; codecs with their
    channel dim), a spectrogram (AST: max_length × mel bins; CLAP: 1 × 1001 × mel), Speech2Text
    frames × features, or log-mel features — mel × frames where a Conv1d reads the mel bins as
    channels (Whisper), else frames × mel (Parakeet, FastConformer)."""
    audio_config = _audio_config(config)
    mel = _mel_bins(audio_config)
    if name == "input_values":
        length = getattr(audio_config, "max_length", None)
        if isinstance(mel, int) and isinstance(length, int):  # a spectrogram (AST)
            return f"1x{length}x{mel}"
        codec = _codec_config(audio_config)
        if codec is not None:  # a codec: channels × 1 s of samples (whole hops)
            channels = _first_int(codec, ("audio_channels", "channels"), 1)
            rate = _first_int(codec, ("sampling_rate",), 0) or _first_int(
                audio_config, ("sampling_rate",), AUDIO_SAMPLES
            )
            hop = _first_int(codec, ("hop_length",), 1)
            return f"1x{channels}x{-(-rate // hop) * hop}"
        unit = getattr(audio_config, "samples_per_token", None)
        if isinstance(unit, int) and unit > 1:  # Muse Spark: whole tokens of 1,920 samples
            rate = _first_int(audio_config, ("sampling_rate",), AUDIO_SAMPLES)
            return f"1x{-(-rate // unit) * unit}"
        return f"1x{AUDIO_SAMPLES}"
    if isinstance(getattr(audio_config, "spec_size", None), int):  # CLAP: 10 s at hop 480
        return f"1x1x{CLAP_FRAMES}x{mel or 64}"
    positions = getattr(audio_config, "max_source_positions", None)
    per_channel = getattr(audio_config, "input_feat_per_channel", None)
    if isinstance(per_channel, int):  # Speech2Text: frames × features
        channels = getattr(audio_config, "input_channels", 1)
        return f"1x{TOKENS * 4}x{per_channel * channels}"
    frames = 2 * positions if isinstance(positions, int) else LOG_MEL_FRAMES
    mel = mel or 80
    stacked = _first_int(audio_config, ("num_stacked_frames",), 1)
    width = _first_int(_sub(audio_config, "semantic_model_config"), PROJECTED_KEYS, 0)
    if width:  # w2v-BERT: one second of 10 ms frames, stacked to the projection's width
        return f"1x{SECOND_FRAMES // max(1, width // mel)}x{width}"
    if stacked > 1:  # FunASR: k frames of the 30 s window stacked into one, k × mel wide
        return f"1x{min(frames, LOG_MEL_FRAMES) // stacked}x{mel * stacked}"
    if model is not None and not _reads_mel_as_channels(model, mel):
        return f"1x{frames}x{mel}"
    return f"1x{mel}x{frames}"


#: Mel bins of log-mel features in common use (Whisper v1–v2 and most: 80; Whisper v3: 128).
COMMON_MEL_BINS = (80, 128)
#: Raw samples behind one 10-millisecond log-mel frame at 16 kHz.
SAMPLES_PER_FRAME = 160
#: One second of 10-millisecond log-mel frames.
SECOND_FRAMES = 100
#: Config keys for the width of stacked feature frames (w2v-BERT's 2 × 80 mel bins).
PROJECTED_KEYS = ("feature_projection_input_dim",)


def _audio_config(config: Any) -> Any:
    """The audio tower's config: `audio_config` or `encoder_config`, also inside an
    audio-video config (PE Audio-Video); else the config itself."""
    outer = _sub(config, "audio_video_config")
    return _sub(outer, "audio_config", "encoder_config")


def _codec_config(config: Any) -> Any:
    """The (nested) config of a codec — one with up- or down-sampling ratios — or None."""
    for sub in (config, *(getattr(config, k, None) for k in CODEC_KEYS)):
        if sub is not None and any(hasattr(sub, k) for k in CODEC_RATIOS):
            return sub
    return None


CODEC_RATIOS = ("upsampling_ratios", "downsampling_ratios")
CODEC_KEYS = ("dac_config", "acoustic_model_config", "codec_config")
#: Config keys for the mel bins of log-mel features (Gemma 3n: `input_feat_size`).
MEL_KEYS = ("num_mel_bins", "input_feat_size", "n_mels", "n_mel_bins")


def _mel_bins(audio_config: Any) -> int | None:
    """The mel bins of an audio config, or of its speech encoder's (NeMo's `asr_config`)."""
    for where in (audio_config, getattr(audio_config, "asr_config", None)):
        for key in MEL_KEYS:
            if isinstance(value := getattr(where, key, None), int):
                return value
    return None


#: 30 seconds of 10-millisecond log-mel frames (Whisper's window).
LOG_MEL_FRAMES = 3000
CLAP_FRAMES = 1001


def _reads_mel_as_channels(model: nn.Module, mel: int) -> bool:
    """Whether the first convolution takes the mel bins as its input channels."""
    for module in model.modules():
        if isinstance(module, nn.Conv1d | nn.Conv2d):
            return isinstance(module, nn.Conv1d) and module.in_channels == mel
    return True


def hf_inputs(
    model: nn.Module, config: Any
) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, torch.Tensor]]:
    """(names, specs, values) of the inputs to feed `model` by keyword; values: inputs whose
    values matter (a vision-language model's token ids with its image tokens in place)."""
    params = _forward_params(model)
    main = getattr(model, "main_input_name", "input_ids")
    if main == "input_ids" and "inputs_embeds" in params and _refuses_ids(model):
        main = "inputs_embeds"  # Qwen3-Omni's code predictor: embeddings only
    wanted: list[str] = [main] if main in params or not params else []
    required = [
        n for n, p in params.items() if p.default is inspect.Parameter.empty and n != "self"
    ]
    wanted += [n for n in required if n not in wanted]
    modalities = (
        (TEXT_INPUTS, ("text_config",)),
        (IMAGE_INPUTS, ("vision_config",)),
        (AUDIO_INPUTS, ("audio_config", "speech_config", "encoder_config")),
    )

    def has(keys: tuple[str, ...]) -> bool:  # a tower's config, not a None placeholder
        return any(getattr(config, c, None) is not None for c in keys)

    if sum(has(keys) for _, keys in modalities) > 1:
        for names, keys in modalities:  # a multi-modal model: every tower it has
            if has(keys):
                wanted += [n for n in names if n in params and n not in wanted][:1]
    pictures = [n for n in (*IMAGE_INPUTS, *VIDEO_INPUTS) if n in params]
    sees = any(
        _dotted(config, p)
        for p in (*IMAGE_SIZE_PATHS, "vision_config", "video_config", "encoder.vision_config")
    )
    if pictures and sees and not any(n in wanted for n in pictures):  # a model with a vision
        wanted.append(pictures[0])  # side sees an image (a config without one has no tower)
    if not wanted and "input_ids" in params:  # a text tower whose main input is named otherwise
        wanted.append("input_ids")
    with_image = any(n in wanted for n in IMAGE_INPUTS)
    for name in ("image_embeds_position_mask", "target_sizes"):  # read with the image; target
        alone = name == "image_embeds_position_mask" or "input_ids" not in params  # sizes: a
        if name in params and with_image and alone:  # vision tower alone (models derive them)
            wanted.append(name)
    if "encoder_hidden_states" in params and hasattr(config, "encoder_hidden_size"):
        wanted.append("encoder_hidden_states")  # a Q-Former alone attends to an encoder
    for group in INPUT_GROUPS:  # inputs a forward reads together: all or none
        if group[0] in params:
            wanted += [n for n in group if n in params and n not in wanted]
    if getattr(config, "is_encoder_decoder", False) and "decoder_input_ids" in params:
        wanted.append("decoder_input_ids")
    decoder = getattr(model, "decoder", None)
    if "decoder_input_values" in params and type(decoder).__name__.endswith("WithoutPrenet"):
        wanted.append("decoder_input_values")  # SpeechT5 alone: the decoder's hidden states
    if "bbox" in params:  # layout models read a box per token
        wanted.append("bbox")
    if "action_embeds" in params and getattr(config, "vlm_config", None) is not None:
        wanted += [n for n in ("input_ids", "pixel_values") if n in params and n not in wanted]
    if "lang_ids" in params and getattr(config, "languages", None):  # X-MOD: the language
        wanted.append("lang_ids")  # adapter of each token (its first language, index 0)
    grid = "image_grid_thw" if "image_grid_thw" in params else "grid_thw"
    if grid in params:  # images as flattened patches with their grid (Qwen2-VL and kin)
        return patch_grid_inputs(model, config, wanted, grid)
    specs = {name: spec_for(name, config, model) for name in dict.fromkeys(wanted)}
    specs = {name: spec for name, spec in specs.items() if spec is not None}
    values: dict[str, torch.Tensor] = {}
    if "pixel_values" in specs and specs["pixel_values"].count("x") == 4 and _folds_frames(model):
        _, frames, *picture = specs["pixel_values"].split("x")  # X-CLIP's tower: frames as batch
        specs["pixel_values"] = "x".join([frames, *picture])
    four_dims = "pixel_values" in specs and specs["pixel_values"].count("x") == 3
    if four_dims and (patches := _linear_patches(model, config, specs["pixel_values"])):
        specs["pixel_values"] = patches  # Fuyu: the image as its flattened patches
        four_dims = False
    if four_dims and _reads_image_pairs(model):  # keypoint matching: (batch, 2, C, H, W)
        batch, *picture = specs["pixel_values"].split("x")
        specs["pixel_values"] = "x".join([batch, "2", *picture[-3:]])
    elif four_dims and _reads_image_stacks(model):  # (batch, images, C, H, W)
        batch, *picture = specs["pixel_values"].split("x")
        specs["pixel_values"] = "x".join([batch, "1", *picture[-3:]])
        if "image_attention_mask" in params and "input_ids" in specs:  # IDEFICS: which image
            length = parse_input(specs["input_ids"])[0][-1]  # each token sees (all see it)
            specs["image_attention_mask"] = f"1x{length}x1:int64"
            values["image_attention_mask"] = torch.ones(1, length, 1, dtype=torch.int64)
    if four_dims and "pixel_attention_mask" in params and _masks_tiles(model):
        batch, *picture = specs["pixel_values"].split("x")  # Granite-Docling: one real tile
        specs["pixel_values"] = "x".join([batch, "1", *picture[-3:]])
        specs["pixel_attention_mask"] = "1x1:bool"
        values["pixel_attention_mask"] = torch.ones(1, 1, dtype=torch.bool)
    if "pixel_position_ids" in params and "pixel_values" in specs:
        _positioned_patches(config, specs, values)  # Gemma 4's vision: patches and positions
    if "pixel_values" in specs and "aspect_ratio_ids" in params:  # Mllama: tiles of an image
        tiles = _first_int(_sub(config, "vision_config"), ("max_num_tiles",), 4)
        batch, *picture = specs["pixel_values"].split("x")
        specs["pixel_values"] = "x".join([batch, "1", str(tiles), *picture[-3:]])
        specs["aspect_ratio_ids"], specs["aspect_ratio_mask"] = "1x1:int64", f"1x1x{tiles}:int64"
        values["aspect_ratio_ids"] = torch.ones(1, 1, dtype=torch.int64)  # ratio 1: one tile
        values["aspect_ratio_mask"] = torch.tensor([[[1] + [0] * (tiles - 1)]])
    if "pixel_values" in specs and "spatial_shapes" in params:
        _naflex_patches(config, specs, values)
    if "pixel_values" in specs and "image_sizes" in params:
        h, w = (int(n) for n in specs["pixel_values"].split("x")[-2:])
        tiles = _any_resolution_tiles(model, config, (h, w))
        if tiles is not None:  # LLaVA-NeXT: the image as its grid's tiles plus a thumbnail
            specs["pixel_values"] = f"1x{tiles}x" + "x".join(specs["pixel_values"].split("x")[-3:])
        sizes = torch.tensor([[h, w]], dtype=torch.int64)
        if tiles is not None or _reads_image_sizes(model) or _needs(model, config, specs, sizes):
            specs["image_sizes"] = "1x2:int64"  # each image's (height, width)
            values["image_sizes"] = sizes
    if "input_features" in specs and specs["input_features"].count("x") == 2:
        _orient_features(model, config, specs, params)
    if "input_values" in specs and specs["input_values"].count("x") == 1:
        _channel_samples(model, config, specs, values, params)
    for name, masks in AUDIO_MASKS.items():  # every audio frame valid
        if name == "input_values" and _owner(model, "get_audio_features") is not None:
            masks = (*masks, "padding_mask")  # VibeVoice: its audio's samples, all valid
        mask = next((m for m in masks if m in params), None)
        if name in specs and mask is not None and mask not in specs:
            frames = audio_frames(specs[name], config)
            dtype = torch.bool if _negates(model, mask) else torch.int64  # Gemma 3n: ~mask
            padding = mask == "audio_mel_mask"  # True marks padding: none
            dtype = torch.bool if padding else dtype
            specs[mask] = f"1x{frames}:{str(dtype).removeprefix('torch.')}"
            values[mask] = (torch.zeros if padding else torch.ones)(1, frames, dtype=dtype)
    owner = _owner(model, "get_audio_features")
    if "input_features" in specs and "padding_mask" in params and owner is not None:
        wants = inspect.signature(owner.get_audio_features).parameters.get("padding_mask")
        if wants is not None and wants.default is inspect.Parameter.empty:  # MOSS: the raw
            samples = audio_frames(specs["input_features"], config) * SAMPLES_PER_FRAME
            specs["padding_mask"] = f"1x{samples}:int64"  # samples behind the frames, valid
            values["padding_mask"] = torch.ones(1, samples, dtype=torch.int64)
    for name in specs:  # prompt masks: every token attended; time steps 0, 1, 2, …
        shape, dtype = parse_input(specs[name])
        if name in SERIES_VALUES:
            values[name] = torch.full(shape, SERIES_VALUES[name], dtype=torch.int64)
        elif name.endswith("_attention_mask") and name != "decoder_attention_mask":
            values[name] = torch.ones(shape, dtype=dtype if dtype == torch.bool else torch.int64)
        elif name == "timesteps":
            values[name] = torch.arange(shape[-1]).expand(shape).clone()
        elif name == "classes_structure":  # one class prompt per sample
            values[name] = torch.ones(shape, dtype=torch.int64)
        elif name == "image_embeds_position_mask":  # after the first token, the latents
            latents = _first_int(config, ("latent_query_num",), 64)
            mask = torch.zeros(shape, dtype=torch.int64)
            mask[..., 1 : 1 + latents] = 1
            values[name] = mask
        elif name == "target_sizes" and "pixel_values" in specs:
            h, w = (int(n) for n in specs["pixel_values"].split("x")[-2:])
            p = _first_int(_sub(config, "vision_config"), ("patch_size",), 14)
            values[name] = torch.tensor([[h // p, w // p]], dtype=torch.int64)
    if "pixel_values" in specs and _drops_padding_images(model):  # it reads the pixels: give
        shape = parse_input(specs["pixel_values"])[0]  # them values, a real (all-ones) image
        values["pixel_values"] = with_known_values(torch.ones(shape))
    if "action_embeds" in specs and "pixel_values" in specs:
        _camera_prefix(config, specs, values)  # PI0: one camera's image tokens, then text
    if "input_ids" in specs and "input_ids" not in values:
        ids = placeholder_ids(model, config, specs, values)
        if ids is not None:
            values["input_ids"] = ids
            specs["input_ids"] = f"1x{ids.shape[1]}:int64"
            _mask_features(model, config, specs, values, ids)
    text = _text_token(config)
    for name in TOKEN_INPUTS:  # token ids have values: one ordinary (non-special) token
        if name in specs and name not in values:
            values[name] = torch.full(parse_input(specs[name])[0], text, dtype=torch.int64)
    return tuple(specs), tuple(specs.values()), values


#: Inputs that hold token ids: given values (an ordinary token everywhere), so that masks a model
#: derives from them (padding, lengths) are exact.
TOKEN_INPUTS = ("input_ids", "decoder_input_ids", "qformer_input_ids")


#: The image side for patch-grid models: 224 pixels, rounded to whole merged patches.
GRID_IMAGE_SIDE = 224


def patch_grid_inputs(
    model: nn.Module, config: Any, wanted: list[str], grid: str
) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, torch.Tensor]]:
    """One 224-pixel image as Qwen2-VL-style models take it: g × g patches of p pixels (g a
    multiple of the spatial merge m), each flattened over channels and `temporal_patch_size`
    frames, with its grid (1, g, g); a language model gets g²/m² image tokens."""
    vision = _sub(config, "vision_config")
    p = _first_int(vision, ("patch_size",), 14)
    t = _first_int(vision, ("temporal_patch_size",), 1)
    m = _first_int(vision, ("spatial_merge_size", "merge_size"), 1)
    channels = _first_int(vision, ("in_channels", "num_channels", "in_chans"), 3)
    g = max(m, GRID_IMAGE_SIDE // (p * m) * m)
    values = {grid: torch.tensor([[1, g, g]], dtype=torch.int64)}
    pixels = (
        "hidden_states" if grid == "grid_thw" and "pixel_values" not in wanted else "pixel_values"
    )
    layouts = _patch_layouts(model, g * g, channels * t * p * p)
    if _token_squares(model):  # Inkling 2: a square of m × m patches per image token, its
        n = g // m  # grid counted in tokens
        values[grid] = torch.tensor([[1, n, n]], dtype=torch.int64)
        layouts = [f"{n * n}x{p * m}x{p * m}x{channels}"]
    method = "get_image_features" if hasattr(model, "get_image_features") else "forward"
    specs: dict[str, str] = {pixels: layouts[0], grid: "1x3:int64"}
    params = _forward_params(model)
    merges = next((n for n in ("image_merge_sizes", "merge_sizes") if n in params), None)
    if merges is not None:  # VideoLLaMA3: each image's spatial merge
        specs[merges] = "1:int64"
        values[merges] = torch.tensor([m], dtype=torch.int64)
    for layout in layouts if len(layouts) > 1 else []:  # the first the vision tower takes
        trial = {**specs, pixels: layout}
        if _features(model, config, method, trial, values) is not None:
            specs = trial
            break
    image_token = next(
        (v for k in IMAGE_TOKEN_KEYS if isinstance(v := getattr(config, k, None), int)), None
    )
    if "input_ids" in wanted or image_token is not None:
        text = [_text_token(config, image_token or -1)] * tokens(config)
        count = g * g // (m * m)
        if image_token is not None and hasattr(model, "get_image_features"):  # the model's own
            made = _features(model, config, "get_image_features", specs, values)
            count = made if made is not None else count
        ids = [image_token] * count + text if image_token is not None else text
        values["input_ids"] = torch.tensor([ids], dtype=torch.int64)
        specs = {"input_ids": f"1x{len(ids)}:int64", **specs}
        if "mm_token_type_ids" in _forward_params(model):  # 1 marks an image token (M-RoPE)
            values["mm_token_type_ids"] = (values["input_ids"] == image_token).long()
            specs["mm_token_type_ids"] = f"1x{len(ids)}:int64"
    return tuple(specs), tuple(specs.values()), values


def _token_squares(model: nn.Module) -> bool:
    """Whether the model's docstrings take pixels as one (p·m) × (p·m) × C square per image
    token (Inkling 2)."""
    for owner in (model, getattr(model, "vision_tower", None), getattr(model, "model", None)):
        for name in ("forward", "get_image_features"):
            doc = inspect.getdoc(getattr(owner, name, None)) or ""
            if (
                "patch_size * spatial_merge_size, patch_size * spatial_merge_size, num_channels"
                in doc
            ):
                return True
    return False


def _patch_layouts(model: nn.Module, n: int, flat: int) -> list[str]:
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
            return [f"{n}x{flat}", f"{n}x{c}x{kh}x{kw}", f"1x{n}x{c}x{kh}x{kw}"]
        return [f"{n}x{flat}"]
    return [f"{n}x{linear.in_features}"] if linear is not None else [f"{n}x{flat}"]


def _first_int(config: Any, keys: tuple[str, ...], default: int) -> int:
    for key in keys:
        value = getattr(config, key, None)
        if isinstance(value, list | tuple) and value:
            value = value[0]
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return default


IMAGE_TOKEN_KEYS = ("image_token_id", "image_token_index")
AUDIO_TOKEN_KEYS = ("audio_token_id", "audio_token_index")
VIDEO_TOKEN_KEYS = ("video_token_id", "video_token_index")
#: Inputs that go with an image to the model's own feature method.
IMAGE_COMPANIONS = (
    "image_sizes",
    "pixel_attention_mask",
    "spatial_shapes",
    "high_res_pixel_values",
)
#: Per modality: the config keys of its placeholder token, the method that makes its features,
#: and the inputs that method reads.
PLACEHOLDERS = (
    (
        IMAGE_TOKEN_KEYS,
        "get_image_features",
        (*IMAGE_INPUTS, *IMAGE_COMPANIONS),
    ),
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


def placeholder_ids(
    model: nn.Module, config: Any, specs: dict[str, str], values: dict[str, torch.Tensor]
) -> torch.Tensor | None:
    """Token ids for a multi-modal model: one placeholder token per feature vector the model
    makes of each default input (its `get_image_features` / `get_audio_features`, run on fake
    tensors), images first, then the text tokens. None when no modality has both."""
    ids: list[int] = []
    placeholders: set[int] = set()
    used: set[str] = set()
    for keys, method, inputs in PLACEHOLDERS:
        token = next((v for k in keys if isinstance(v := getattr(config, k, None), int)), None)
        given = {n: specs[n] for n in inputs if n in specs and n not in used}
        if token is None or not given:
            continue
        features = _query_tokens(config, given)  # a Q-Former's queries, whatever the method
        owner = _owner(model, method)
        if features is None and owner is not None:
            features = _features(owner, config, method, given, values)
        if features is None and owner is not None and _needs_ids(owner, method):
            features = _told_count(owner, config, method, given, values, token)
        elif features is None and method == "get_audio_features" and "input_features" in given:
            tower = getattr(model, "audio_tower", None)  # no method: the tower's output rows
            if isinstance(tower, nn.Module):  # (Qwen2-Audio: after its pooling)
                sub = _sub(config, "audio_config")
                one = {"input_features": given["input_features"]}
                features = _features(tower, sub, "forward", one, values)
        elif features is None and method == "get_image_features":  # no method: the config's
            pooled = getattr(_sub(config, "encoder"), "mm_tokens_per_image", None)  # count
            features = pooled if isinstance(pooled, int) else None  # (T5Gemma 2's encoder)
        if features is not None:
            ids += [token] * features
            placeholders.add(token)
            used |= set(given)
    if not ids and (summed := _summed_audio(model, config, specs, values)):
        return torch.full((1, summed), _text_token(config), dtype=torch.int64)
    if not ids:
        return None
    text = _text_token(config, *placeholders)
    return torch.tensor([ids + [text] * tokens(config)], dtype=torch.int64)


def _summed_audio(
    model: nn.Module, config: Any, specs: dict[str, str], values: dict[str, torch.Tensor]
) -> int | None:
    """Voxtral Realtime adds each audio embedding to a token's (`inputs_embeds += audio_embeds`):
    one token per audio embedding, however many its features make."""
    owner = _owner(model, "get_audio_features")
    source = _source(type(owner).forward) if owner is not None else ""
    if "inputs_embeds += audio_embeds" not in source:
        return None
    given = {n: specs[n] for n in (*AUDIO_INPUTS, *AUDIO_MASKS["input_features"]) if n in specs}
    return _features(owner, config, "get_audio_features", given, values) if given else None


def _mask_features(
    model: nn.Module,
    config: Any,
    specs: dict[str, str],
    values: dict[str, torch.Tensor],
    ids: torch.Tensor,
) -> None:
    """Granite Speech's `input_features_mask` selects audio features, not frames: one True per
    audio placeholder token."""
    doc = inspect.getdoc(model.forward) or ""
    token = next(
        (v for k in AUDIO_TOKEN_KEYS if isinstance(v := getattr(config, k, None), int)), None
    )
    if (
        "input_features_mask" not in specs
        or "applied to audio features" not in doc
        or token is None
    ):
        return
    count = int((ids == token).sum())
    specs["input_features_mask"] = f"1x{count}:bool"
    values["input_features_mask"] = torch.ones(1, count, dtype=torch.bool)


def _owner(model: nn.Module, method: str) -> nn.Module | None:
    """The model, or the base model a head wraps (`model.model`), that has `method`."""
    for candidate in (model, getattr(model, "model", None)):
        if isinstance(candidate, nn.Module) and hasattr(candidate, method):
            return candidate
    return None


def _needs_ids(owner: nn.Module, method: str) -> bool:
    wants = inspect.signature(getattr(owner, method)).parameters.get("input_ids")
    return wants is not None and wants.default is inspect.Parameter.empty


#: What a model says when its placeholders and its features differ in number.
TOLD_FEATURES = re.compile(r"tokens: 0, features:? (\d+)")


def _told_count(
    owner: nn.Module,
    config: Any,
    method: str,
    given: dict[str, str],
    values: dict[str, torch.Tensor],
    token: int,
) -> int | None:
    """A feature method that reads the token ids it places its features in (Music Flamingo's
    audio): run it on text alone, take the count its own check reports, and keep that count
    only where the method then runs on as many placeholders."""
    text = [_text_token(config, token)] * tokens(config)
    errors: list[str] = []
    trial = {**values, "input_ids": torch.tensor([text], dtype=torch.int64)}
    spec = {**given, "input_ids": f"1x{len(text)}:int64"}
    if _features(owner, config, method, spec, trial, errors) is not None or not errors:
        return None
    said = TOLD_FEATURES.search(errors[0])
    if said is None:
        return None
    count = int(said[1])
    ids = [token] * count + text
    trial["input_ids"] = torch.tensor([ids], dtype=torch.int64)
    spec["input_ids"] = f"1x{len(ids)}:int64"
    return count if _features(owner, config, method, spec, trial) is not None else None


def _query_tokens(config: Any, given: dict[str, str]) -> int | None:
    """A Q-Former model hands the text model `num_query_tokens` features per image, per frame of
    a clip (B × F × C × H × W), whatever its feature method returns (BLIP-2's gives the vision
    tower's pooled output; InstructBLIP-Video has none)."""
    queries = getattr(config, "num_query_tokens", None)
    if not isinstance(queries, int):
        return None
    shape = parse_input(next(iter(given.values())))[0]
    return queries * (shape[1] if len(shape) == 5 else 1)


def _features(
    model: nn.Module,
    config: Any,
    method: str,
    given: dict[str, str],
    values: dict[str, torch.Tensor],
    errors: list[str] | None = None,
) -> int | None:
    """How many feature vectors `model.<method>` makes of these inputs (its output's rows); a
    failure's message goes to `errors` when given."""
    from netcost.api import analyze

    params = inspect.signature(getattr(model, method)).parameters
    given = {n: spec for n, spec in given.items() if n in params}
    options = {n: getattr(config, n) for n in params if n not in given and hasattr(config, n)}
    inputs = {n: values.get(n, shape_only(*parse_input(spec))) for n, spec in given.items()}

    class Features(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, **tensors: torch.Tensor) -> Any:
            out = getattr(self.model, method)(**tensors, **options)
            for name in ("pooler_output", "last_hidden_state"):  # the features, where named
                if getattr(out, name, None) is not None:
                    return getattr(out, name)
            return out

    try:
        with torch.no_grad():
            report = analyze(Features(), inputs, execution="fake")
    except Exception as error:  # the model's own path will report what is wrong
        if errors is not None:
            errors.append(str(error))
        return None
    shapes = report.modules[0].output_shapes
    return sum(prod(s[:-1]) for s in shapes) or None


def _text_token(config: Any, *placeholders: int) -> int:
    """A plain token id: 1, or the first id after it that is no special token of the config."""
    special = {
        v
        for k, v in vars(config).items()
        if isinstance(v, int) and ("token_id" in k or "token_index" in k)
    } | set(placeholders)
    return next(i for i in range(1, 1 << 20) if i not in special)


def _linear_patches(model: nn.Module, config: Any, spec: str) -> str | None:
    """An image as flattened patches, (1, (H/p)·(W/p), C·p²), for a model whose image's first
    layer is a Linear of C·p² inputs (Fuyu; not LeViT, whose first is a convolution) and
    whose own feature method fails on the image itself (RADIO patches it itself)."""
    p = _first_int(config, ("patch_size",), 0)
    if not p:
        return None
    batch, channels, h, w = (int(n) for n in spec.split("x"))
    flat = channels * p * p
    first = next(
        (
            m
            for path, m in model.named_modules()
            if isinstance(m, nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d)
            and any(word in path for word in ("vis", "patch", "image"))
        ),
        None,
    )  # the image's first layer: a Linear of C·p² inputs reads flattened patches
    if not isinstance(first, nn.Linear) or first.in_features != flat or h % p or w % p:
        return None
    patches = f"{batch}x{(h // p) * (w // p)}x{flat}"
    method = "get_image_features" if hasattr(model, "get_image_features") else "forward"
    if method == "forward" and "input_ids" in _forward_params(model):
        return None  # no way to try the image alone
    if _features(model, config, method, {"pixel_values": spec}, {}) is not None:
        return None  # the model patches the image itself (RADIO)
    return patches


def _camera_prefix(config: Any, specs: dict[str, str], values: dict[str, torch.Tensor]) -> None:
    """PI0's prefix: one camera (its mask: present), its image's (224 / 14)² = 256 tokens of
    the vision-language model, then the text."""
    vlm = getattr(config, "vlm_config", None)
    vision = getattr(vlm, "vision_config", None)
    token = getattr(vlm, "image_token_id", None)
    if vision is None or not isinstance(token, int):
        return
    count = (vision.image_size // vision.patch_size) ** 2
    ids = [token] * count + [_text_token(config, token)] * tokens(config)
    specs["input_ids"] = f"1x{len(ids)}:int64"
    values["input_ids"] = torch.tensor([ids], dtype=torch.int64)
    specs["pixel_attention_mask"] = "1x1:bool"
    values["pixel_attention_mask"] = torch.ones(1, 1, dtype=torch.bool)


def _positioned_patches(
    config: Any, specs: dict[str, str], values: dict[str, torch.Tensor]
) -> None:
    """Gemma 4's vision tower: an image as its P flattened patches (3 · p² values each) with
    each patch's (x, y), the grid a whole number of k × k pools a side: 224 px at p = 16 and
    k = 3 is ⌈224 / 48⌉ · 3 = 15 patches a side, P = 225."""
    vision = _sub(config, "vision_config")
    p = _first_int(vision, ("patch_size",), 16)
    k = _first_int(vision, ("pooling_kernel_size",), 1)
    side = -(-GRID_IMAGE_SIDE // (p * k)) * k
    rows, cols = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
    positions = torch.stack([cols.flatten(), rows.flatten()], dim=-1)[None]
    specs["pixel_values"] = f"1x{side * side}x{3 * p * p}"
    specs["pixel_position_ids"] = f"1x{side * side}x2:int64"
    values["pixel_position_ids"] = positions


def _naflex_patches(config: Any, specs: dict[str, str], values: dict[str, torch.Tensor]) -> None:
    """An image as SigLIP2-style (NaFlex) models take it: g × g patches (g² = the vision config's
    `num_patches`, else image size ÷ patch size), each flattened to C·p² values, every patch
    valid, with the grid's shape."""
    vision = _sub(config, "vision_config")
    p = _first_int(vision, ("patch_size",), 16)
    channels = _first_int(vision, ("num_channels",), 3)
    side = int(specs["pixel_values"].split("x")[-1])
    g = isqrt(_first_int(vision, ("num_patches",), (side // p) ** 2))
    specs["pixel_values"] = f"1x{g * g}x{channels * p * p}"
    specs["pixel_attention_mask"] = f"1x{g * g}:int64"
    specs["spatial_shapes"] = "1x2:int64"
    values["pixel_attention_mask"] = torch.ones(1, g * g, dtype=torch.int64)
    values["spatial_shapes"] = torch.tensor([[g, g]], dtype=torch.int64)


def _any_resolution_tiles(model: nn.Module, config: Any, size: tuple[int, int]) -> int | None:
    """How many tiles an any-resolution model (LLaVA-NeXT and kin) cuts an image of `size` into,
    by its own `image_size_to_num_patches` and the config's grid pinpoints; None for others."""
    module = sys.modules.get(type(model).__module__)
    count = getattr(module, "image_size_to_num_patches", None)
    pinpoints = getattr(config, "image_grid_pinpoints", None)
    if count is None or not pinpoints:
        return None
    tile = _first_int(_sub(config, "vision_config"), ("image_size",), size[0])
    return int(count(size, pinpoints, tile))


def _needs(model: nn.Module, config: Any, specs: dict[str, str], sizes: torch.Tensor) -> bool:
    """Whether the model's own `get_image_features` fails on the image alone and runs with its
    size (Apertus): image sizes are then part of the input."""
    if not hasattr(model, "get_image_features"):
        return False
    image = {"pixel_values": specs["pixel_values"]}
    if _features(model, config, "get_image_features", image, {}) is not None:
        return False
    with_sizes = {**image, "image_sizes": "1x2:int64"}
    return (
        _features(model, config, "get_image_features", with_sizes, {"image_sizes": sizes})
        is not None
    )


def _reads_image_sizes(model: nn.Module) -> bool:
    """Whether the vision tower patches images at their own size (Pixtral: it has a
    `patch_size`), so the model needs each image's size; CLIP-like towers take none."""
    tower = next(
        (
            m
            for n, m in model.named_children()
            if n in ("vision_tower", "vision_model", "vision_encoder")
        ),
        None,
    )
    return isinstance(getattr(tower, "patch_size", None), int)


#: `batch, images, channels, height, width = pixel_values.shape`: a stack of images per sample.
STACKED_IMAGES = re.compile(
    r"^\s*\w+,\s*\w+,\s*\w+,\s*\w+,\s*\w+\s*=\s*pixel_values\.shape\b", re.M
)


#: `batch, channels, height, width = pixel_values.shape`: one image per sample.
SINGLE_IMAGES = re.compile(r"^\s*(\w+,\s*){3}\w+\s*=\s*pixel_values\.shape\b", re.M)


def _folds_frames(model: nn.Module) -> bool:
    """Whether a video model's tower takes its frames as a batch of images: neither the model
    nor its patch embedding unpacks five dims, and the embedding unpacks four (X-CLIP's vision
    model alone; VideoMAE's embedding unpacks five)."""
    if _reads_image_stacks(model):
        return False
    for path, module in model.named_modules():
        if isinstance(module, nn.Conv2d | nn.Conv3d):
            parent = model.get_submodule(path.rpartition(".")[0]) if "." in path else model
            source = _source(type(parent))
            return SINGLE_IMAGES.search(source) is not None and not _reads_image_stacks(parent)
    return False


def _source(obj: Any) -> str:
    """The source text of a class, function or module; empty where Python has none."""
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return ""


def _module_source(model: nn.Module) -> str:
    """The source of the file that defines the model's class."""
    module = inspect.getmodule(type(model))
    return _source(module) if module is not None else ""


#: Idefics2/3, SmolVLM: images whose every value is 0 are padding, dropped before the tower.
PADDING_IMAGES = re.compile(r"== 0\.0\)\.sum\(dim=\(-1, -2, -3\)\)")


def _drops_padding_images(model: nn.Module) -> bool:
    """Whether the model's own code tests its pixels' values for all-zero padding images."""
    return PADDING_IMAGES.search(_module_source(model)) is not None


#: A forward that takes tiles with a mask of the real ones, required with the pixels.
TILE_MASK = re.compile(
    r"pixel_attention_mask \(`torch\.BoolTensor` of shape `\(batch_size, num_tiles\)`"
)


def _masks_tiles(model: nn.Module) -> bool:
    """Whether the forward's docstring asks for `pixel_attention_mask` as (batch, tiles) with
    `pixel_values` (Granite-Docling: (batch, tiles, C, H, W))."""
    doc = inspect.getdoc(model.forward) or ""
    return TILE_MASK.search(doc) is not None and "Required with `pixel_values`" in doc


IMAGE_PAIRS = re.compile(r"pixel_values\.size\(1\) != 2|\(batch_size, 2, num_channels")


def _reads_image_pairs(model: nn.Module) -> bool:
    """Whether the model's own code wants its images in pairs (EfficientLoFTR, LightGlue)."""
    return IMAGE_PAIRS.search(_module_source(model)) is not None


#: `pixel_values.flatten(0, 1)`: images per sample folded into the batch (IDEFICS).
FOLDED_STACKS = re.compile(r"pixel_values\s*=\s*pixel_values\.flatten\(0,\s*1\)")


def _reads_image_stacks(model: nn.Module) -> bool:
    """Whether the model's own code unpacks pixel_values as five dims (Idefics2/3, SmolVLM) or
    folds its images per sample into the batch (IDEFICS)."""
    source = _source(type(model))
    return STACKED_IMAGES.search(source) is not None or FOLDED_STACKS.search(source) is not None


def _negates(model: nn.Module, name: str) -> bool:
    """Whether the model's own code negates the input `name` with `~`: a boolean mask."""
    return f"~{name}" in _source(type(model))


def _orient_features(
    model: nn.Module, config: Any, specs: dict[str, str], params: dict[str, Any]
) -> None:
    """Log-mel features as the audio tower reads them: where its own feature method (or, for an
    encoder alone, its forward) fails on mel × frames or frames × mel and runs on the other
    (Qwen3-ASR reads frames last behind a Conv2d), the other it is; or k frames stacked, where
    the tower's first layer is a Linear k · mel wide (Granite Speech 5)."""
    required = {n for n, p in params.items() if p.default is inspect.Parameter.empty}
    masks = set(AUDIO_MASKS["input_features"])
    if hasattr(model, "get_audio_features"):
        method = "get_audio_features"
    elif required <= {"input_features", *masks}:
        method = "forward"
    else:
        return
    mask = next((m for m in AUDIO_MASKS["input_features"] if m in params), None)

    def runs(spec: str) -> bool:
        given, values = {"input_features": spec}, {}
        if mask is not None:  # every frame valid, frames along the longer dim
            frames = max(int(n) for n in spec.split("x")[1:])
            given[mask] = f"1x{frames}:int64"
            values[mask] = torch.ones(1, frames, dtype=torch.int64)
        return _features(model, config, method, given, values) is not None

    batch, a, b = specs["input_features"].split("x")
    if runs(specs["input_features"]):
        return
    candidates = [f"{batch}x{b}x{a}"]
    tower = getattr(model, "audio_tower", model)
    first = _first_layer(tower)
    frames, mel = int(a), int(b)
    if isinstance(first, nn.Linear) and first.in_features % mel == 0 and first.in_features > mel:
        k = first.in_features // mel  # Granite Speech 5: k frames stacked into its first Linear
        candidates.append(f"{batch}x{frames // k}x{first.in_features}")
    for bins in COMMON_MEL_BINS:  # a config that names no mel bins (Gemma 4's audio: 128)
        if bins != mel:
            candidates += [f"{batch}x{frames}x{bins}", f"{batch}x{bins}x{frames}"]
    found = next((spec for spec in candidates if runs(spec)), None)
    if found is not None:
        specs["input_features"] = found


def _channel_samples(
    model: nn.Module,
    config: Any,
    specs: dict[str, str],
    values: dict[str, torch.Tensor],
    params: dict[str, Any],
) -> None:
    """Raw samples as (batch, 1, samples) where the audio tower's first convolution reads them
    without adding the channel itself (OmniASR) and the plain (batch, samples) fails; a padding
    mask stays (batch, samples)."""
    owner = _owner(model, "get_audio_features")
    required = {n for n, p in params.items() if p.default is inspect.Parameter.empty}
    if owner is not None:
        method, target = "get_audio_features", owner
    elif required <= {"input_values", "padding_mask"}:
        method, target = "forward", model
    else:
        return
    given = {n: specs[n] for n in ("input_values", "padding_mask") if n in specs}
    if _features(target, config, method, given, values) is not None:
        return
    samples = "x".join(["1", "1", *specs["input_values"].split("x")[1:]])
    if _features(target, config, method, given | {"input_values": samples}, values) is not None:
        specs["input_values"] = samples


def audio_frames(spec: str, config: Any) -> int:
    """The time steps of an audio input: its samples, or the frames of its features (the dim
    that is not the mel bins)."""
    dims = list(parse_input(spec)[0][1:])
    audio_config = _audio_config(config)
    mel = _mel_bins(audio_config)
    if len(dims) == 2 and (dims[0] == mel or dims[0] <= 2):  # mel × frames; channels × samples
        return dims[1]
    return dims[0]


def video(config: Any) -> str:
    """A clip: the vision config's frames (`num_frames`, `frames_per_clip`; else 16) of images at
    its size."""
    vision = _sub(config, "vision_config", "video_config")
    frames = _first_int(vision, ("num_frames", "frames_per_clip"), 0) or _first_int(
        config, ("num_frames", "frames_per_clip"), VIDEO_FRAMES
    )
    picture = image(config).split("x")[-3:]
    return "x".join(["1", str(frames), *picture])


VIDEO_FRAMES = 16


def series(name: str, config: Any) -> str:
    """Time-series inputs: `context_length` steps of `num_input_channels` values (a single
    series when the config has no channels), with their padding; one frequency class."""
    if name == "freq":
        return "1x1:int64"
    steps = _first_int(config, ("context_length", "context_len"), TOKENS)
    if name == "past_values_padding":
        return f"1x{steps}:int64"
    channels = getattr(config, "num_input_channels", None)
    return f"1x{steps}x{channels}" if isinstance(channels, int) else f"1x{steps}"


#: Inputs that forwards read together, each group triggered by its first name: LXMERT's
#: region features (36 boxes), a Decision Transformer's trajectory, SegGPT's prompt, OmDet's
#: class and task prompts.
INPUT_GROUPS = (
    ("visual_feats", "visual_pos"),
    ("states", "actions", "rewards", "returns_to_go", "timesteps"),
    ("prompt_pixel_values", "prompt_masks"),
    ("high_res_pixel_values",),
    (
        "classes_input_ids",
        "classes_attention_mask",
        "classes_structure",
        "tasks_input_ids",
        "tasks_attention_mask",
    ),
)
#: Regions of LXMERT's image features; steps of a Decision Transformer's trajectory (its paper's
#: context length K = 20); Pix2Struct's patches (its processor's default maximum).
REGIONS, STEPS, MAX_PATCHES = 36, 20, 2048


def _paired(config: Any) -> bool:
    """SegGPT's config gives the size of image and prompt stacked (896 × 448 for two 448²)."""
    return getattr(config, "model_type", "") == "seggpt"


def _named(name: str, config: Any) -> str | None:
    """Inputs whose shape the config gives by name."""
    width = {
        "visual_feats": "visual_feat_dim",
        "visual_pos": "visual_pos_dim",
        "states": "state_dim",
        "actions": "act_dim",
    }.get(name)
    if width is not None and isinstance(getattr(config, width, None), int):
        steps = REGIONS if name.startswith("visual") else STEPS
        return f"1x{steps}x{getattr(config, width)}"
    if name in ("rewards", "returns_to_go"):
        return f"1x{STEPS}x1"
    if name == "timesteps":
        return f"1x{STEPS}:int64"
    if name in ("pixel_values", "prompt_pixel_values", "prompt_masks") and _paired(config):
        batch, channels, h, w = image(config).split("x")  # SegGPT: image and prompt stacked
        return f"{batch}x{channels}x{int(h) // 2}x{w}"
    if name == "high_res_pixel_values":  # DeepSeek-VL hybrid: the SAM tower's image
        side = _first_int(_sub(config, "high_res_vision_config"), ("image_size",), 1024)
        return f"1x3x{side}x{side}"
    if name == "encoder_hidden_states" and isinstance(
        getattr(config, "encoder_hidden_size", None), int
    ):  # a Q-Former alone: the image encoder's states it attends to
        return f"1x{tokens(config)}x{config.encoder_hidden_size}"
    if name == "image_embeds_position_mask":  # Kosmos-2: where the image's latents go
        return f"1x{tokens(config)}:int64"
    if name == "target_sizes":  # MiniCPM's vision tower: each image's patch grid
        return "1x2:int64"
    if name == "classes_structure":  # OmDet: how many classes each sample's prompt holds
        return "1:int64"
    if name == "inputs" and isinstance(getattr(config, "d_latents", None), int):  # Perceiver
        return f"1x{tokens(config)}x{config.d_model}"
    if name == "flattened_patches":  # Pix2Struct: row, column, then the patch's values
        return f"1x{MAX_PATCHES}x{_first_int(config, ('patch_embed_hidden_size',), 768) + 2}"
    if name.endswith("_attention_mask") and name != "decoder_attention_mask":
        return f"1x{tokens(config)}:int64"  # a prompt's mask, over its tokens
    return None


def spec_for(name: str, config: Any, model: nn.Module | None = None) -> str | None:
    """The spec of one named input, or None for an argument netcost cannot make up."""
    named = _named(name, config)
    if named is not None:
        return named
    if name == "decoder_input_ids" and model is not None and _codebooks_last(model):
        codebooks = _first_int(_sub(config, "decoder_config"), ("num_channels",), 0)
        if codebooks:  # Dia: each decoder step is one token of each of its 9 codebooks
            return f"1x{tokens(config)}x{codebooks}:int64"
    ids = name.endswith("input_ids") and not name.startswith(("decoder", "qformer"))
    if ids and model is not None and not getattr(config, "is_encoder_decoder", False):
        books = _codebook_offsets(model)  # (Dia's offsets are its decoder's, not its text's)
        if books:  # Kyutai, Inkling's audio: a token of each of K codebooks per step
            return f"1x{tokens(config)}x{books}:int64"
    if name.endswith("input_ids") or name == "token_type_ids":  # qformer_input_ids too
        return f"1x{tokens(config)}:int64"
    first = _first_layer(model) if name == "hidden_states" and model is not None else None
    if isinstance(first, nn.Conv1d):  # VibeVoice's tokenizers: channels × time, 1 s of audio
        audio_in = first.in_channels == _first_int(config, ("channels", "audio_channels"), 0)
        rate = _first_int(config, ("sampling_rate",), AUDIO_SAMPLES)
        return f"1x{first.in_channels}x{rate if audio_in else tokens(config)}"
    if name in ("inputs_embeds", "query_embeds", "hidden_states"):
        hidden = _first_int(_sub(config, "text_config"), ("hidden_size", "d_model"), 0)
        if not hidden and name == "hidden_states":  # a vision model whose input is so named
            return image(config)
        return f"1x{tokens(config)}x{hidden}" if hidden else None
    if name in ("pixel_values",):
        return image(config)
    if name in VIDEO_INPUTS:
        return video(config)
    if name in ("past_values", "past_values_padding", "freq"):
        return series(name, config)
    encoder = getattr(model, "encoder", None)
    if name == "decoder_input_values":
        encoder = getattr(model, "decoder", None)
    if name.endswith("input_values") and type(encoder).__name__.endswith("WithoutPrenet"):
        hidden = _first_int(config, ("hidden_size",), 0)  # SpeechT5 alone: hidden states
        return f"1x{tokens(config)}x{hidden}" if hidden else None
    if name in AUDIO_INPUTS:
        return audio(name, config, model)
    if name == "audio_mel":  # Gemma 3n's audio encoder alone: frames × mel bins
        return audio("input_features", config, model)
    if name == "inputs" and getattr(encoder, "main_input_name", None) in AUDIO_INPUTS:
        # a speech encoder-decoder's `inputs`: what its encoder reads, as its config says
        encoder_config = getattr(config, "encoder", config)
        return audio(encoder.main_input_name, encoder_config, encoder)
    if name == "bbox":
        return f"1x{tokens(config)}x4:int64"
    if name == "lang_ids":
        return f"1x{tokens(config)}:int64"
    expert = getattr(config, "dit_config", None)
    if name == "action_embeds" and expert is not None:  # PI0: the robot state, then a chunk
        steps = _first_int(config, ("chunk_size",), 50)  # of actions, in the action expert's
        return f"1x{1 + steps}x{_first_int(expert, ('hidden_size',), 1024)}"  # width
    if name in ("attention_mask", "decoder_attention_mask"):
        return f"1x{tokens(config)}:int64"
    return _documented(name, config, model) if model is not None else None


def _first_layer(model: nn.Module) -> nn.Module | None:
    """The first convolution, Linear or embedding the model registers (its input layer)."""
    kinds = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear, nn.Embedding)
    return next((m for m in model.modules() if isinstance(m, kinds)), None)


def _codebook_offsets(model: nn.Module) -> int:
    """K, where the model's first embedding table sits in a module that adds a K-long offsets
    buffer to its ids (one offset per codebook) and sums the K embeddings of each step; else
    0. (Higgs Audio's codebook table comes after its text table: its text ids stay plain.)"""
    path = next((n for n, m in model.named_modules() if isinstance(m, nn.Embedding)), None)
    if path is None:
        return 0
    parent = model.get_submodule(path.rpartition(".")[0]) if "." in path else model
    for name, buffer in parent.named_buffers(recurse=False):
        if name.endswith("offsets") and buffer.dim() == 1:
            source = _source(type(parent).forward)
            if f"self.{name}" in source and ".sum(" in source:
                return buffer.numel()
    return 0


def _refuses_ids(model: nn.Module) -> bool:
    """Whether the forward raises on token ids (it takes embeddings only)."""
    return "`input_ids` is expected to be `None`" in _source(type(model).forward)


def _codebooks_last(model: nn.Module) -> bool:
    """Whether the forward's docstring takes decoder ids as (batch, length, codebooks)."""
    doc = inspect.getdoc(model.forward) or ""
    return "(batch_size, target_sequence_length, num_codebooks)" in doc


#: Words a forward's docstring uses for a sequence's length: given TOKENS positions
LENGTH_WORDS = ("sequence_length", "seq_len", "seq_length", "num_frames", "frames", "num_tokens",
                "length", "time_steps", "num_patches", "num_keypoints")  # fmt: skip


def _documented(name: str, config: Any, model: nn.Module) -> str | None:
    """An argument the forward's own docstring gives a shape to (`latents (torch.Tensor of shape
    (batch_size, hidden_size, frames))`): batch 1, lengths TOKENS, image sides the config's,
    every other dimension a config value of that name; None when one is unknown."""
    doc = inspect.getdoc(model.forward) or ""
    pattern = rf"^\s*{re.escape(name)} \(`([^`]*)`[^\n]*?shape `[(\[]([^`]*)[)\]]`"
    found = re.search(pattern, doc, re.M)
    if not found:
        return None
    kind, dims = found.group(1), [d.strip() for d in found.group(2).split(",") if d.strip()]
    side = parse_input(image(config))[0][-1]
    sizes = []
    for dim in dims:
        dim = dim.removeprefix("config.")
        times = re.fullmatch(r"(\w+) \* len\(config\.(\w+)\)", dim)  # Muse Glimmer's
        if times:  # `dim * len(config.target_layer_ids)`: the width of each layer listed
            width = _config_int(config, "hidden_size" if times[1] == "dim" else times[1])
            listed = getattr(config, times[2], None)
            if width is None or not isinstance(listed, list | tuple):
                return None
            sizes.append(width * len(listed))
        elif dim == "dim":
            sizes.append(_first_int(config, ("hidden_size",), 0) or tokens(config))
        elif dim.endswith("tokens"):  # `number_of_previous_accepted_tokens`: a length
            sizes.append(tokens(config))
        elif dim.isdigit():
            sizes.append(int(dim))
        elif dim == "batch_size":
            sizes.append(1)
        elif dim in LENGTH_WORDS:
            sizes.append(tokens(config))
        elif dim in ("height", "width"):
            sizes.append(side)
        elif dim in ("num_channels", "channels"):
            sizes.append(_first_int(config, ("num_channels", "audio_channels", "channels"), 3))
        else:
            value = _config_int(config, dim)
            if value is None:
                return None
            sizes.append(value)
    dtype = "int64" if "Long" in kind else "bool" if "Bool" in kind else "float32"
    return "x".join(map(str, sizes)) + ("" if dtype == "float32" else f":{dtype}")


def _config_int(config: Any, key: str, depth: int = 0) -> int | None:
    """The config's (or a nested config's) integer `key`."""
    value = getattr(config, key, None)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if depth < 2:
        for attribute in vars(config) if hasattr(config, "__dict__") else ():
            sub = getattr(config, attribute, None)
            if hasattr(sub, "to_dict"):
                found = _config_int(sub, key, depth + 1)
                if found is not None:
                    return found
    return None
