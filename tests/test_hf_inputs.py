"""`hf:` feeds every model the inputs its forward needs, every modality included."""

from __future__ import annotations

import pytest

import netcost
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
        report = netcost.analyze(resolved.model, resolved.example_inputs(shapes))
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
        ("patchtst", ("past_values",), ("1x32x1",)),  # context_length × num_input_channels
        # TimesFM: one series of context_length 512, no padding, one frequency class
        (
            "timesfm",
            ("past_values", "past_values_padding", "freq"),
            ("1x512", "1x512:int64", "1x1:int64"),
        ),
        ("vjepa2", ("pixel_values_videos",), ("1x64x3x224x224",)),  # frames_per_clip 64
        ("vilt", ("input_ids", "pixel_values"), ("1x40:int64", "1x3x384x384")),  # reads images too
        # SigLIP2 (NaFlex): num_patches 256 = 16 × 16 patches of 3 · 16² values, mask and grid
        (
            "siglip2",
            ("input_ids", "pixel_values", "pixel_attention_mask", "spatial_shapes"),
            ("1x64:int64", "1x256x768", "1x256:int64", "1x2:int64"),
        ),
        # LLaVA-NeXT: 336² best fits the 336 × 672 pinpoint: 2 tiles + the thumbnail = 3; image
        # tokens 24² (thumbnail) + 24 × 24 (the grid cropped back to square) + 24 newlines = 1176
        (
            "llava_next",
            ("input_ids", "pixel_values", "image_sizes"),
            ("1x1304:int64", "1x3x3x336x336", "1x2:int64"),
        ),
        # Idefics2: an image stack, its pixels given (the forward drops all-zero padding images),
        # and the perceiver's 64 latents as image tokens before 128 text tokens
        ("idefics2", ("input_ids", "pixel_values"), ("1x192:int64", "1x1x3x224x224")),
        ("xclip", ("input_ids", "pixel_values"), ("1x77:int64", "1x8x3x224x224")),  # 8 frames kept
        ("sam2", ("pixel_values",), ("1x3x1024x1024",)),  # the backbone config's 1024 pixels
        # Aria's projector takes 1225 = 35² patches (or 4900): 35 × patch 32 = 1120 pixels
        ("aria", ("input_ids", "pixel_values"), ("1x256:int64", "1x3x1120x1120")),
        # codecs: channels × one second, whole hops (PE audio: 16000 → 9 hops of 1920 = 17280)
        ("pe_audio_encoder", ("input_values",), ("1x1x17280",)),
        ("xcodec", ("input_values",), ("1x1x16000",)),
        # w2v-BERT: one second of 100 mel frames of 80, stacked 2 → 50 frames of 160
        ("wav2vec2-bert", ("input_features",), ("1x50x160",)),
        # Fun-ASR: the 30 s window's 3000 frames stacked 7 → 428 frames of 7 × 80 = 560
        (
            "fun_asr_nano_encoder",
            ("input_features", "input_features_mask"),
            ("1x428x560", "1x428:int64"),
        ),
        ("perceiver", ("inputs",), ("1x128x768",)),  # 128 positions of d_model 768
        ("depth_pro", ("pixel_values",), ("1x3x1536x1536",)),  # patch 384 at its 0.25 scale
        ("xclip_vision_model", ("pixel_values",), ("8x3x224x224",)),  # its 8 frames as a batch
        # Fuyu: 300² pixels as (300 / 30)² = 100 patches of 3 · 30² = 2700, + 128 text tokens
        ("fuyu", ("input_ids", "pixel_values"), ("1x228:int64", "1x100x2700")),
        # Qwen3-ASR's encoder fails on frames × mel and runs on mel × frames: 128 × 3000
        (
            "qwen3_asr_encoder",
            ("input_features", "input_features_mask"),
            ("1x128x3000", "1x3000:int64"),
        ),
        ("embedding_gemma2", ("input_ids",), ("1x128:int64",)),  # no vision config: no image
        ("pp_ocrv5_mobile_det", ("hidden_states",), ("1x3x224x224",)),  # an image, so named
        # a Q-Former alone attends to 128 states of its image encoder (1408 wide)
        ("blip_2_qformer", ("query_embeds", "encoder_hidden_states"), ("1x128x768", "1x128x1408")),
        # DeepSeek-VL hybrid: the SigLIP image ((224 / 16)² = 196 tokens + 128 text) and the SAM
        # tower's 1024-pixel one
        (
            "deepseek_vl_hybrid",
            ("input_ids", "pixel_values", "high_res_pixel_values"),
            ("1x324:int64", "1x3x224x224", "1x3x1024x1024"),
        ),
        # Mllama: one image as its max_num_tiles = 4 tiles, aspect ratio 1 (the first tile used)
        (
            "mllama_vision_model",
            ("pixel_values", "aspect_ratio_ids", "aspect_ratio_mask"),
            ("1x1x4x3x448x448", "1x1:int64", "1x1x4:int64"),
        ),
        ("pix2struct_vision_model", ("flattened_patches",), ("1x2048x770",)),  # row, col + 768
        # LXMERT: 36 regions of 2048 features and their 4 box coordinates
        (
            "lxmert",
            ("input_ids", "visual_feats", "visual_pos"),
            ("1x128:int64", "1x36x2048", "1x36x4"),
        ),
        # SegGPT's 896 × 448 is image and prompt stacked: each 448 × 448
        (
            "seggpt",
            ("pixel_values", "prompt_pixel_values", "prompt_masks"),
            ("1x3x448x448", "1x3x448x448", "1x3x448x448"),
        ),
        # Gemma 3n: text, image and audio (128 mel bins), its mask boolean as the model negates it;
        # the image at 768 px, the input size of its timm tower (mobilenetv5_300m_enc)
        (
            "gemma3n",
            ("input_ids", "pixel_values", "input_features", "input_features_mask"),
            ("1x572:int64", "1x3x768x768", "1x3000x128", "1x3000:bool"),
        ),
        # GLM-ASR: 3000 frames → 1500 (conv stride 2) → 375 audio tokens (merged by 4), + 128 text
        (
            "glmasr",
            ("input_ids", "input_features", "input_features_mask"),
            ("1x503:int64", "1x128x3000", "1x3000:int64"),
        ),
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


