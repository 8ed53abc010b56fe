"""Default transformers configs that disagree with themselves, and how to mend them.

Some default configs pair parts sized for different checkpoints, so the model's own forward
fails on its own default:
- a vision (or audio) tower's output width differs from the text model's: Qwen3-VL's image
  features come out `vision_config.out_hidden_size` = 3584 wide into a text model of
  `text_config.hidden_size` = 4096, and transformers refuses to write them into the text
  embeddings. Released checkpoints have the two equal: the mend sets the tower's to the text's.
- a multimodal rotary embedding's sections do not cover its frequencies: GLM-4V splits
  head_dim / 2 = 64 frequencies into `mrope_section` = [8, 12, 12] (32). Released checkpoints
  rotate half of each head (`partial_rotary_factor` 0.5: 128 · 0.5 / 2 = 32 frequencies): the
  mend sets the factor that makes the sections cover the frequencies exactly.
- a multimodal model has no image placeholder token: BLIP-2's and InstructBLIP's default configs
  leave `image_token_index` None, so the image features have no place among the text tokens
  (the placeholder mask becomes a Python bool). Released checkpoints add one token to the
  vocabulary for it: the mend takes the text vocabulary's last id.
- a connector pixel-shuffles a patch grid its factor does not divide: ModernVBERT's 224-pixel
  images are 14 patches of 16 a side, shuffled by 4, and its SigLIP tower's positions fix the
  grid. The mend sets the tower's image size up to whole p · f tiles (256 pixels: 16 patches);
  released checkpoints use 512.
- an image tower with fewer patches than the tokens its pooling keeps: Gemma 3's default pools
  224-pixel images (14 patches of 16 a side) to mm_tokens_per_image = 256, 16 a side, with a
  kernel of 14 // 16 = 0. The mend sets the tower's image size to the smallest whole number of
  16 · 16-pixel pools (256 pixels; released checkpoints use 896 at patch 14, pools of 4).
- a hybrid state-space model configured with no attention layer: Bamba's and GraniteMoE-Hybrid's
  defaults are all Mamba layers, and the cache their forward makes then fails when asked for
  its attention length. The mend runs the forward without a cache (`use_cache=False`): one
  forward's arithmetic is the same, only the states kept for a next call are not built.
- a key the model needs left None: DeepSeek-V2's default (64 routed experts, V2-Lite's shape)
  has no `num_experts_per_tok`, Step 3.5's no `sliding_window`. The mend takes the released
  checkpoints' value (RELEASED: the only per-model figures here, each with its source).
- a pixel-shuffle adapter whose widths disagree: Llama 4's default vision tower is 768 wide, but
  its adapter's first Linear takes intermediate_size = 5,632 = 1,408 / 0.5² features per
  shuffled patch, and its projector reads vision_output_dim = 7,680 where the adapter writes
  projector_output_dim = 4,096. The mends set 1,408 and 4,096, the released Llama 4 widths.
- a misspelt key: EdgeTAM's default timm backbone config names `archirecture` = repvit_m1, which
  nothing reads, so the backbone built is its `architecture`, resnet50, whose channels the neck
  (built for RepViT's 48…384) cannot take. The mend sets `architecture` to the one meant.
- a detector with no feature level: LW-DETR's default `projector_scale_factors` is empty, so
  its projector hands the decoder nothing. The mend takes the two scales transformers' own
  LW-DETR page describes (1/8 and 1/32 from the encoder's 1/16: factors 2.0 and 0.5), with the
  channel list and level count the config derives from them.
sources.py applies the mends only to a default config the model cannot run, never to a key the
user set, and the report says what it did.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import isqrt
from typing import Any, TypeGuard

from torch import nn

from netcost.hf.keys import AUDIO_TOKEN_KEYS, IMAGE_TOKEN_KEYS, VIDEO_TOKEN_KEYS

#: A tower's config keys that hold the width of the features it hands the text model.
OUTPUT_WIDTHS = ("out_hidden_size", "output_dim", "projection_dim")
TOWERS = ("vision_config", "audio_config")


@dataclass(frozen=True)
class Mend:
    path: tuple[str, ...]  # ("vision_config", "out_hidden_size"); a dict's key last
    was: Any
    now: Any
    why: str
    source: str = "as in released checkpoints"
    #: keys the config derives from this one when it is built, set with it: ((path, value), …)
    derived: tuple[tuple[tuple[str, ...], Any], ...] = ()

    def apply(self, config: Any) -> None:
        for path, value in ((self.path, self.now), *self.derived):
            *outer, leaf = path
            holder = config
            for key in outer:
                holder = holder[key] if isinstance(holder, dict) else getattr(holder, key)
            if isinstance(holder, dict):
                holder[leaf] = value
            else:
                setattr(holder, leaf, value)

    def note(self, label: str) -> str:
        key = ".".join(self.path)
        return (
            f"{label}'s default config fails as it is ({self.why}): analysed with "
            f"{key}={self.now}, {self.source}; set it to choose"
        )


def mends(config: Any, model: nn.Module, overrides: dict[str, Any]) -> list[Mend]:
    """Every disagreement of the default config that a mend resolves, where the user set
    none of the keys involved."""
    return [
        *_widths(config, overrides),
        *_rotary_sections(config, model, overrides),
        *_image_token(config, overrides),
        *_shuffled_grid(config, overrides),
        *_pooled_tokens(config, overrides),
        *_attention_free_cache(config, overrides),
        *_released(config, overrides),
        *_pixel_shuffle_widths(config, overrides),
        *_misspelt_architecture(config, overrides),
        *_feature_levels(config, overrides),
    ]


def _feature_levels(config: Any, overrides: dict[str, Any]) -> list[Mend]:
    scales = vars(config).get("projector_scale_factors")
    width = getattr(config, "d_model", None)
    if scales is None or len(scales) or "projector_scale_factors" in overrides:
        return []
    if not isinstance(width, int):
        return []
    why = "projector_scale_factors is empty: the projector hands the decoder no feature level"
    source = "the two scales of transformers' LW-DETR page (1/8 and 1/32)"
    derived = ((("projector_in_channels",), [width, width]), (("num_feature_levels",), 2))
    return [Mend(("projector_scale_factors",), list(scales), [2.0, 0.5], why, source, derived)]


def _misspelt_architecture(config: Any, overrides: dict[str, Any]) -> list[Mend]:
    for path in (("backbone_config",), ("vision_config", "backbone_config")):
        holder, given = config, overrides
        for key in path:
            holder, given = getattr(holder, key, None), given.get(key, {})
        meant, built = getattr(holder, "archirecture", None), getattr(holder, "architecture", None)
        if isinstance(meant, str) and meant != built and "architecture" not in given:
            where = ".".join(path)
            why = (
                f"{where}.archirecture = {meant!r}, misspelt, is never read: the backbone built "
                f"is {built!r}, whose channels its neck does not take"
            )
            return [Mend((*path, "architecture"), built, meant, why, "the architecture meant")]
    return []


def _pixel_shuffle_widths(config: Any, overrides: dict[str, Any]) -> list[Mend]:
    """Llama 4: the adapter's first Linear takes intermediate_size = hidden_size / ratio²
    features per shuffled patch, and the projector reads what the adapter writes."""
    nested = getattr(config, "vision_config", None) is not None  # else the tower's own config
    vision = config.vision_config if nested else config
    given = overrides.get("vision_config", {}) if nested else overrides
    where: tuple[str, ...] = ("vision_config",) if nested else ()
    ratio = getattr(vision, "pixel_shuffle_ratio", None)
    hidden, inner = getattr(vision, "hidden_size", None), getattr(vision, "intermediate_size", None)
    if not isinstance(ratio, float) or not isinstance(hidden, int) or not isinstance(inner, int):
        return []
    found = []
    width = round(inner * ratio * ratio)
    if width != hidden and "hidden_size" not in given and "intermediate_size" not in given:
        why = (
            f"vision_config.hidden_size = {hidden:,} but its pixel shuffle by {ratio} feeds "
            f"intermediate_size = {inner:,} = {width:,} / {ratio}²"
        )
        found.append(Mend((*where, "hidden_size"), hidden, width, why))
    out, written = (getattr(vision, k, None) for k in ("vision_output_dim", "projector_output_dim"))
    mine = "vision_output_dim" in given or "projector_output_dim" in given
    if isinstance(out, int) and isinstance(written, int) and out != written and not mine:
        why = f"vision_output_dim = {out:,} but its adapter writes {written:,}"
        found.append(Mend((*where, "vision_output_dim"), out, written, why))
    return found


#: Released checkpoints' values for keys their model type's default config leaves None, with
#: why the default fails without them: DeepSeek-V2 and V2-Lite route each token to 6 experts
#: (DeepSeek-OCR 2's text model is V2-Lite's); Step-3.5-Flash's sliding-window layers attend
#: to 128 positions (StepFun's model card), and Step 3.7's text model is a Step 3.5. A key the
#: config class does not declare (GLM-4V-MoE's head_dim) counts as None.
RELEASED = {
    "deepseek_v2": (("num_experts_per_tok",), 6, "the router has no top-k"),
    "deepseek_ocr2_text": (("num_experts_per_tok",), 6, "the router has no top-k"),
    "step3p5": (("sliding_window",), 128, "its sliding-window layers have no window"),
    "step3p7": (("text_config", "sliding_window"), 128, "its sliding-window layers have no window"),
    # GLM-4.5V (zai-org/GLM-4.5V config.json): 96 heads of 128; without a head_dim the heads
    # are 4,096 / 96 = 42 wide, too few frequencies for the rotary sections [8, 12, 12]
    "glm4v_moe_text": (("head_dim",), 128, "heads of 4,096 / 96 = 42 miss the rotary sections"),
    "glm4v_moe": (
        ("text_config", "head_dim"),
        128,
        "heads of 4,096 / 96 = 42 miss the rotary sections",
    ),
    # Qwen3-Omni's thinker (Qwen/Qwen3-Omni-30B-A3B-Instruct config.json): heads of 128, as its
    # rotary sections [24, 20, 20] (64 frequencies) assume; 2,048 / 28 heads would be 73
    "qwen3_omni_moe_thinker": (
        ("text_config", "head_dim"),
        128,
        "heads of 2,048 / 28 = 73 miss the rotary sections",
    ),
}


def _released(config: Any, overrides: dict[str, Any]) -> list[Mend]:
    found = RELEASED.get(getattr(config, "model_type", ""))
    if found is None:
        return []
    path, value, consequence = found
    *outer, leaf = path
    holder, given = config, overrides
    for key in outer:
        holder, given = getattr(holder, key, None), given.get(key, {})
    if holder is None or leaf in given or getattr(holder, leaf, None) is not None:
        return []
    why = f"{'.'.join(path)} is None: {consequence}"
    return [Mend(path, None, value, why)]


#: Layer kinds that keep recurrent state rather than attention keys and values.
STATE_LAYERS = frozenset({"linear_attention", "mamba", "mamba2"})


def _attention_free_cache(config: Any, overrides: dict[str, Any]) -> list[Mend]:
    if getattr(config, "use_cache", None) is not True or "use_cache" in overrides:
        return []
    kinds = getattr(config, "layer_types", None)
    all_state = isinstance(kinds, list) and kinds and set(kinds) <= STATE_LAYERS
    no_attention = "attn_layer_indices" in vars(config) and not config.attn_layer_indices
    if not (all_state or no_attention):
        return []
    why = "no layer attends, and the cache its forward builds is asked for an attention length"
    source = "one forward's arithmetic without the states kept for a next call"
    return [Mend(("use_cache",), True, False, why, source)]


def _pooled_tokens(config: Any, overrides: dict[str, Any]) -> list[Mend]:
    """Gemma 3's projector pools the patch grid to √mm_tokens_per_image a side: the tower's
    image size rounded up to whole pools of patch pixels."""
    for where in ((), ("encoder",)):
        outer, given = config, overrides
        for key in where:
            outer, given = getattr(outer, key, None), given.get(key, {})
        tokens = getattr(outer, "mm_tokens_per_image", None)
        vision = getattr(outer, "vision_config", None)
        size, patch = getattr(vision, "image_size", None), getattr(vision, "patch_size", None)
        if not (_positive(tokens) and _positive(size) and _positive(patch)):
            continue
        side = isqrt(tokens)
        patches = size // patch
        if patches % side == 0 or "image_size" in given.get("vision_config", {}):
            return []
        rounded = -(-patches // side) * side * patch
        why = (
            f"{size}-pixel images are {patches} patches of {patch} a side, which cannot be "
            f"pooled to mm_tokens_per_image = {tokens}, {side} a side"
        )
        source = f"the smallest size of whole {side}-a-side pools"
        return [Mend((*where, "vision_config", "image_size"), size, rounded, why, source)]
    return []


def _shuffled_grid(config: Any, overrides: dict[str, Any]) -> list[Mend]:
    """The vision tower's image size rounded up to a whole number of patch · factor pixels."""
    factor = getattr(config, "scale_factor", None) or getattr(config, "pixel_shuffle_factor", None)
    vision = getattr(config, "vision_config", None)
    size, patch = getattr(vision, "image_size", None), getattr(vision, "patch_size", None)
    if not (_positive(factor) and _positive(size) and _positive(patch)):
        return []
    if (size // patch) % factor == 0 or "image_size" in overrides.get("vision_config", {}):
        return []
    rounded = -(-size // (patch * factor)) * patch * factor
    why = (
        f"{size}-pixel images are {size // patch} patches of {patch} a side, which the "
        f"connector cannot pixel-shuffle by {factor}"
    )
    source = f"the next size of whole {patch}·{factor}-pixel tiles"
    return [Mend(("vision_config", "image_size"), size, rounded, why, source)]


def _image_token(config: Any, overrides: dict[str, Any]) -> list[Mend]:
    """A placeholder token (image, video or audio) the config declares but leaves None: the
    text vocabulary's last id (released checkpoints append the token to the vocabulary). Not
    where the user set the key or one of its aliases (`attribute_map`)."""
    aliases = getattr(type(config), "attribute_map", {})
    vocab = getattr(getattr(config, "text_config", None), "vocab_size", None)
    if not isinstance(vocab, int):
        return []
    for key in (*IMAGE_TOKEN_KEYS, *VIDEO_TOKEN_KEYS, *AUDIO_TOKEN_KEYS):
        if key not in vars(config) or getattr(config, key) is not None:
            continue
        names = {key, *(alias for alias, real in aliases.items() if real == key)}
        if names & set(overrides):
            return []
        why = f"{key} is None: the {key.split('_')[0]} features have no place among the text tokens"
        source = "the text vocabulary's last id (released checkpoints add a token for it)"
        return [Mend((key,), None, vocab - 1, why, source)]
    return []


def _widths(config: Any, overrides: dict[str, Any]) -> list[Mend]:
    return [*_tower_widths(config, overrides), *_projector_width(config, overrides)]


def _projector_width(config: Any, overrides: dict[str, Any]) -> list[Mend]:
    """Granite Speech: the projector's Q-Former attends to encoder states `encoder_hidden_size`
    wide, the encoder's `hidden_dim`; released checkpoints have them equal."""
    projector, encoder = (getattr(config, k, None) for k in ("projector_config", "encoder_config"))
    wanted, width = (
        getattr(projector, "encoder_hidden_size", None),
        getattr(encoder, "hidden_dim", None),
    )
    given = overrides.get("projector_config", {})
    if not (isinstance(wanted, int) and isinstance(width, int)) or wanted == width:
        return []
    if "encoder_hidden_size" in given or "hidden_dim" in overrides.get("encoder_config", {}):
        return []
    why = (
        f"projector_config.encoder_hidden_size = {wanted:,} but encoder_config.hidden_dim = "
        f"{width:,}"
    )
    return [Mend(("projector_config", "encoder_hidden_size"), wanted, width, why)]


def _tower_widths(config: Any, overrides: dict[str, Any]) -> list[Mend]:
    text = getattr(config, "text_config", None)
    width = getattr(text, "hidden_size", None)
    if not isinstance(width, int) or "hidden_size" in overrides.get("text_config", {}):
        return []
    found = []
    for tower in TOWERS:
        sub = getattr(config, tower, None)
        given = overrides.get(tower, {})
        twin = sub is not None and "embed_dim" in vars(sub)
        keys = [*OUTPUT_WIDTHS, *(("hidden_size",) if twin else ())]
        for key in keys:  # Qwen2-VL: beside its embed_dim, hidden_size is the merger's output
            value = getattr(sub, key, None)
            if isinstance(value, int) and value != width and key not in given:
                why = f"{tower}.{key} = {value:,} but text_config.hidden_size = {width:,}"
                found.append(Mend((tower, key), value, width, why))
    own = vars(config).get("hidden_size")
    visual = getattr(getattr(config, "vision_config", None), "vocab_size", None)
    table = isinstance(visual, int) and isinstance(own, int)  # Ovis2: its visual table's width
    if table and own != width and "hidden_size" not in overrides:
        why = f"hidden_size = {own:,} but text_config.hidden_size = {width:,}"
        found.append(Mend(("hidden_size",), own, width, why))
    return found


def _positive(value: Any) -> TypeGuard[int]:
    """A config value that is a whole number of one or more."""
    return isinstance(value, int) and value > 0


def _rotary_sections(config: Any, model: nn.Module, overrides: dict[str, Any]) -> list[Mend]:
    """The rotary factor f' = f · Σ sections / frequencies, when that is at most 1."""
    rotary: Any = next((m for m in model.modules() if hasattr(m, "mrope_section")), None)
    frequencies = getattr(rotary, "inv_freq", None)
    if rotary is None or frequencies is None:
        return []
    text, where = (
        (config.text_config, "text_config")
        if hasattr(config, "text_config")
        else (
            config,
            None,
        )
    )
    given = overrides.get(where, {}) if where else overrides
    parameters = getattr(text, "rope_parameters", None)
    covered, count = sum(rotary.mrope_section), frequencies.numel()
    if not isinstance(parameters, dict) or covered == count or "rope_parameters" in given:
        return []
    factor = Fraction(str(parameters.get("partial_rotary_factor", 1.0))) * covered / count
    if factor > 1:
        return []
    path = (*([where] if where else []), "rope_parameters", "partial_rotary_factor")
    why = f"rotary sections {list(rotary.mrope_section)} cover {covered} of {count} frequencies"
    return [Mend(path, parameters.get("partial_rotary_factor", 1.0), float(factor), why)]
