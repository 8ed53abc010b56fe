"""The names transformers uses: config keys netcost reads and the input names forwards take,
with the sizes netcost gives an input a config does not size. Plain data; imports nothing."""

from __future__ import annotations

#: Text: 128 tokens, or fewer where the text config allows fewer positions (CLIP: 77).
TOKENS = 128
POSITION_KEYS = ("max_position_embeddings", "n_positions", "max_text_len", "max_seq_len")
#: The shape keys of a language model's config, shown beside its report.
SHAPE_KEYS = ("num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim",
              "hidden_size", "intermediate_size", "vocab_size")  # fmt: skip

TEXT_INPUTS = ("input_ids",)
IMAGE_INPUTS = ("pixel_values",)
VIDEO_INPUTS = ("pixel_values_videos",)
AUDIO_INPUTS = ("input_values", "input_features")
#: Inputs that hold token ids: given values (an ordinary token everywhere), so that masks a model
#: derives from them (padding, lengths) are exact.
TOKEN_INPUTS = ("input_ids", "decoder_input_ids", "qformer_input_ids")
#: Masks of valid audio frames (processors give ones where there is no padding), by the input.
AUDIO_MASKS = {
    "input_features": ("input_features_mask", "feature_attention_mask"),
    "audio_mel": ("audio_mel_mask",),  # Gemma 3n's audio encoder alone: True marks padding
    "input_values": ("input_values_mask",),
}

#: Config keys of the placeholder token each modality's features replace.
IMAGE_TOKEN_KEYS = ("image_token_id", "image_token_index")
AUDIO_TOKEN_KEYS = ("audio_token_id", "audio_token_index")
VIDEO_TOKEN_KEYS = ("video_token_id", "video_token_index")
#: Inputs that go with an image to the model's own feature method.
IMAGE_COMPANIONS = ("image_sizes", "pixel_attention_mask", "spatial_shapes",
                    "high_res_pixel_values")  # fmt: skip

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
#: The image side for patch-grid models: 224 pixels, rounded to whole merged patches.
GRID_IMAGE_SIDE = 224
#: A clip's frames where the config names none.
VIDEO_FRAMES = 16

AUDIO_SAMPLES = 16_000  # one second at 16 kHz, what wav2vec2-style models take
#: Config keys for the mel bins of log-mel features (Gemma 3n: `input_feat_size`).
MEL_KEYS = ("num_mel_bins", "input_feat_size", "n_mels", "n_mel_bins")
#: Mel bins of log-mel features in common use (Whisper v1–v2 and most: 80; Whisper v3: 128).
COMMON_MEL_BINS = (80, 128)
#: Raw samples behind one 10-millisecond log-mel frame at 16 kHz.
SAMPLES_PER_FRAME = 160
#: One second of 10-millisecond log-mel frames.
SECOND_FRAMES = 100
#: 30 seconds of 10-millisecond log-mel frames (Whisper's window).
LOG_MEL_FRAMES = 3000
#: CLAP's 10 seconds at hop 480.
CLAP_FRAMES = 1001
#: Config keys for the width of stacked feature frames (w2v-BERT's 2 × 80 mel bins).
PROJECTED_KEYS = ("feature_projection_input_dim",)
#: A codec's config has up- or down-sampling ratios; where codecs sit in a model's config.
CODEC_RATIOS = ("upsampling_ratios", "downsampling_ratios")
CODEC_KEYS = ("dac_config", "acoustic_model_config", "codec_config")

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
#: Words a forward's docstring uses for a sequence's length: given TOKENS positions.
LENGTH_WORDS = ("sequence_length", "seq_len", "seq_length", "num_frames", "frames", "num_tokens",
                "length", "time_steps", "num_patches", "num_keypoints")  # fmt: skip