TINY_LLAVA = (
    "hf:llava:vision_config.hidden_size=32,vision_config.intermediate_size=64,"
    "vision_config.num_hidden_layers=2,vision_config.num_attention_heads=2,"
    "vision_config.image_size=32,vision_config.patch_size=8,"
    "text_config.hidden_size=64,text_config.intermediate_size=96,"
    "text_config.num_hidden_layers=1,text_config.num_attention_heads=4,"
    "text_config.num_key_value_heads=4,text_config.vocab_size=100,image_token_index=99,"
    "vision_feature_layer=-1"
)


def test_vision_language_model_gets_its_image_tokens_in_place():
    """LLaVA replaces one token per image feature: (32 / 8)² = 16 patches (its "default"
    strategy drops the class token), then 128 text tokens; the language model sees all 144."""
    resolved = resolve(TINY_LLAVA)
    assert resolved.inputs == ("1x144:int64", "1x3x32x32")
    ids = resolved.values["input_ids"]
    assert ids.shape == (1, 144) and int((ids == 99).sum()) == 16
    r, _, _ = analyse(TINY_LLAVA)
    assert r.complete and r.execution == "fake"
    assert r.layer("language_model.embed_tokens").output_shapes == ((1, 144, 64),)
    # the projector maps the 16 image features 32 → 64 → 64
    projector = r.layer("multi_modal_projector").cost.macs
    assert projector == 16 * (32 * 64 + 64 * 64)


