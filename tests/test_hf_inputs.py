"""`hf:` feeds every model the inputs its forward needs, every modality included."""

from __future__ import annotations

import pytest

import netcost
from netcost.cli import _inputs
from netcost.inputs import parse_input
from netcost.sources import resolve

pytest.importorskip("transformers")

TINY_CLIP = (
    "hf:clip:text_config.hidden_size=32,text_config.intermediate_size=64,"
    "text_config.num_hidden_layers=1,text_config.num_attention_heads=2,"
    "text_config.max_position_embeddings=16,vision_config.hidden_size=32,"
    "vision_config.intermediate_size=64,vision_config.num_hidden_layers=1,"
    "vision_config.num_attention_heads=2,vision_config.image_size=32,"
    "vision_config.patch_size=8,projection_dim=16"
)


def analyse(source: str) -> tuple[netcost.Report, tuple[str, ...], tuple[str, ...]]:
    resolved = resolve(source)
    shapes = [parse_input(s) for s in resolved.inputs]
    import torch

    with torch.no_grad():
        report = netcost.analyze(resolved.model, _inputs(shapes, resolved.kwarg_names))
    return report, resolved.kwarg_names, resolved.inputs


def test_clip_gets_text_and_image_and_both_towers_run():
    r, names, specs = analyse(TINY_CLIP)
    assert names == ("input_ids", "pixel_values")
    assert specs == ("1x16:int64", "1x3x32x32")  # text within its 16 positions
    # the vision tower's patch embedding: 3 → 32 channels, 8×8 patches, (32 / 8)² positions
    assert r.layer("vision_model.embeddings.patch_embedding").cost.macs == 32 * 3 * 8 * 8 * 16
    # both projections ran: text and image embeddings of 32 → 16
    assert r.layer("text_projection").cost.macs == 32 * 16
    assert r.layer("visual_projection").cost.macs == 32 * 16
    assert r.complete


@pytest.mark.parametrize(
    ("model_type", "names", "specs"),
    [
        ("clip", ("input_ids", "pixel_values"), ("1x77:int64", "1x3x224x224")),  # CLIP: 77
        ("wav2vec2", ("input_values",), ("1x16000",)),  # one second of 16 kHz audio
        ("hubert", ("input_values",), ("1x16000",)),
        ("audio-spectrogram-transformer", ("input_values",), ("1x1024x128",)),
        ("sam", ("pixel_values",), ("1x3x1024x1024",)),  # the vision config's 1024 pixels
        ("videomae", ("pixel_values",), ("1x16x3x224x224",)),  # a 16-frame clip
        ("layoutlm", ("input_ids", "bbox"), ("1x128:int64", "1x128x4:int64")),
        ("whisper", ("input_features", "decoder_input_ids"), ("1x80x3000", "1x128:int64")),
    ],
)
def test_default_inputs_follow_signature_and_config(model_type, names, specs):
    resolved = resolve(f"hf:{model_type}")
    assert (resolved.kwarg_names, resolved.inputs) == (names, specs)


def test_nested_config_keys_are_checked():
    with pytest.raises(
        netcost.NetcostError,
        match=r"^hf:clip text_config has no config key 'hiden_size'; did you mean hidden_size",
    ):
        resolve("hf:clip:text_config.hiden_size=3")


def test_a_towers_own_config_builds_its_model():
    r, names, _ = analyse("hf:clip_text_model:num_hidden_layers=1")
    assert names == ("input_ids",) and r.model == "CLIPTextModel"
