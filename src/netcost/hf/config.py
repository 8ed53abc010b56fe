"""Reading a transformers config: nested towers, the first usable value of several keys, and
the sizes every input rule starts from (token count, a plain token id, the audio tower)."""

from __future__ import annotations

from typing import Any

from netcost.hf.keys import CODEC_KEYS, CODEC_RATIOS, MEL_KEYS, POSITION_KEYS, TOKENS


def sub(config: Any, *names: str) -> Any:
    """The first nested config of those names, else the config itself."""
    for name in names:
        nested = getattr(config, name, None)
        if nested is not None and not isinstance(nested, dict):
            return nested
    return config


def dotted(config: Any, path: str) -> Any:
    """The value at a dotted path ("vision_config.image_size"); None where a step is missing or
    a plain dict."""
    for key in path.split("."):
        config = getattr(config, key, None)
        if config is None or isinstance(config, dict):
            return None
    return config


def first_int(config: Any, keys: tuple[str, ...], default: int) -> int:
    """The first positive int among `keys` (a list's first item counts), else `default`."""
    for key in keys:
        value = getattr(config, key, None)
        if isinstance(value, list | tuple) and value:
            value = value[0]
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return default


def config_int(config: Any, key: str, depth: int = 0) -> int | None:
    """The config's (or a nested config's, two levels down) integer `key`."""
    value = getattr(config, key, None)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if depth < 2:
        for attribute in vars(config) if hasattr(config, "__dict__") else ():
            nested = getattr(config, attribute, None)
            if hasattr(nested, "to_dict"):
                found = config_int(nested, key, depth + 1)
                if found is not None:
                    return found
    return None


def global_value(config: Any, key: str) -> Any:
    """A config's value for `key`; None where it has none or where the value varies by layer
    (Gemma 4's and DOTS's per-layer head counts refuse a global read)."""
    try:
        return getattr(config, key, None)
    except Exception:  # transformers' AmbiguousGlobalPerLayerAttributeError, among others
        return None


def tokens(config: Any) -> int:
    """128, or the text config's position limit when smaller (CLIP's text tower: 77)."""
    text = sub(config, "text_config", "decoder")
    limits = [getattr(text, k) for k in POSITION_KEYS if isinstance(getattr(text, k, None), int)]
    return min([TOKENS, *[n for n in limits if n > 0]])


def token_id(config: Any, keys: tuple[str, ...]) -> int | None:
    """The config's placeholder token of those keys (`image_token_id`, …), or None."""
    return next((v for k in keys if isinstance(v := getattr(config, k, None), int)), None)


def text_token(config: Any, *placeholders: int) -> int:
    """A plain token id: 1, or the first id after it that is no special token of the config."""
    special = {
        v
        for k, v in vars(config).items()
        if isinstance(v, int) and ("token_id" in k or "token_index" in k)
    } | set(placeholders)
    return next(i for i in range(1, 1 << 20) if i not in special)


def audio_config(config: Any) -> Any:
    """The audio tower's config: `audio_config` or `encoder_config`, also inside an
    audio-video config (PE Audio-Video); else the config itself."""
    return sub(sub(config, "audio_video_config"), "audio_config", "encoder_config")


def codec_config(config: Any) -> Any:
    """The (nested) config of a codec — one with up- or down-sampling ratios — or None."""
    for nested in (config, *(getattr(config, k, None) for k in CODEC_KEYS)):
        if nested is not None and any(hasattr(nested, k) for k in CODEC_RATIOS):
            return nested
    return None


def mel_bins(audio: Any) -> int | None:
    """The mel bins of an audio config, or of its speech encoder's (NeMo's `asr_config`)."""
    for where in (audio, getattr(audio, "asr_config", None)):
        for key in MEL_KEYS:
            if isinstance(value := getattr(where, key, None), int):
                return value
    return None


def timm_size(config: Any, depth: int = 0) -> int | tuple[int, ...]:
    """A timm backbone's input size (a TimmWrapperConfig's `architecture`, found in the nested
    configs), from timm's pretrained config for it; 224 when there is none."""
    architecture = getattr(config, "architecture", None)
    if isinstance(architecture, str):
        try:
            import timm

            pretrained = timm.get_pretrained_cfg(architecture)
            size = pretrained.input_size if pretrained is not None else None
            if size:
                return tuple(size[-2:])
        except Exception:  # no timm, or an architecture it does not know
            pass
    if depth < 3:
        for key in ("vision_config", "video_config", "backbone_config"):
            nested = getattr(config, key, None)
            if nested is not None and not isinstance(nested, dict):
                found = timm_size(nested, depth + 1)
                if found != 224:
                    return found
    return 224