def test_masks_on_known_token_ids_are_exact_not_a_scenario():
    import torch
    from torch import nn

    class Picks(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(10, 4)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            x = self.embed(ids)
            n = int((ids == 5).sum())  # a value read: known, since the ids are
            return x[ids > 6][:n].sum()

    ids = torch.tensor([[5, 5, 1, 7, 8, 9]])
    r = netcost.analyze(Picks(), ids, execution="fake")
    assert r.execution == "fake"
    lines = [d.message for d in r.diagnostics if d.kind == "scenario"]
    assert lines == ["Picks: aten.index.Tensor (values known) kept 3"]
    (total,) = [o for o in r.ops if o.op == "aten.sum.default"]
    # counting the 6 ids, then summing the first n = 2 of the 3 rows kept, 4 values each
    assert total.cost.flops == 6 + 2 * 4


def test_known_values_of_generated_inputs():
    """Masks say every frame and patch is valid; grids and sizes are the image's own."""
    values = resolve("hf:glmasr").values
    assert values["input_features_mask"].tolist() == [[1] * 3000]
    assert values["input_ids"][0, :375].tolist() == [59260] * 375  # audio_token_id, first
    siglip2 = resolve("hf:siglip2").values
    assert siglip2["spatial_shapes"].tolist() == [[16, 16]]
    assert siglip2["pixel_attention_mask"].tolist() == [[1] * 256]
    assert resolve("hf:llava_next").values["image_sizes"].tolist() == [[336, 336]]
    timesfm = resolve("hf:timesfm").values
    assert timesfm["past_values_padding"].tolist() == [[0] * 512]
    assert timesfm["freq"].tolist() == [[0]]


def test_a_decision_transformer_gets_a_trajectory():
    resolved = resolve("hf:decision_transformer")
    assert resolved.kwarg_names == ("states", "actions", "rewards", "returns_to_go", "timesteps")
    assert resolved.inputs == ("1x20x17", "1x20x4", "1x20x1", "1x20x1", "1x20:int64")
    assert resolved.values["timesteps"].tolist() == [list(range(20))]


def test_qwen3_vl_runs_once_its_default_configs_widths_agree():
    """Qwen3-VL's default config pairs 3584-wide image features with a 4096-wide text model, so
    transformers rejects its own default; with the text model at 3584 the image tokens and
    features agree: (224 px / (16 px patches · 2 merged))² = 7² = 49 image tokens."""
    r, names, specs = analyse(
        "hf:qwen3_vl:text_config.hidden_size=3584,text_config.num_hidden_layers=1,"
        "vision_config.depth=1"
    )
    assert names == ("input_ids", "pixel_values", "image_grid_thw", "mm_token_type_ids")
    assert specs[0] == f"1x{49 + 128}:int64" and r.complete


def test_a_default_config_the_model_cannot_run_is_mended_and_the_report_says_so():
    """Left at its default 3584, Qwen3-VL's merger hands the 4096-wide text model features it
    cannot take; netcost sets vision_config.out_hidden_size to 4096 and says so first among the
    diagnostics. The merger's last Linear then writes 4096 per image token."""
    from netcost.cli import run

    source = "hf:qwen3_vl:text_config.num_hidden_layers=1,vision_config.depth=1"
    resolved = resolve(source)
    assert resolved.model.visual.merger.linear_fc2.out_features == 4096
    assert resolved.notes == (
        "hf:qwen3_vl's default config fails as it is (vision_config.out_hidden_size = 3,584 "
        "but text_config.hidden_size = 4,096): analysed with vision_config.out_hidden_size"
        "=4096, as in released checkpoints; set it to choose",
    )
    shown = run([source, "--format", "json"])
    assert '"kind": "config"' in shown and "out_hidden_size=4096" in shown


def test_rotary_sections_that_miss_frequencies_are_mended_to_half_heads():
    """GLM-4V's rotary embedding splits its frequencies into [8, 12, 12] sections, 32 in all, but
    the default config rotates whole 4096 / 32 = 128-wide heads: 64 frequencies. A rotary factor
    of 32 / 64 = 0.5 leaves 128 · 0.5 / 2 = 32, which the sections cover."""
    resolved = resolve("hf:glm4v_text:num_hidden_layers=1")
    assert resolved.model.rotary_emb.inv_freq.numel() == 128 * 0.5 / 2
    assert resolved.notes == (
        "hf:glm4v_text's default config fails as it is (rotary sections [8, 12, 12] cover 32 of "
        "64 frequencies): analysed with rope_parameters.partial_rotary_factor=0.5, as in "
        "released checkpoints; set it to choose",
    )
    report, _, _ = analyse("hf:glm4v_text:num_hidden_layers=1")
    assert report.complete


def test_a_width_the_user_sets_is_never_mended():
    """The user's own keys win: with text_config.hidden_size given, the model runs as asked
    (and fails as transformers fails, one line naming the layer)."""
    from netcost.errors import NetcostError

    assert (
        resolve("hf:qwen3_vl:text_config.hidden_size=3584,text_config.num_hidden_layers=1").notes
        == ()
    )
    with pytest.raises(NetcostError, match="Image features and image tokens do not match"):
        analyse("hf:qwen3_vl:vision_config.out_hidden_size=1024,text_config.num_hidden_layers=1")


def test_a_default_config_that_runs_is_not_mended():
    """HyperCLOVA X's projector takes the vision tower's 3584-wide features into the 4096-wide
    text model: the widths differ by design, and the model runs as configured."""
    resolved = resolve("hf:hyperclovax_vision_v2:text_config.num_hidden_layers=1")
    assert resolved.notes == ()
    assert resolved.model.config.vision_config.out_hidden_size == 3584


def test_kosmos2_marks_where_its_image_latents_go():
    resolved = resolve("hf:kosmos-2")
    assert resolved.kwarg_names == ("pixel_values", "input_ids", "image_embeds_position_mask")
    mask = resolved.values["image_embeds_position_mask"][0].tolist()
    assert mask == [0] + [1] * 64 + [0] * (128 - 65)  # latent_query_num = 64, after the first


def test_inputs_read_from_a_timm_backbone_an_image_pair_check_and_the_docstring():
    """PE video's tower is timm's vit_pe_core_large_patch14_336: 336-pixel frames.
    EfficientLoFTR refuses anything but (batch, 2, C, H, W): an image pair. Mimi's decoder
    documents `latents` as (batch_size, hidden_size, frames): its hidden size 512 and 128
    frames."""
    assert resolve("hf:pe_video_encoder").inputs == ("1x16x3x336x336",)
    assert resolve("hf:efficientloftr").inputs == ("1x2x3x224x224",)
    mimi = resolve("hf:mimi_decoder")
    assert mimi.kwarg_names == ("latents",) and mimi.inputs == ("1x512x128",)


@pytest.mark.parametrize(
    ("source", "frames"),
    [
        ("hf:blip-2:text_config.num_hidden_layers=1,vision_config.num_hidden_layers=1", 1),
        (
            "hf:instructblipvideo:text_config.num_hidden_layers=1,vision_config.num_hidden_layers=1",
            1,
        ),
    ],
)
def test_a_q_former_model_without_an_image_token_gets_one_and_its_query_tokens(source, frames):
    """BLIP-2's and InstructBLIP-Video's default configs leave their placeholder token None, so
    the features have no place in the text (the model fails on its own default). netcost takes
    the text vocabulary's last id, 50,272 − 1, and puts num_query_tokens = 32 placeholders per
    image (per frame of a clip: the default clip has 1) before the 128 text tokens."""
    resolved = resolve(source)
    key = "video_token_index" if "video" in source else "image_token_index"
    assert getattr(resolved.model.config, key) == 50_272 - 1
    assert resolved.notes[0].endswith(
        f"analysed with {key}=50271, the text vocabulary's last id (released checkpoints add a "
        "token for it); set it to choose"
    )
    report, _, _ = analyse(source)
    ids = resolved.values["input_ids"][0].tolist()
    assert ids.count(50_271) == 32 * frames and len(ids) == 32 * frames + 128
    assert report.complete


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # Idefics3 pixel-shuffles its patch grid by 2: 224 px at patch 32 is 7 patches, so the
        # image is 8 · 32 = 256 px, (8 / 2)² = 16 image tokens before 128 text tokens; the
        # forward drops all-zero padding images, so the pixels are given (ones)
        (
            "hf:idefics3:text_config.num_hidden_layers=1,vision_config.num_hidden_layers=1",
            {"input_ids": "1x144:int64", "pixel_values": "1x1x3x256x256"},
        ),
        # RF-DETR's backbone splits 518 / 14 = 37 patches into 4 windows a side: 40 · 14 = 560
        ("hf:rf_detr:decoder_layers=1", {"pixel_values": "1x3x560x560"}),
        # X-MOD needs each token's language adapter (its first language, index 0)
        ("hf:xmod:num_hidden_layers=1", {"input_ids": "1x128:int64", "lang_ids": "1x128:int64"}),
        # Dia's decoder steps are one token of each of its 9 codebooks
        (
            "hf:dia",
            {"input_ids": "1x128:int64", "decoder_input_ids": "1x128x9:int64"},
        ),
        # SpeechT5 without pre-nets reads hidden states, 768 wide, on both sides
        (
            "hf:speecht5:encoder_layers=1,decoder_layers=1",
            {"input_values": "1x128x768", "decoder_input_values": "1x128x768"},
        ),
        # a speech encoder-decoder's `inputs` are what its wav2vec2 encoder reads: 1 s of audio
        ("hf:speech-encoder-decoder", {"inputs": "1x16000", "decoder_input_ids": "1x128:int64"}),
        # Muse Spark's audio tower takes whole tokens of 1,920 samples: ⌈16,000 / 1,920⌉ = 9
        ("hf:muse_spark_audio", {"input_values": f"1x{9 * 1920}"}),
        # Qwen3-Omni's code predictor raises on token ids: embeddings, 1,024 wide
        ("hf:qwen3_omni_moe_talker_code_predictor", {"inputs_embeds": "1x128x1024"}),
        # CLVP conditions on speech: 80 mel bins × 3,000 frames beside the text
        (
            "hf:clvp:text_config.num_hidden_layers=1,speech_config.num_hidden_layers=1,"
            "decoder_config.num_hidden_layers=1",
            {"input_ids": "1x128:int64", "input_features": "1x80x3000"},
        ),
        # IDEFICS: images per sample, and which image each of the 128 tokens attends to
        (
            "hf:idefics:num_hidden_layers=1,vision_config.num_hidden_layers=1",
            {
                "input_ids": "1x128:int64",
                "pixel_values": "1x1x3x224x224",
                "image_attention_mask": "1x128x1:int64",
            },
        ),
        # VibeVoice's acoustic tokenizers are convolution stacks over channels × time: the
        # encoder reads 1 channel of 1 s of 16 kHz audio, the decoder 64 latent channels
        ("hf:vibevoice_acoustic_tokenizer_encoder", {"hidden_states": "1x1x16000"}),
        ("hf:vibevoice_acoustic_tokenizer_decoder", {"hidden_states": "1x64x128"}),
        # VibeVoice: the audio's samples all valid; one audio token per hop of 3,200 samples,
        # 16,000 / 3,200 = 5, before the 128 text tokens
        (
            "hf:vibevoice:text_config.num_hidden_layers=1",
            {
                "input_ids": "1x133:int64",
                "input_values": "1x1x16000",
                "padding_mask": "1x16000:int64",
            },
        ),
        # Granite Speech 5's encoder stacks 4 frames of 80 mel bins into its 320-wide first
        # Linear: 3,000 frames become 750
        ("hf:granite_speech5_encoder:num_hidden_layers=1", {"input_features": "1x750x320"}),
        # NeMo's mel bins sit in its speech encoder's config: 128
        (
            "hf:nemotron3_5_transcribe_audio:asr_config.num_hidden_layers=1,"
            "diarization_config.audio_config.num_hidden_layers=1",
            {"input_features": "1x3000x128", "input_features_mask": "1x3000:int64"},
        ),
        # Granite Speech hears its audio (its projector's width mended to the encoder's 1,024):
        # 600 audio tokens before the 128 text tokens, and a mask with one True per feature
        (
            "hf:granite_speech:text_config.num_hidden_layers=1,encoder_config.num_layers=1",
            {
                "input_ids": "1x728:int64",
                "input_features": "1x3000x160",
                "input_features_mask": "1x600:bool",
            },
        ),
        # OmniASR's first convolution reads (batch, 1 channel, samples) as given; tried in eval
        # mode, as analysed (training adds value-dependent masking)
        ("hf:omniasr_audio", {"input_values": "1x1x16000"}),
        # Kyutai's steps are the text token and 32 audio codebooks' (offsets of 33 tables)
        ("hf:kyutai_speech_to_text:num_hidden_layers=1", {"input_ids": "1x128x33:int64"}),
        # Voxtral Realtime adds each audio embedding to a token's: 3,000 frames make 375, so
        # 375 tokens
        (
            "hf:voxtral_realtime:text_config.num_hidden_layers=1,audio_config.num_hidden_layers=1",
            {"input_ids": "1x375:int64", "input_features": "1x128x3000"},
        ),
        # MOSS's audio features need the raw samples' padding mask: 3,000 frames of 160 samples
        (
            "hf:moss_transcribe_diarize:text_config.num_hidden_layers=1",
            {
                "input_ids": f"1x{375 + 128}:int64",
                "input_features": "1x80x3000",
                "input_features_mask": "1x3000:int64",
                "padding_mask": f"1x{3000 * 160}:int64",
            },
        ),
        # Gemma 3n's audio encoder alone: its mel frames and a mask whose True marks padding
        # (none: all False); 128 bins from its config
        (
            "hf:gemma3n_audio:conf_num_hidden_layers=1",
            {"audio_mel": "1x3000x128", "audio_mel_mask": "1x3000:bool"},
        ),
        # Gemma 4's audio config names no mel bins: 80 fails its 1,024-wide projection
        # (32 channels · 80 / 4 = 640), 128 fits (32 · 128 / 4)
        ("hf:gemma4_audio:num_hidden_layers=1", {"input_features": "1x3000x128"}),
        # Qwen2-Audio has no feature method: its audio tower's rows, 3,000 frames → 750 after its
        # stride-2 convolution and pooling, are the audio tokens before 128 text tokens
        (
            "hf:qwen2_audio:text_config.num_hidden_layers=1,audio_config.encoder_layers=1",
            {
                "input_ids": f"1x{750 + 128}:int64",
                "input_features": "1x128x3000",
                "feature_attention_mask": "1x3000:int64",
            },
        ),
        # PE Audio-Video's audio config sits inside its audio-video config: its DAC codec takes
        # 1 channel of whole hops, ⌈16,000 / 1,920⌉ · 1,920 = 17,280 samples
        (
            "hf:pe_audio_video:text_config.num_hidden_layers=1,"
            "audio_video_config.audio_config.num_hidden_layers=1,"
            "audio_video_config.video_config.num_hidden_layers=1,"
            "audio_video_config.num_hidden_layers=1",
            {
                "input_ids": "1x128:int64",
                "input_values": "1x1x17280",
                "pixel_values_videos": "1x16x3x336x336",
            },
        ),
        # Muse Glimmer's assistant: shapes its docstring gives, `[batch_size, config.block_size,
        # dim]` and `[…, number_of_previous_accepted_tokens, dim * len(config.target_layer_ids)]`:
        # 16 × 6,656 and 128 × 6,656 · 5
        (
            "hf:muse_glimmer_assistant:num_hidden_layers=1",
            {"noise_embeds": "1x16x6656", "context_hidden_states": f"1x128x{6656 * 5}"},
        ),
        # Gemma 4's vision tower: 224 px as whole 3 × 3 pools of 16-pixel patches, 15 a side:
        # 225 patches of 3 · 16² values, each with its (x, y)
        (
            "hf:gemma4_vision:num_hidden_layers=1",
            {"pixel_values": "1x225x768", "pixel_position_ids": "1x225x2:int64"},
        ),
        # Music Flamingo's feature method reads the ids it fills: on text alone its own check
        # says 750 features (3,000 frames, stride 2, pooled by 2), and with 750 placeholders
        # it runs
        (
            "hf:musicflamingo:text_config.num_hidden_layers=1,audio_config.num_hidden_layers=1",
            {
                "input_ids": f"1x{750 + 128}:int64",
                "input_features": "1x128x3000",
                "input_features_mask": "1x3000:int64",
            },
        ),
        # PI0: the robot state and a chunk of 50 actions in the 1,024-wide action expert, after
        # a prefix of one camera's (224 / 14)² = 256 image tokens and 128 text tokens; one layer
        # a tower (its vision-language model's towers keep PI0's widths, not PaliGemma's)
        (
            "hf:pi0:vlm_config.vision_config.num_hidden_layers=1,"
            "vlm_config.text_config.num_hidden_layers=1,dit_config.num_hidden_layers=1",
            {
                "action_embeds": "1x51x1024",
                "input_ids": f"1x{256 + 128}:int64",
                "pixel_values": "1x1x3x224x224",
                "pixel_attention_mask": "1x1:bool",
            },
        ),
        # Higgs Audio's first embedding table is its text's: plain ids (its codebook table,
        # with per-codebook offsets, reads the audio ids)
        ("hf:higgs_audio_v2:num_hidden_layers=1", {"input_ids": "1x128:int64"}),
        # Inkling 2 reads one (20 · 2)-pixel square per image token, its grid counted in
        # tokens: 224 px gives 224 // 40 = 5 a side, 25 squares of 40 × 40 × 3
        (
            "hf:inkling2_vision:num_hidden_layers=1",
            {"pixel_values": "25x40x40x3", "image_grid_thw": "1x3:int64"},
        ),
    ],
)
def test_inputs_the_model_reads_as_its_code_says(source, expected):
    report, names, specs = analyse(source)
    assert dict(zip(names, specs, strict=True)) == expected
    assert report.complete


