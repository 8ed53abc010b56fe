"""Default inputs for a transformers model, from its forward signature, its config and its code.

Every tensor argument the forward requires gets a tensor, and so does each modality of a
multi-modal model (a CLIP-like model without its image has not been analysed): tokens for text
(128, or fewer where the text config allows fewer positions), an image at the vision config's
size (a clip of `num_frames` for video models), one second of 16 kHz audio or the feature layout
the audio config describes, layout boxes, decoder tokens for encoder-decoders. The command line
prints which inputs were used, so `--input` can change them.

How (inputs.py's `hf_inputs`): select.py picks the names, shapes.py gives each its default
`Input` (spec.py), and the rules (rules/) amend them in order where a model reads them
otherwise, asking the model's own methods through probe.py and its code through source.py's
predicates. mends.py mends default configs a model cannot run. Importing the package loads
nothing else: `api.py` reads keys.py and config.py on every import of netcost.
"""
