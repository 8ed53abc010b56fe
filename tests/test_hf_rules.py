"""The pieces of netcost.hf on their own: the `Input` type, the memoised probe, the predicates
that read a model's code and docstrings (each on a class that says it and one that does not),
and rules on hand-made drafts. tests/test_hf_inputs.py runs the real models each rule is for."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
import torch
from torch import nn

from netcost.hf import source
from netcost.hf.draft import Draft
from netcost.hf.probe import Probe
from netcost.hf.rules import RULES, multimodal, series, text, vision
from netcost.hf.rules import audio as audio_rules
from netcost.hf.select import wanted
from netcost.hf.spec import Input


def module_of(tmp_path: Path, code: str) -> ModuleType:
    """A module of its own for `code`, so that a predicate reading a whole file reads only it."""
    name = f"netcost_test_{abs(hash(code))}"
    path = tmp_path / f"{name}.py"
    path.write_text("from torch import nn\n\n" + inspect.cleandoc(code) + "\n")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# --- Input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["1x3x224x224", "1x128:int64", "1x1:bool", "1:int64"])
def test_an_input_prints_the_spec_it_was_read_from(spec):
    assert str(Input.parse(spec)) == spec


def test_an_input_of_values_takes_their_shape_and_dtype_and_a_resize_drops_them():
    given = Input.of(torch.tensor([[1, 2, 3]]))
    assert (given.shape, given.dtype, str(given)) == ((1, 3), torch.int64, "1x3:int64")
    assert given.tensor() is given.values
    resized = given.resized(1, 6)
    assert (str(resized), resized.values) == ("1x6:int64", None)
    assert resized.tensor().shape == (1, 6)  # a shape-only stand-in


# --- the probe ----------------------------------------------------------------------------------


CALLS: list[str] = []  # outside the model: netcost restores the model's own attributes


class Tower(nn.Module):
    """Image features: 4 × 4 patches of 8 pixels, 16 rows; `scale` read from the config."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 5, 8, stride=8)

    def get_image_features(self, pixel_values: torch.Tensor, scale: int = 1) -> torch.Tensor:
        CALLS.append("get_image_features")
        rows = self.patch(pixel_values).flatten(2).transpose(1, 2)  # (1, 16, 5)
        return rows.repeat(1, scale, 1)