def test_gemma3_pools_a_grid_its_image_can_fill():
    """Gemma 3's default pools 224 px (14 patches of 16 a side) to 256 tokens, 16 a side: a pool
    of 14 // 16 = 0 patches. The tower's image size becomes 16 · 16 = 256 px (pools of 1); the
    text holds 256 image tokens before its 128."""
    source = "hf:gemma3:text_config.num_hidden_layers=1,vision_config.num_hidden_layers=1"
    resolved = resolve(source)
    assert resolved.model.config.vision_config.image_size == 16 * 16
    assert "which cannot be pooled to mm_tokens_per_image = 256, 16 a side" in resolved.notes[0]
    report, names, specs = analyse(source)
    assert dict(zip(names, specs, strict=True)) == {
        "input_ids": f"1x{256 + 128}:int64",
        "pixel_values": "1x3x256x256",
    }
    assert report.complete


def test_an_all_mamba_default_runs_without_a_cache_and_says_so():
    """Bamba's default has no attention layer (attn_layer_indices None): its forward's cache is
    then asked for an attention length and fails. Without a cache the forward runs; netcost says
    so first."""
    resolved = resolve("hf:bamba:num_hidden_layers=2")
    assert resolved.model.config.use_cache is False
    assert resolved.notes[0].startswith(
        "hf:bamba's default config fails as it is (no layer attends"
    )
    report, _, _ = analyse("hf:bamba:num_hidden_layers=2")
    assert report.complete
    assert resolve("hf:bamba:num_hidden_layers=2,attn_layer_indices=[1]").notes == ()


