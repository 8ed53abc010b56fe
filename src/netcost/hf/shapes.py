"""The default tensor for each input name a forward takes, from the config: text tokens, an
image at the vision config's size (a clip for video), audio in the layout the audio config
describes, a time series, inputs the config sizes by name, and what the docstring shapes."""

from __future__ import annotations

import re
from math import isqrt
from typing import Any

import torch
from torch import nn

from netcost.hf.config import (
    audio_config,
    codec_config,
    config_int,
    dotted,
    first_int,
    mel_bins,
    sub,
    timm_size,
    tokens,
)
from netcost.hf.keys import (
    AUDIO_INPUTS,
    AUDIO_SAMPLES,
    CLAP_FRAMES,
    IMAGE_SIZE_PATHS,
    LENGTH_WORDS,
    LOG_MEL_FRAMES,
    MAX_PATCHES,
    PROJECTED_KEYS,
    REGIONS,
    SECOND_FRAMES,
    STEPS,
    TOKENS,
    VIDEO_FRAMES,
    VIDEO_INPUTS,
)
from netcost.hf.source import codebooks_last, documented_shape, sums_offset_codebooks
from netcost.hf.spec import LONG, Input


def image(config: Any) -> Input:
    """An image at the config's size (224 where it names none); a clip where the vision config
    has frames; for Aria, the side whose patches its projector takes (the fewest it lists)."""
    vision = sub(config, "vision_config", "backbone_config")
    size = next((v for p in IMAGE_SIZE_PATHS if (v := dotted(config, p))), None) or timm_size(
        config
    )
    ratios = getattr(config, "scaled_images_ratios", None)
    if ratios and isinstance(getattr(config, "patch_size", None), int):  # DepthPro's pyramid
        size = round(config.patch_size / min(ratios))  # its smallest scale is one patch
    queries = getattr(config, "projector_patch_to_query_dict", None)
    if isinstance(queries, dict) and queries:  # Aria: only some patch counts have queries
        size = isqrt(min(int(k) for k in queries)) * first_int(vision, ("patch_size",), 14)
    h, w = (size, size) if isinstance(size, int) else tuple(size)[-2:]  # (ints, as configs hold)
    shuffle = (
        getattr(config, "scale_factor", None)
        or getattr(config, "pixel_shuffle_factor", None)
        or getattr(vision, "num_windows", None)
    )
    patch = first_int(vision, ("patch_size",), 0)
    if isinstance(shuffle, int) and shuffle > 1 and patch and (h // patch) % shuffle:
        # Idefics3, SmolVLM: the connector pixel-shuffles the patch grid by `scale_factor`;
        # RF-DETR's backbone splits it into `num_windows` a side. Each side must then be a
        # whole number of p · s pixels (Idefics3's 224 pixels at patch 32 and factor 2 are 7
        # patches: rounded up to 8, 256 pixels; RF-DETR's 518 at 14 and 4 windows: 560)
        h = w = -(-max(h, w) // (patch * shuffle)) * patch * shuffle
    channels: Any = getattr(vision, "num_channels", None) or getattr(config, "num_channels", 3)
    frames = getattr(vision, "num_frames", None)
    if isinstance(frames, int) and frames > 0:  # video: a clip of frames
        return Input((1, frames, channels, h, w))
    return Input((1, channels, h, w))


def video(config: Any) -> Input:
    """A clip: the vision config's frames (`num_frames`, `frames_per_clip`; else 16) of images at
    its size."""
    vision = sub(config, "vision_config", "video_config")
    frames = first_int(vision, ("num_frames", "frames_per_clip"), 0) or first_int(
        config, ("num_frames", "frames_per_clip"), VIDEO_FRAMES
    )
    return Input((1, frames, *image(config).shape[-3:]))


def audio(name: str, config: Any, model: nn.Module | None = None) -> Input:
    """Audio in the layout the config describes: raw samples (one second; codecs with their
    channel dim), a spectrogram (AST: max_length × mel bins; CLAP: 1 × 1001 × mel), Speech2Text
    frames × features, or log-mel features — mel × frames where a Conv1d reads the mel bins as
    channels (Whisper), else frames × mel (Parakeet, FastConformer)."""
    tower = audio_config(config)
    mel = mel_bins(tower)
    if name == "input_values":
        return _samples(tower, mel)
    if isinstance(getattr(tower, "spec_size", None), int):  # CLAP: 10 s at hop 480
        return Input((1, 1, CLAP_FRAMES, mel or 64))
    positions = getattr(tower, "max_source_positions", None)
    per_channel = getattr(tower, "input_feat_per_channel", None)
    if isinstance(per_channel, int):  # Speech2Text: frames × features
        channels = getattr(tower, "input_channels", 1)
        return Input((1, TOKENS * 4, per_channel * channels))
    frames = 2 * positions if isinstance(positions, int) else LOG_MEL_FRAMES
    mel = mel or 80
    stacked = first_int(tower, ("num_stacked_frames",), 1)
    width = first_int(sub(tower, "semantic_model_config"), PROJECTED_KEYS, 0)
    if width:  # w2v-BERT: one second of 10 ms frames, stacked to the projection's width
        return Input((1, SECOND_FRAMES // max(1, width // mel), width))
    if stacked > 1:  # FunASR: k frames of the 30 s window stacked into one, k × mel wide
        return Input((1, min(frames, LOG_MEL_FRAMES) // stacked, mel * stacked))
    if model is not None and not reads_mel_as_channels(model, mel):
        return Input((1, frames, mel))
    return Input((1, mel, frames))


def _samples(tower: Any, mel: int | None) -> Input:
    """Raw audio: a spectrogram (AST), a codec's channels × 1 s of whole hops, whole tokens of
    samples (Muse Spark), else one second at 16 kHz."""
    length = getattr(tower, "max_length", None)
    if isinstance(mel, int) and isinstance(length, int):  # a spectrogram (AST)
        return Input((1, length, mel))
    codec = codec_config(tower)
    if codec is not None:  # a codec: channels × 1 s of samples (whole hops)
        channels = first_int(codec, ("audio_channels", "channels"), 1)
        rate = first_int(codec, ("sampling_rate",), 0) or first_int(
            tower, ("sampling_rate",), AUDIO_SAMPLES
        )
        hop = first_int(codec, ("hop_length",), 1)
        return Input((1, channels, -(-rate // hop) * hop))
    unit = getattr(tower, "samples_per_token", None)
    if isinstance(unit, int) and unit > 1:  # Muse Spark: whole tokens of 1,920 samples
        rate = first_int(tower, ("sampling_rate",), AUDIO_SAMPLES)
        return Input((1, -(-rate // unit) * unit))
    return Input((1, AUDIO_SAMPLES))


def reads_mel_as_channels(model: nn.Module, mel: int) -> bool:
    """Whether the first convolution takes the mel bins as its input channels."""
    for module in model.modules():
        if isinstance(module, nn.Conv1d | nn.Conv2d):
            return isinstance(module, nn.Conv1d) and module.in_channels == mel
    return True


def audio_frames(features: Input, config: Any) -> int:
    """The time steps of an audio input: its samples, or the frames of its features (the dim
    that is not the mel bins)."""
    dims = features.shape[1:]
    mel = mel_bins(audio_config(config))
    if len(dims) == 2 and (dims[0] == mel or dims[0] <= 2):  # mel × frames; channels × samples
        return dims[1]
    return dims[0]


def series(name: str, config: Any) -> Input:
    """Time-series inputs: `context_length` steps of `num_input_channels` values (a single
    series when the config has no channels), with their padding; one frequency class."""
    if name == "freq":
        return Input((1, 1), LONG)
    steps = first_int(config, ("context_length", "context_len"), TOKENS)
    if name == "past_values_padding":
        return Input((1, steps), LONG)
    channels = getattr(config, "num_input_channels", None)
    return Input((1, steps, channels)) if isinstance(channels, int) else Input((1, steps))


def _paired(config: Any) -> bool:
    """SegGPT's config gives the size of image and prompt stacked (896 × 448 for two 448²)."""
    return getattr(config, "model_type", "") == "seggpt"


#: Inputs whose widths a config key gives: LXMERT's regions, a Decision Transformer's steps.
WIDTH_KEYS = {
    "visual_feats": "visual_feat_dim",
    "visual_pos": "visual_pos_dim",
    "states": "state_dim",
    "actions": "act_dim",
}


def named(name: str, config: Any) -> Input | None:
    """Inputs whose shape the config gives by name."""
    width = WIDTH_KEYS.get(name)
    if width is not None and isinstance(getattr(config, width, None), int):
        steps = REGIONS if name.startswith("visual") else STEPS
        return Input((1, steps, getattr(config, width)))
    if name in ("rewards", "returns_to_go"):
        return Input((1, STEPS, 1))
    if name == "timesteps":
        return Input((1, STEPS), LONG)
    if name in ("pixel_values", "prompt_pixel_values", "prompt_masks") and _paired(config):
        batch, channels, h, w = image(config).shape  # SegGPT: image and prompt stacked
        return Input((batch, channels, h // 2, w))
    if name == "high_res_pixel_values":  # DeepSeek-VL hybrid: the SAM tower's image
        side = first_int(sub(config, "high_res_vision_config"), ("image_size",), 1024)
        return Input((1, 3, side, side))
    if name == "encoder_hidden_states" and isinstance(
        getattr(config, "encoder_hidden_size", None), int
    ):  # a Q-Former alone: the image encoder's states it attends to
        return Input((1, tokens(config), config.encoder_hidden_size))
    if name == "image_embeds_position_mask":  # Kosmos-2: where the image's latents go
        return Input((1, tokens(config)), LONG)
    if name == "target_sizes":  # MiniCPM's vision tower: each image's patch grid
        return Input((1, 2), LONG)
    if name == "classes_structure":  # OmDet: how many classes each sample's prompt holds
        return Input((1,), LONG)
    if name == "inputs" and isinstance(getattr(config, "d_latents", None), int):  # Perceiver
        return Input((1, tokens(config), config.d_model))
    if name == "flattened_patches":  # Pix2Struct: row, column, then the patch's values
        return Input((1, MAX_PATCHES, first_int(config, ("patch_embed_hidden_size",), 768) + 2))
    if name.endswith("_attention_mask") and name != "decoder_attention_mask":
        return Input((1, tokens(config)), LONG)  # a prompt's mask, over its tokens
    return None


def spec_for(name: str, config: Any, model: nn.Module | None = None) -> Input | None:
    """The default tensor of one named input, or None for an argument netcost cannot make up."""
    found = named(name, config)
    if found is not None:
        return found
    if name == "decoder_input_ids" and model is not None and codebooks_last(model):
        codebooks = first_int(sub(config, "decoder_config"), ("num_channels",), 0)
        if codebooks:  # Dia: each decoder step is one token of each of its 9 codebooks
            return Input((1, tokens(config), codebooks), LONG)
    ids = name.endswith("input_ids") and not name.startswith(("decoder", "qformer"))
    if ids and model is not None and not getattr(config, "is_encoder_decoder", False):
        books = codebook_offsets(model)  # (Dia's offsets are its decoder's, not its text's)
        if books:  # Kyutai, Inkling's audio: a token of each of K codebooks per step
            return Input((1, tokens(config), books), LONG)
    if name.endswith("input_ids") or name == "token_type_ids":  # qformer_input_ids too
        return Input((1, tokens(config)), LONG)
    first = first_layer(model) if name == "hidden_states" and model is not None else None
    if isinstance(first, nn.Conv1d):  # VibeVoice's tokenizers: channels × time, 1 s of audio
        audio_in = first.in_channels == first_int(config, ("channels", "audio_channels"), 0)
        rate = first_int(config, ("sampling_rate",), AUDIO_SAMPLES)
        return Input((1, first.in_channels, rate if audio_in else tokens(config)))
    if name in ("inputs_embeds", "query_embeds", "hidden_states"):
        hidden = first_int(sub(config, "text_config"), ("hidden_size", "d_model"), 0)
        if not hidden and name == "hidden_states":  # a vision model whose input is so named
            return image(config)
        return Input((1, tokens(config), hidden)) if hidden else None
    if name == "pixel_values":
        return image(config)
    if name in VIDEO_INPUTS:
        return video(config)
    if name in ("past_values", "past_values_padding", "freq"):
        return series(name, config)
    return _speech(name, config, model)


def _speech(name: str, config: Any, model: nn.Module | None) -> Input | None:
    """Audio inputs (SpeechT5 without pre-nets: hidden states), layout boxes, language ids,
    PI0's actions, masks, else what the forward's docstring shapes."""
    encoder = getattr(model, "encoder", None)
    if name == "decoder_input_values":
        encoder = getattr(model, "decoder", None)
    if name.endswith("input_values") and type(encoder).__name__.endswith("WithoutPrenet"):
        hidden = first_int(config, ("hidden_size",), 0)  # SpeechT5 alone: hidden states
        return Input((1, tokens(config), hidden)) if hidden else None
    if name in AUDIO_INPUTS:
        return audio(name, config, model)
    if name == "audio_mel":  # Gemma 3n's audio encoder alone: frames × mel bins
        return audio("input_features", config, model)
    reads = getattr(encoder, "main_input_name", None)
    if name == "inputs" and reads in AUDIO_INPUTS:
        # a speech encoder-decoder's `inputs`: what its encoder reads, as its config says
        return audio(reads, getattr(config, "encoder", config), encoder)
    if name == "bbox":
        return Input((1, tokens(config), 4), LONG)
    if name == "lang_ids":
        return Input((1, tokens(config)), LONG)
    expert = getattr(config, "dit_config", None)
    if name == "action_embeds" and expert is not None:  # PI0: the robot state, then a chunk
        steps = first_int(config, ("chunk_size",), 50)  # of actions, in the action expert's
        return Input((1, 1 + steps, first_int(expert, ("hidden_size",), 1024)))  # width
    if name in ("attention_mask", "decoder_attention_mask"):
        return Input((1, tokens(config)), LONG)
    return documented(name, config, model) if model is not None else None


def first_layer(model: nn.Module) -> nn.Module | None:
    """The first convolution, Linear or embedding the model registers (its input layer)."""
    kinds = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear, nn.Embedding)
    return next((m for m in model.modules() if isinstance(m, kinds)), None)


def codebook_offsets(model: nn.Module) -> int:
    """K, where the model's first embedding table sits in a module that adds a K-long offsets
    buffer to its ids (one offset per codebook) and sums the K embeddings of each step; else
    0. (Higgs Audio's codebook table comes after its text table: its text ids stay plain.)"""
    path = next((n for n, m in model.named_modules() if isinstance(m, nn.Embedding)), None)
    if path is None:
        return 0
    parent = model.get_submodule(path.rpartition(".")[0]) if "." in path else model
    for name, buffer in parent.named_buffers(recurse=False):
        if name.endswith("offsets") and buffer.dim() == 1 and sums_offset_codebooks(parent, name):
            return buffer.numel()
    return 0


def documented(name: str, config: Any, model: nn.Module) -> Input | None:
    """An argument the forward's own docstring gives a shape to (`latents (torch.Tensor of shape
    (batch_size, hidden_size, frames))`): batch 1, lengths TOKENS, image sides the config's,
    every other dimension a config value of that name; None when one is unknown."""
    found = documented_shape(model, name)
    if found is None:
        return None
    kind, dims = found
    side = image(config).shape[-1]
    sizes = []
    for dim in dims:
        size = _documented_size(dim.removeprefix("config."), config, side)
        if size is None:
            return None
        sizes.append(size)
    dtype = LONG if "Long" in kind else torch.bool if "Bool" in kind else torch.float32
    return Input(tuple(sizes), dtype)


def _documented_size(dim: str, config: Any, side: int) -> int | None:
    """One dim a docstring names, as a size."""
    times = re.fullmatch(r"(\w+) \* len\(config\.(\w+)\)", dim)  # Muse Glimmer's
    if times:  # `dim * len(config.target_layer_ids)`: the width of each layer listed
        width = config_int(config, "hidden_size" if times[1] == "dim" else times[1])
        listed = getattr(config, times[2], None)
        if width is None or not isinstance(listed, list | tuple):
            return None
        return width * len(listed)
    if dim == "dim":
        return first_int(config, ("hidden_size",), 0) or tokens(config)
    if dim.endswith("tokens") or dim in LENGTH_WORDS:  # `number_of_previous_accepted_tokens`
        return tokens(config)
    if dim.isdigit():
        return int(dim)
    if dim == "batch_size":
        return 1
    if dim in ("height", "width"):
        return side
    if dim in ("num_channels", "channels"):
        return first_int(config, ("num_channels", "audio_channels", "channels"), 3)
    return config_int(config, dim)
