"""Model sources other than the built-in examples: timm, transformers configs, files."""

from __future__ import annotations

import pytest
import torch

import netcost
from netcost.inputs import shape_only
from netcost.sources import resolve


def test_timm_resnet18_has_torchvisions_parameters():
    pytest.importorskip("timm")
    resolved = resolve("timm:resnet18")
    assert resolved.inputs == ("1x3x224x224",)
    r = netcost.analyze(resolved.model, input_size=(1, 3, 224, 224))
    assert r.total.params == 11_689_512  # torchvision's published resnet18 count
    assert abs(r.total.macs - 1.814e9) <= 0.0005e9  # and its published GMACs


def test_transformers_bert_from_config_by_hand():
    pytest.importorskip("transformers")
    h, f, layers, heads, t = 64, 128, 2, 4, 12
    resolved = resolve(
        f"hf:bert:hidden_size={h},num_hidden_layers={layers},num_attention_heads={heads},"
        f"intermediate_size={f},vocab_size=1000"
    )
    r = netcost.analyze(resolved.model, {"input_ids": shape_only((1, t), torch.int64)})
    assert r.complete, r.diagnostics
    per_layer = 4 * t * h * h + 2 * t * h * f + heads * t * t * (h // heads) * 2
    pooler = h * h  # a Linear on the first token
    assert r.total.macs == layers * per_layer + pooler
    embeddings = (1000 + 512 + 2) * h + 2 * h  # words, positions, token types, LayerNorm
    per_layer_params = 4 * (h * h + h) + 2 * h + (h * f + f) + (f * h + h) + 2 * h
    assert r.total.params == embeddings + layers * per_layer_params + (h * h + h)


def test_unknown_transformers_model_type():
    pytest.importorskip("transformers")
    with pytest.raises(netcost.NetcostError, match=r"unknown transformers model 'lama'.*llama"):
        resolve("hf:lama")


def test_segmentation_builds_without_downloading_its_backbone():
    """torchvision's segmentation builders download ImageNet backbone weights by default."""
    resolved = resolve("torchvision:fcn_resnet50")
    r = netcost.analyze(resolved.model, input_size=(1, 3, 224, 224))
    assert r.complete and r.modules[0].output_shapes[0] == (1, 21, 224, 224)


def test_transformers_inputs_follow_the_models_main_input():
    pytest.importorskip("transformers")
    vit = resolve(
        "hf:vit:hidden_size=64,num_hidden_layers=2,num_attention_heads=4,intermediate_size=128"
    )
    assert (vit.kwarg_names, vit.inputs) == (("pixel_values",), ("1x3x224x224",))
    r = netcost.analyze(vit.model, {"pixel_values": shape_only((1, 3, 224, 224))})
    tokens, e = 14 * 14 + 1, 64  # 196 patches and the class token
    patches = e * 196 * 3 * 16 * 16
    layer = 4 * tokens * e * e + 4 * tokens * tokens * (16 + 16) + 2 * tokens * e * 128
    assert r.total.macs == patches + 2 * layer + e * e  # + the pooler on the class token
    t5 = resolve("hf:t5:d_model=64,num_layers=2,num_heads=4,d_ff=128,d_kv=16")
    assert t5.kwarg_names == ("input_ids", "decoder_input_ids")
    ids = shape_only((1, 128), torch.int64)
    r = netcost.analyze(t5.model, {"input_ids": ids, "decoder_input_ids": ids})
    block = 4 * 128 * 64 * 64 + 4 * 128 * 128 * (16 + 16)  # projections + dense-masked attention
    ffn = 2 * 128 * 64 * 128
    assert r.total.macs == 2 * (block + ffn) + 2 * (2 * block + ffn)  # encoder, decoder layers


def test_misspelt_config_key_is_an_error_with_close_matches():
    pytest.importorskip("transformers")
    with pytest.raises(
        netcost.NetcostError,
        match=r"^hf:llama has no config key 'num_hiden_layers'; did you mean num_hidden_layers",
    ):
        resolve("hf:llama:num_hiden_layers=2")


def test_config_value_the_model_rejects_keeps_its_cause():
    pytest.importorskip("transformers")
    with pytest.raises(netcost.NetcostError) as info:
        resolve("hf:llama:hidden_size=65,num_attention_heads=4,num_hidden_layers=1")
    message = str(info.value)
    assert message.startswith("hf:llama: the config rejects")
    assert "not a multiple of the number of attention heads" in message
    assert "\n" not in message


def test_import_error_names_the_missing_package():
    from netcost.sources import cause

    error = ImportError("\nLayoutLMv2Model requires the detectron2 library but it was not found.")
    assert cause(error) == "LayoutLMv2Model requires the detectron2 library but it was not found."