def test_deepseek_v2_routes_each_token_to_six_experts_as_released():
    resolved = resolve("hf:deepseek_v2:num_hidden_layers=2")
    assert resolved.model.config.num_experts_per_tok == 6
    assert "analysed with num_experts_per_tok=6, as in released checkpoints" in resolved.notes[0]


def test_voxtral_gets_the_audio_token_its_default_config_lacks():
    """Voxtral's default config leaves audio_token_id None; netcost takes the text vocabulary's
    last id and places one token per audio embedding (3,000 frames → 375) before 128 text."""
    source = "hf:voxtral:text_config.num_hidden_layers=1,audio_config.num_hidden_layers=1"
    resolved = resolve(source)
    vocab = resolved.model.config.text_config.vocab_size
    assert resolved.model.config.audio_token_id == vocab - 1
    assert "audio_token_id is None: the audio features have no place" in resolved.notes[0]
    assert resolved.inputs == ("1x503:int64", "1x128x3000")
    assert resolved.values["input_ids"][0].tolist().count(vocab - 1) == 375
    report, _, _ = analyse(source)
    assert report.complete


@pytest.mark.parametrize(
    ("source", "key", "was", "now"),
    [
        # Qwen2-VL's vision hidden_size (beside its embed_dim) is its merger's output
        ("hf:qwen2_vl:text_config.num_hidden_layers=1,vision_config.depth=1",
         "vision_config.hidden_size", 3584, 8192),
        # Janus's aligner writes vision_config.projection_dim into the text model
        ("hf:janus:text_config.num_hidden_layers=1,vision_config.num_hidden_layers=1",
         "vision_config.projection_dim", 2048, 4096),
        # Ovis2's visual embedding table is config.hidden_size wide
        ("hf:ovis2:text_config.num_hidden_layers=1,vision_config.num_hidden_layers=1",
         "hidden_size", 1536, 4096),
    ],
)  # fmt: skip
def test_a_vision_width_that_misses_the_text_width_is_mended(source, key, was, now):
    resolved = resolve(source)
    path = key.split(".")
    value = resolved.model.config
    for part in path:
        value = getattr(value, part)
    assert value == now
    assert (
        f"= {was:,} but text_config.hidden_size = {now:,}): analysed with {key}={now}"
        in (resolved.notes[0])
    )
    report, _, _ = analyse(source)
    assert report.complete