def test_the_probe_counts_rows_passes_config_values_and_asks_each_question_once():
    tower = Tower()
    CALLS.clear()
    probe = Probe(SimpleNamespace(scale=3))
    image = {"pixel_values": Input((1, 3, 32, 32)), "unused": Input((1, 2))}
    assert probe.rows(tower, "get_image_features", image) == 3 * (32 // 8) ** 2
    assert probe.rows(tower, "get_image_features", image) == 48
    assert len(CALLS) == 1  # the second answer was remembered
    other = SimpleNamespace(scale=1)
    assert probe.rows(tower, "get_image_features", image, config=other) == 16
    assert len(CALLS) == 2  # another config is another question


def test_a_failing_probe_is_none_and_says_why_each_time_it_is_asked():
    probe, errors = Probe(SimpleNamespace()), []
    wrong = {"pixel_values": Input((1, 4, 32, 32))}  # 4 channels into a 3-channel conv
    assert probe.rows(Tower(), "get_image_features", wrong, errors) is None
    tower = Tower()
    assert probe.rows(tower, "get_image_features", wrong, errors) is None
    assert probe.rows(tower, "get_image_features", wrong, errors) is None
    assert len(errors) == 3 and all("Conv2d" in e or "channels" in e for e in errors)


# --- predicates over the model's own code and docstrings --------------------------------------


PREDICATES = [
    (
        source.drops_padding_images,
        "real = (pixel_values == 0.0).sum(dim=(-1, -2, -3)) != n",
        "real = pixel_values.sum()",
    ),
    (
        source.reads_image_pairs,
        "if pixel_values.size(1) != 2: raise ValueError",
        "if pixel_values.size(1) != 3: raise ValueError",
    ),
    (
        source.reads_image_stacks,
        "batch, images, channels, height, width = pixel_values.shape",
        "batch, channels, height, width = pixel_values.shape",
    ),
    (
        source.reads_image_stacks,
        "pixel_values = pixel_values.flatten(0, 1)",
        "pixel_values = pixel_values.flatten(1)",
    ),
    (
        source.refuses_ids,
        'raise ValueError("`input_ids` is expected to be `None`")',
        'raise ValueError("`input_ids` is required")',
    ),
]


@pytest.mark.parametrize(("predicate", "says", "does_not"), PREDICATES)
def test_a_predicate_over_code_sees_only_the_code_that_says_it(tmp_path, predicate, says, does_not):
    def model(line: str) -> nn.Module:
        code = f"""
            class Model(nn.Module):
                def forward(self, pixel_values=None, input_ids=None):
                    {line}
            """
        return module_of(tmp_path, code).Model()

    assert predicate(model(says)) and not predicate(model(does_not))


DOCSTRINGS = [
    (
        source.masks_tiles,
        "pixel_attention_mask (`torch.BoolTensor` of shape `(batch_size, num_tiles)`): which "
        "tiles are real. Required with `pixel_values`.",
        "pixel_attention_mask (`torch.BoolTensor` of shape `(batch_size, height, width)`).",
    ),
    (
        source.codebooks_last,
        "decoder_input_ids: of shape `(batch_size, target_sequence_length, num_codebooks)`.",
        "decoder_input_ids: of shape `(batch_size, target_sequence_length)`.",
    ),
    (
        source.masks_audio_features,
        "input_features_mask: a mask applied to audio features.",
        "input_features_mask: a mask applied to audio frames.",
    ),
    (
        source.token_squares,
        "pixel_values: `(patches, patch_size * spatial_merge_size, patch_size * "
        "spatial_merge_size, num_channels)`",
        "pixel_values: `(patches, num_channels * patch_size * patch_size)`",
    ),
]


@pytest.mark.parametrize(("predicate", "says", "does_not"), DOCSTRINGS)
def test_a_predicate_over_a_docstring_sees_only_the_docstring_that_says_it(
    predicate, says, does_not
):
    def model(doc: str) -> nn.Module:
        class Model(nn.Module):
            def forward(self) -> None:
                pass

        Model.forward.__doc__ = doc
        return Model()

    assert predicate(model(says)) and not predicate(model(does_not))


def test_frames_fold_into_the_batch_only_where_the_embedding_unpacks_four_dims(tmp_path):
    code = """
        class Embedding(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 4, 2)

            def forward(self, pixel_values):
                batch, channels, height, width = pixel_values.shape

        class Clip(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv3d(3, 4, 2)

            def forward(self, pixel_values):
                batch, frames, channels, height, width = pixel_values.shape

        class Tower(nn.Module):
            def __init__(self, embedding):
                super().__init__()
                self.embeddings = embedding
        """
    m = module_of(tmp_path, code)
    assert source.folds_frames(m.Tower(m.Embedding()))
    assert not source.folds_frames(m.Tower(m.Clip()))


def test_negation_offsets_and_summed_audio_are_read_from_the_forward(tmp_path):
    code = """
        class Model(nn.Module):
            def forward(self, input_features_mask, inputs_embeds, audio_embeds):
                keep = ~input_features_mask
                inputs_embeds += audio_embeds

        class Codebooks(nn.Module):
            def forward(self, ids):
                return self.table(ids + self.offsets).sum(dim=2)
        """
    m = module_of(tmp_path, code)
    assert source.negates(m.Model(), "input_features_mask")
    assert not source.negates(m.Model(), "attention_mask")
    assert source.sums_audio_into_tokens(m.Model()) and not source.sums_audio_into_tokens(None)
    assert source.sums_offset_codebooks(m.Codebooks(), "offsets")
    assert not source.sums_offset_codebooks(m.Model(), "offsets")


def test_a_documented_shape_is_read_with_its_type():
    class Model(nn.Module):
        def forward(self, latents: torch.Tensor) -> None:
            """
            Args:
                latents (`torch.FloatTensor` of shape `(batch_size, hidden_size, frames)`):
                    the codec's latents.
            """

    assert source.documented_shape(Model(), "latents") == (
        "torch.FloatTensor",
        ["batch_size", "hidden_size", "frames"],
    )
    assert source.documented_shape(Model(), "codes") is None


# --- selection and rules on hand-made drafts ----------------------------------------------------


class TwoTowers(nn.Module):
    main_input_name = "input_ids"

    def forward(self, input_ids, pixel_values=None, attention_mask=None):
        pass


def test_a_model_with_a_vision_config_is_fed_an_image_beside_its_text():
    model = TwoTowers()
    params = dict(inspect.signature(model.forward).parameters)
    seeing = SimpleNamespace(vision_config=SimpleNamespace(image_size=32))
    assert wanted(model, seeing, params) == ["input_ids", "pixel_values"]
    assert wanted(model, SimpleNamespace(), params) == ["input_ids"]


def draft(config: object, params: tuple[str, ...], **inputs: Input) -> Draft:
    class Model(nn.Module):
        pass

    found = dict.fromkeys(params, inspect.Parameter("x", inspect.Parameter.KEYWORD_ONLY))
    return Draft(Model(), config, found, dict(inputs))


def test_every_rule_has_a_docstring_that_names_what_it_is_for():
    assert all((rule.__doc__ or "").strip() for rule in RULES)
    assert len({rule.__name__ for rule in RULES}) == len(RULES)


def test_known_values_of_series_prompts_and_tokens():
    d = draft(
        SimpleNamespace(pad_token_id=1, eos_token_id=2),
        (),
        input_ids=Input((1, 4), torch.int64),
        attention_mask=Input((1, 4), torch.int64),
        image_attention_mask=Input((1, 4, 1), torch.int64),
        pixel_attention_mask=Input((1, 2), torch.bool),
        decoder_attention_mask=Input((1, 4), torch.int64),
        timesteps=Input((1, 3), torch.int64),
        freq=Input((1, 1), torch.int64),
    )
    series.known_values(d)
    text.prompt_masks(d)
    text.ordinary_tokens(d)
    values = {n: i.values.tolist() for n, i in d.inputs.items() if i.values is not None}
    assert values == {
        "input_ids": [[3] * 4],  # 1 and 2 are the config's special tokens
        "image_attention_mask": [[[1]] * 4],
        "pixel_attention_mask": [[True, True]],
        "timesteps": [[0, 1, 2]],
        "freq": [[0]],
    }  # the prompt's own and the decoder's masks keep no values (shapes only)


def test_kosmos2_latents_follow_the_first_token():
    d = draft(SimpleNamespace(latent_query_num=3), (), image_embeds_position_mask=Input((1, 6)))
    multimodal.latent_positions(d)
    assert d.inputs["image_embeds_position_mask"].values.tolist() == [[0, 1, 1, 1, 0, 0]]


def test_image_layouts_by_patches_tiles_and_positions():
    vision_config = SimpleNamespace(
        patch_size=16, num_channels=3, max_num_tiles=4, pooling_kernel_size=3
    )
    config = SimpleNamespace(vision_config=vision_config)
    d = draft(config, ("spatial_shapes",), pixel_values=Input((1, 3, 64, 64)))
    vision.naflex_patches(d)  # (64 / 16)² = 16 patches of 3 · 16² values
    assert [str(i) for i in d.inputs.values()] == ["1x16x768", "1x16:int64", "1x2:int64"]
    assert d.inputs["spatial_shapes"].values.tolist() == [[4, 4]]

    d = draft(config, ("aspect_ratio_ids",), pixel_values=Input((1, 3, 64, 64)))
    vision.tiles_of_one_image(d)  # Mllama: 4 tiles, the first one used
    assert str(d.inputs["pixel_values"]) == "1x1x4x3x64x64"
    assert d.inputs["aspect_ratio_mask"].values.tolist() == [[[1, 0, 0, 0]]]

    d = draft(config, ("pixel_position_ids",), pixel_values=Input((1, 3, 64, 64)))
    vision.positioned_patches(d)  # ⌈224 / 48⌉ · 3 = 15 patches a side
    assert str(d.inputs["pixel_values"]) == f"1x{15 * 15}x{3 * 16 * 16}"
    positions = d.inputs["pixel_position_ids"].values
    assert positions[0, 1].tolist() == [1, 0] and positions[0, 15].tolist() == [0, 1]


def test_audio_masks_cover_every_frame_of_the_features():
    audio = SimpleNamespace(num_mel_bins=80)
    d = draft(
        SimpleNamespace(audio_config=audio),
        ("feature_attention_mask",),
        input_features=Input((1, 80, 3000)),
    )
    audio_rules.every_frame_valid(d)  # mel × frames: 3,000 frames
    assert str(d.inputs["feature_attention_mask"]) == "1x3000:int64"
    assert int(d.inputs["feature_attention_mask"].values.sum()) == 3000