def test_step3p5_attends_through_its_released_window():
    """Step 3.5's default config leaves sliding_window None for its sliding layers; the released
    Step-3.5-Flash attends through 128 positions."""
    resolved = resolve("hf:step3p5:num_hidden_layers=2")
    assert resolved.model.config.sliding_window == 128
    assert resolved.notes[0].startswith(
        "hf:step3p5's default config fails as it is (sliding_window is None: its sliding-window "
        "layers have no window): analysed with sliding_window=128"
    )


def test_llama4_vision_widths_are_mended_to_what_its_adapter_reads():
    """Llama 4's default vision tower is 768 wide, but its pixel-shuffle adapter reads
    intermediate_size = 5,632 = 1,408 / 0.5² per shuffled patch, and its output width 7,680
    is not the adapter's 4,096: both mended, the tower runs on its 448-pixel image."""
    source = "hf:llama4_vision_model:num_hidden_layers=1"
    resolved = resolve(source)
    assert resolved.model.config.hidden_size == 5632 // 4
    assert resolved.model.config.vision_output_dim == 4096
    assert len(resolved.notes) == 2
    report, _, specs = analyse(source)
    assert specs == ("1x3x448x448",) and report.complete


def test_glm4v_moe_gets_the_released_head_width_its_rotary_sections_need():
    """GLM-4V-MoE's default config has no head_dim: 96 heads of 4,096 / 96 = 42, half rotated,
    give 10 frequencies for rotary sections of 8 + 12 + 12 = 32. GLM-4.5V's heads are 128 wide:
    128 · 0.5 / 2 = 32 frequencies, which the sections cover."""
    resolved = resolve("hf:glm4v_moe_text:num_hidden_layers=1")
    assert resolved.model.config.head_dim == 128
    assert resolved.model.rotary_emb.inv_freq.numel() == 128 * 0.5 / 2
    assert "analysed with head_dim=128, as in released checkpoints" in resolved.notes[0]
    report, _, _ = analyse("hf:glm4v_moe_text:num_hidden_layers=1")
    assert report.complete


def test_a_misspelt_backbone_architecture_is_read_as_meant():
    """EdgeTAM's default backbone config says archirecture = 'repvit_m1' (misspelt, never read),
    so resnet50 is built and its 2,048 channels miss the neck's 384: netcost builds RepViT."""
    resolved = resolve("hf:edgetam_vision_model")
    assert resolved.model.config.backbone_config.architecture == "repvit_m1"
    assert "archirecture = 'repvit_m1', misspelt, is never read" in resolved.notes[0]
    report, _, _ = analyse("hf:edgetam_vision_model")
    assert report.complete


def test_qwen3_omni_thinker_gets_the_released_head_width():
    resolved = resolve("hf:qwen3_omni_moe_thinker:text_config.num_hidden_layers=1")
    assert resolved.model.config.text_config.head_dim == 128
    assert any("text_config.head_dim is None: heads of 2,048 / 28 = 73 miss" in note
               for note in resolved.notes)  # fmt: skip


def test_a_config_with_per_layer_head_counts_is_analysed():
    """Gemma 4's head_dim varies by layer and transformers refuses a global read of it: the
    report leaves it out of the config shape it records, and the analysis completes."""
    report, _, _ = analyse("hf:gemma4_text:num_hidden_layers=2")
    assert report.complete
    assert "head_dim" not in (report.config or {})


def test_inkling2_counts_its_grid_in_image_tokens():
    resolved = resolve("hf:inkling2_vision:num_hidden_layers=1")
    assert resolved.values["image_grid_thw"].tolist() == [[1, 5, 5]]  # 5 × 5 tokens of 40 px


def test_lw_detr_gets_feature_levels_its_default_lacks():
    """LW-DETR's default projector has no scale factors, so the decoder gets no feature level;
    netcost takes the two scales transformers' LW-DETR page gives (2.0 and 0.5 of the 1/16
    features: 1/8 and 1/32), each of d_model = 256 channels."""
    resolved = resolve("hf:lw_detr")
    config = resolved.model.config
    assert config.projector_scale_factors == [2.0, 0.5]
    assert config.projector_in_channels == [256, 256] and config.num_feature_levels == 2
    assert "projector_scale_factors is empty" in resolved.notes[0]
    report, _, _ = analyse("hf:lw_detr")
    assert report.complete


@pytest.mark.parametrize(
    ("source", "specs", "values"),
    [
        # Granite-Docling's forward takes tiles with a mask of the real ones: one tile, real
        (
            "hf:granite_docling",
            {"pixel_values": "1x1x3x512x512", "pixel_attention_mask": "1x1:bool"},
            {"pixel_attention_mask": [[True]]},
        ),
        # Mistral 3's Pixtral tower patches each image at its own size: 1540 × 1540 given, and
        # (1540 / 14 / 2)² = 55² image tokens (patch 14, merged 2 × 2) before 128 text tokens
        (
            "hf:mistral3",
            {"input_ids": f"1x{55**2 + 128}:int64", "image_sizes": "1x2:int64"},
            {"image_sizes": [[1540, 1540]]},
        ),
        # MiniCPM's vision tower alone takes each image's patch grid: 224 / 16 = 14 a side
        ("hf:minicpm_ocr_vision", {"target_sizes": "1x2:int64"}, {"target_sizes": [[14, 14]]}),
        # OmDet: one class prompt per sample
        ("hf:omdet-turbo", {"classes_structure": "1:int64"}, {"classes_structure": [1]}),
    ],
)
def test_inputs_a_rule_gives_values(source, specs, values):
    resolved = resolve(source)
    given = dict(zip(resolved.kwarg_names, resolved.inputs, strict=True))
    assert {name: given.get(name) for name in specs} == specs
    assert {name: resolved.values[name].tolist() for name in values} == values
    if source == "hf:mistral3":
        image_token = 10  # the config's image_token_index
        assert int((resolved.values["input_ids"] == image_token).sum()) == 55**2


def test_a_nested_config_given_one_key_keeps_the_default_type():
    """Music Flamingo's `audio_config` is built by its `model_type`: given only a layer count,
    it is the default audio config with that count (transformers alone: KeyError 'model_type')."""
    import transformers

    source = "hf:musicflamingo:text_config.num_hidden_layers=1,audio_config.num_hidden_layers=1"
    audio = resolve(source).model.config.audio_config.to_dict()
    default = transformers.AutoConfig.for_model("musicflamingo").audio_config.to_dict()
    assert audio == {**default, "num_hidden_layers": 1}


def test_a_nested_key_changes_only_that_key():
    """PaliGemma builds its default text model 2,048 wide with 8 heads and 1 KV head, not
    Gemma's own defaults (3,072, 16, 16): given only its layer count, the text model keeps the
    rest of PaliGemma's default (transformers alone builds Gemma's)."""
    import transformers

    text = resolve("hf:paligemma:text_config.num_hidden_layers=1").model.config.text_config
    default = transformers.AutoConfig.for_model("paligemma").text_config.to_dict()
    kept = {k: v for k, v in text.to_dict().items() if k != "num_hidden_layers"}
    assert kept == {k: v for k, v in default.items() if k != "num_hidden_layers"}
    assert (text.num_hidden_layers, text.hidden_size, text.num_attention_heads) == (1, 2048, 8)


def test_a_nested_key_changes_only_that_key_for_generation_too():
    """The language-model build (`--generate`, `--train`) reads the same keys: GOT-OCR2's text
    model keeps its default widths with one layer (transformers alone builds Qwen2's own)."""
    import transformers

    source = "hf:got_ocr2:text_config.num_hidden_layers=1"
    text = resolve(source, causal_lm=True).model.config.text_config
    default = transformers.AutoConfig.for_model("got_ocr2").text_config
    assert (text.num_hidden_layers, text.hidden_size, text.intermediate_size) == (
        1,
        default.hidden_size,
        default.intermediate_size,
    )
