"""Resolving a MODEL argument to a module and its default inputs.

  examples:NAME            a built-in network (netcost/examples.py)
  torchvision:NAME         torchvision.models.get_model(NAME), at its weights' crop size
  timm:NAME                timm.create_model(NAME), at its pretrained config's input size
  hf:MODEL_TYPE[:k=v,...]  a transformers model built from its config (AutoConfig.for_model)
  path/to/file.py:NAME     an nn.Module, a Module class or a zero-argument factory in a file
  package.module:NAME      the same in an importable module (user_code.py: packages, meta)

Models are built on the meta device (no memory, no initialisation cost) and never download
weights.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import torch
from torch import nn

from netcost.errors import ModelError, NetcostError, UnsupportedError, UsageError
from netcost.hf.inputs import hf_inputs
from netcost.hf.mends import mends as config_mends

EXTRAS = {"vision": "torchvision", "timm": "timm", "hf": "transformers"}


def require(module: str, extra: str) -> ModuleType:
    """Import an optional dependency, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise UnsupportedError(
            f"{module} is not installed: pip install 'netcost[{extra}]'"
        ) from None


@dataclass
class Resolved:
    model: nn.Module
    name: str
    inputs: tuple[str, ...]  # input specs, e.g. ("1x3x224x224",); empty when unknown
    kwarg_names: tuple[str, ...] = ()  # names to pass the inputs by, when not positional
    #: inputs whose values matter (a VLM's image tokens among its token ids), by name
    values: dict[str, torch.Tensor] = field(default_factory=dict)
    #: what the user should know about how the model was built (a mended default config)
    notes: tuple[str, ...] = ()

    def example_inputs(
        self, shapes: list[tuple[tuple[int, ...], torch.dtype]]
    ) -> tuple[torch.Tensor, ...] | dict[str, torch.Tensor]:
        """Shape-only tensors of these shapes, by name where the model takes names; a named input
        with known values keeps them (repeated along the batch when only the batch differs; one
        value repeated, as ordinary token ids are, fills any shape)."""
        from netcost.inputs import known, shape_only, with_known_values

        tensors = [shape_only(*s) for s in shapes]
        for i, (name, t) in enumerate(zip(self.kwarg_names, tensors, strict=False)):
            value = self.values.get(name)
            if value is None or value.dtype != t.dtype or value.dim() != t.dim():
                continue
            if value.shape == t.shape:
                tensors[i] = value
            elif value.shape[1:] == t.shape[1:] and value.shape[0] == 1:
                tensors[i] = value.expand(t.shape).clone()
                if known(value):
                    with_known_values(tensors[i])
            elif value.numel() and bool((value == value.flatten()[0]).all()):  # one value: any size
                tensors[i] = torch.full(t.shape, int(value.flatten()[0]), dtype=t.dtype)
        if self.kwarg_names and len(tensors) <= len(self.kwarg_names):
            return dict(zip(self.kwarg_names, tensors, strict=False))
        return tuple(tensors)


def resolve(source: str, *, causal_lm: bool = False) -> Resolved:
    """The model named by `source`, in eval mode: the command line analyses inference. Built
    with the random generator seeded (and the caller's state kept), so a model that netcost
    must run for real (values read into Python) gets the same weights, and the same report,
    every time."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        resolved = (
            _causal_lm(source) if causal_lm and source.startswith("hf:") else _resolve(source)
        )
    resolved.model.eval()
    return resolved


def _resolve(source: str) -> Resolved:
    kind, sep, rest = source.partition(":")
    if not sep:
        found = _user(source)  # a file or module with no NAME: its candidates are listed
        return found if found is not None else _close_match_error(source)
    if kind == "examples":
        return _example(rest)
    if kind == "torchvision":
        return _torchvision(rest)
    if kind == "timm":
        return _timm(rest)
    if kind in ("hf", "transformers"):
        return _hf(rest)
    found = _user(source)
    return found if found is not None else _close_match_error(source)


#: the model sources `netcost list` names, as a model is written: examples:NAME, ...
SOURCES = ("examples", "torchvision", "timm", "hf")


def names(kind: str, pattern: str = "") -> list[str]:
    """The model names `kind:` accepts, those matching `pattern` (a part of the name, or a
    glob), sorted."""
    import fnmatch

    if kind == "examples":
        from netcost.examples import EXAMPLES

        every = list(EXAMPLES)
    elif kind == "torchvision":
        every = require("torchvision", "vision").models.list_models()
    elif kind == "timm":
        every = require("timm", "timm").list_models()
    else:
        every = list(require("transformers", "hf").CONFIG_MAPPING)
    glob = pattern if any(c in pattern for c in "*?[") else f"*{pattern}*"
    return sorted(n for n in every if fnmatch.fnmatchcase(n.lower(), glob.lower()))


def _close_match_error(source: str) -> Resolved:
    from netcost.examples import EXAMPLES

    names = [f"examples:{n}" for n in EXAMPLES] + list(EXAMPLES)
    close = difflib.get_close_matches(source, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise UsageError(
        f"cannot tell what model {source!r} is: use examples:NAME, torchvision:NAME, timm:NAME, "
        f"hf:MODEL_TYPE or path/to/file.py:NAME{hint}"
    )


def _unknown(kind: str, name: str, known: list[str]) -> NetcostError:
    close = difflib.get_close_matches(name, known, n=5, cutoff=0.5)
    hint = f"; close matches: {', '.join(close)}" if close else ""
    return UsageError(f"unknown {kind} model {name!r}{hint}")


def _example(name: str) -> Resolved:
    from netcost.examples import EXAMPLES

    if name not in EXAMPLES:
        known = list(EXAMPLES)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.4)
        raise UsageError(
            f"unknown example {name!r}; examples are: {', '.join(known)}"
            + (f" (did you mean {', '.join(close)}?)" if close else "")
        )
    example = EXAMPLES[name]
    return Resolved(example.factory(), name, example.inputs)


def _on_meta(
    build: Any, *args: Any, label: str | None = None, draw: bool = True, **kwargs: Any
) -> nn.Module:
    """Build without allocating or initialising weights; models whose constructor reads tensor
    values (torchvision's regnets) are built on the CPU instead, with their weights drawn only
    where `draw` says the constructor computes on them (torchvision's quantized models calibrate
    while built) and moved to meta where it does not. A constructor that fails (one that wants
    to download something, say) is reported in one line."""
    name = label or (
        args[0] if args and isinstance(args[0], str) else getattr(build, "__name__", "model")
    )
    try:
        try:
            with torch.device("meta"):
                return _uninitialised_to_meta(build(*args, **kwargs))
        except RuntimeError:  # its subclasses too: "cannot copy out of meta tensor"
            if draw:
                return build(*args, **kwargs)
            with _no_initialisers():  # RegNet-128GF draws 644 M weights in 7 s otherwise
                return _uninitialised_to_meta(build(*args, **kwargs))
    except Exception as error:
        raise ModelError(
            f"building {name} failed: {type(error).__name__}: {cause(error)}"
        ) from None


@contextmanager
def _no_initialisers() -> Iterator[None]:
    """torch.nn.init's in-place initialisers as no-ops, for a build whose weights go to meta
    right after; buffers (running statistics, positions) are not drawn by them and stay."""
    from torch.nn import init

    names = [n for n in dir(init) if n.endswith("_") and not n.startswith("_")]
    saved = {n: getattr(init, n) for n in names}
    try:
        for n in names:
            setattr(init, n, lambda tensor, *a, **k: tensor)
        yield
    finally:
        for n, fn in saved.items():
            setattr(init, n, fn)


def _uninitialised_to_meta(model: nn.Module) -> nn.Module:
    """A model built on meta may still hold CPU parameters that a legacy constructor
    (`nn.Parameter(torch.Tensor(n))`) allocated uninitialised: they go to meta too, so that a
    real execution initialises them as the rest (the model's own init), never from whatever
    the memory held. Buffers stay: those a constructor computes (positions, frequencies) hold
    real values."""
    moved: dict[int, nn.Parameter] = {}  # one tensor under two names stays one
    for module in model.modules():
        for key, param in module._parameters.items():
            if param is not None and param.device.type != "meta":
                if id(param) not in moved:
                    meta = param.to("meta")
                    moved[id(param)] = nn.Parameter(meta, requires_grad=param.requires_grad)
                module._parameters[key] = moved[id(param)]
    return model


def cause(error: BaseException) -> str:
    """The first non-empty line of an error's message (transformers' ImportErrors start with a
    blank line, before the package they need)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    if lines[0].endswith(":") and len(lines) > 1:  # 'validation error for ...:' then the reason
        return f"{lines[0]} {lines[1]}"
    return lines[0]


def _torchvision(name: str) -> Resolved:
    models = require("torchvision.models", "vision")
    known = models.list_models()
    if name not in known:
        raise _unknown("torchvision", name, known)
    crop = torchvision_crop(name)
    model = torchvision_model(name)
    return Resolved(model, name, torchvision_inputs(name, crop))


#: Clip length for torchvision's video models: their published `_ops` are for 16-frame clips.
VIDEO_FRAMES = 16
#: Frame size for optical flow: torchvision's RAFT example resizes image pairs to 520 × 960
#: (RAFT needs sides divisible by 8).
FLOW_SIZE = (520, 960)


def torchvision_inputs(name: str, crop: int) -> tuple[str, ...]:
    """One image at the crop size; a 16-frame clip for video models; two frames for optical
    flow."""
    from torchvision import models

    if name in models.list_models(module=models.video):
        return (f"1x3x{VIDEO_FRAMES}x{crop}x{crop}",)
    if name in models.list_models(module=models.optical_flow):
        h, w = FLOW_SIZE
        return (f"1x3x{h}x{w}", f"1x3x{h}x{w}")
    return (f"1x3x{crop}x{crop}",)


def torchvision_model(name: str) -> nn.Module:
    """The model as torchvision builds it without weights (nothing downloaded), on the meta
    device; vision transformers at their weights' image size, as torchvision does when loading
    them. (A pretrained detector's backbone uses FrozenBatchNorm2d, whose affine terms are
    buffers; built without weights it is BatchNorm2d, with parameters.)"""
    import inspect

    from torchvision import models

    kwargs: dict[str, Any] = {"weights": None}
    quantized = name in models.list_models(module=models.quantization)
    if quantized:
        kwargs["quantize"] = True  # int8, as its name says (built and calibrated on the CPU)
    if name.startswith("vit_"):
        kwargs["image_size"] = torchvision_crop(name)
    if "weights_backbone" in inspect.signature(models.get_model_builder(name)).parameters:
        kwargs["weights_backbone"] = None  # segmentation and detection default to downloading it
    return _on_meta(models.get_model, name, draw=quantized, **kwargs).eval()


def torchvision_crop(name: str) -> int:
    """The evaluation crop size of the model's default weights (224 when it has none)."""
    from torchvision import models

    try:
        weights = models.get_model_weights(name).DEFAULT
    except (ValueError, KeyError, AttributeError):
        return 224
    crop = getattr(weights.transforms, "keywords", {}).get("crop_size", 224)
    return int(crop[0] if isinstance(crop, list | tuple) else crop)


def _timm(name: str) -> Resolved:
    timm = require("timm", "timm")
    known = timm.list_models()
    if name not in known:
        raise _unknown("timm", name, known)
    model = _on_meta(timm.create_model, name, pretrained=False)
    size = cast(Any, model).pretrained_cfg.get("input_size", (3, 224, 224))
    return Resolved(model, name, ("1x" + "x".join(map(str, size)),))


def _hf_config(transformers: Any, text: str) -> tuple[str, dict[str, Any], Any]:
    """'MODEL_TYPE[:k=v,...]' -> (model type, the user's keys, the config): the type known, each
    key known to the config, every other key as the default config has it (`_config`)."""
    model_type, _, overrides = text.partition(":")
    kwargs = _overrides(overrides)
    known = list(transformers.CONFIG_MAPPING.keys())
    if model_type not in known:
        raise _unknown("transformers", model_type, known)
    _check_config_keys(transformers.CONFIG_MAPPING[model_type], model_type, kwargs)
    try:
        return model_type, kwargs, _config(transformers, model_type, kwargs)
    except Exception as error:
        raise UsageError(
            f"hf:{model_type}: the config rejects {overrides!r}: {type(error).__name__}: "
            f"{cause(error)}"
        ) from None


def _hf(text: str) -> Resolved:
    transformers = require("transformers", "hf")
    model_type, kwargs, config = _hf_config(transformers, text)
    label = f"hf:{model_type}"
    resolved = _hf_model(transformers, config, model_type, label)
    mends = config_mends(config, resolved.model, kwargs)
    if mends and not _runs(resolved):
        for mend in mends:
            mend.apply(config)
        resolved = _hf_model(transformers, config, model_type, label)
        resolved.notes = tuple(m.note(label) for m in mends)
    return resolved


def _hf_model(transformers: Any, config: Any, model_type: str, label: str) -> Resolved:
    model = _on_meta(_hf_builder(transformers, config), config, label=label)
    model.eval()  # the inputs are tried as the analysis runs it (no training-only paths)
    names, specs, values = hf_inputs(model, config)
    return Resolved(model.eval(), model_type, specs, names, values)


def _runs(resolved: Resolved) -> bool:
    """Whether netcost can analyse the model at its default inputs (fake tensors only)."""
    from netcost.api import analyze
    from netcost.inputs import parse_input

    shapes = [parse_input(s) for s in resolved.inputs]
    try:
        with torch.no_grad():
            analyze(resolved.model, resolved.example_inputs(shapes))
    except NetcostError:
        return False
    return True


def is_causal_lm(source: str) -> bool:
    """Whether `source` is an hf: model type that AutoModelForCausalLM builds (its LM head
    then belongs to every training step, as to every generation step)."""
    if not source.startswith("hf:"):
        return False
    transformers = require("transformers", "hf")
    model_type = source.removeprefix("hf:").partition(":")[0]
    if model_type not in transformers.CONFIG_MAPPING:
        return False
    config_class = transformers.CONFIG_MAPPING[model_type]
    return config_class in transformers.MODEL_FOR_CAUSAL_LM_MAPPING and not getattr(
        config_class(), "is_encoder_decoder", False
    )


def _causal_lm(source: str) -> Resolved:
    """hf:MODEL_TYPE[:k=v,...] built with its language-model head (AutoModelForCausalLM, or
    AutoModelForSeq2SeqLM for an encoder-decoder), for generation: the logits are part of every
    step."""
    transformers = require("transformers", "hf")
    model_type, _, config = _hf_config(transformers, source.removeprefix("hf:"))
    seq2seq = type(config) in transformers.MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING
    if seq2seq and getattr(config, "is_encoder_decoder", False):  # BART: not its decoder alone
        build = transformers.AutoModelForSeq2SeqLM.from_config
    elif getattr(config, "is_encoder_decoder", False):
        raise UsageError(
            f"hf:{model_type} is an encoder-decoder whose encoder does not read a prompt of "
            "tokens (AutoModelForSeq2SeqLM does not map it): --generate takes text prompts"
        )
    elif type(config) in transformers.MODEL_FOR_CAUSAL_LM_MAPPING:
        build = transformers.AutoModelForCausalLM.from_config
    elif seq2seq:
        build = transformers.AutoModelForSeq2SeqLM.from_config
    else:
        raise UsageError(
            f"hf:{model_type} is neither a causal language model nor an encoder-decoder one: "
            "nothing to generate"
        )
    model = _on_meta(build, config, label=f"hf:{model_type}")
    reads = getattr(model, "main_input_name", "input_ids")
    if reads != "input_ids":
        raise UsageError(
            f"hf:{model_type} reads {reads}, not a prompt of tokens: --generate takes language "
            "models whose prompt is text"
        )
    return Resolved(model.eval(), model_type, ())


def _hf_builder(transformers: Any, config: Any) -> Any:
    """AutoModel, or for a config AutoModel does not map (a tower's own config, say
    `Aimv2TextConfig`) the model class of the same name (`Aimv2TextModel`)."""
    mapping = transformers.MODEL_MAPPING
    if type(config) in mapping:
        return transformers.AutoModel.from_config
    name = type(config).__name__.removesuffix("Config") + "Model"
    cls = getattr(transformers, name, None)
    if cls is None:
        raise UsageError(
            f"transformers has no model class for {type(config).__name__} (AutoModel does not "
            f"map it and there is no {name}): it configures part of another model"
        )
    return cls


def _config(transformers: Any, model_type: str, kwargs: dict[str, Any]) -> Any:
    """The config with the user's keys, every other key as the default config has it. A nested
    config given by some of its keys is built by its class from them; the values the parent
    sets itself, which the class would not give, are kept (PaliGemma's text model is 2,048 wide
    with 8 heads, not Gemma's 3,072 and 16), and so is the default's type (Music Flamingo's
    `audio_config`, whose class its `model_type` picks)."""
    if not any(isinstance(value, dict) for value in kwargs.values()):
        return transformers.AutoConfig.for_model(model_type, **kwargs)
    default = transformers.CONFIG_MAPPING[model_type]()
    try:
        return transformers.AutoConfig.for_model(model_type, **_keeping(default, kwargs))
    except KeyError as error:
        if error.args != ("model_type",):
            raise
    typed = _keeping(default, kwargs, typed=True)
    return transformers.AutoConfig.for_model(model_type, **typed)


#: Config keys that record where a config came from, not what it builds.
PROVENANCE = ("transformers_version", "_name_or_path", "architectures")


def _keeping(default: Any, kwargs: dict[str, Any], typed: bool = False) -> dict[str, Any]:
    """`kwargs` with each nested config's dict completed by the default nested config's values
    that differ from its class's own defaults (lists of one entry per layer excepted where the
    user sets the layer count: the class derives them again); `typed`: its `model_type` too."""
    out = dict(kwargs)
    for key, value in kwargs.items():
        nested: Any = getattr(default, key, None)
        if not isinstance(value, dict) or not hasattr(nested, "to_dict"):
            continue
        value = _keeping(nested, value, typed)
        if typed and isinstance(getattr(nested, "model_type", None), str):
            value.setdefault("model_type", nested.model_type)
        try:
            plain = type(nested)().to_dict()
        except Exception:  # a class that needs arguments: its default's every value
            plain = {}
        layers = getattr(nested, "num_hidden_layers", None)
        relayered = "num_hidden_layers" in value
        for name, was in nested.to_dict().items():
            if name in value or name in PROVENANCE or plain.get(name, _MISSING) == was:
                continue
            if relayered and isinstance(was, list) and len(was) == layers:
                continue  # one entry per layer of the default's count
            value[name] = was
        out[key] = value
    return out


_MISSING = object()


def _check_config_keys(config_class: Any, model_type: str, kwargs: dict[str, Any]) -> None:
    """A key the config does not know would be stored and ignored: refuse it, with the close
    matches among the default config's attributes (and their aliases); nested configs' keys
    (`text_config.hidden_size`) against the nested config."""
    if not kwargs:
        return
    try:
        default = config_class()
    except Exception:  # a config that cannot be built without arguments: nothing to check
        return
    _check_keys(default, model_type, kwargs)


def _check_keys(config: Any, where: str, kwargs: dict[str, Any]) -> None:
    cls = type(config)
    known = set(vars(config)) | set(getattr(cls, "attribute_map", {}))
    known |= {n for n in dir(cls) if not n.startswith("_")}
    for key, value in kwargs.items():
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UsageError(f"hf:{where} has no config key {key!r}{hint}")
        nested = getattr(config, key, None)
        if isinstance(value, dict) and hasattr(nested, "to_dict"):
            _check_keys(nested, f"{where} {key}", value)


def _overrides(text: str) -> dict[str, Any]:
    """'hidden_size=4096,text_config.hidden_size=512' -> {'hidden_size': 4096,
    'text_config': {'hidden_size': 512}}: a dotted key sets a nested config's value."""
    result: dict[str, Any] = {}
    for item in filter(None, text.split(",")):
        key, eq, value = item.partition("=")
        if not eq:
            raise UsageError(f"config override {item!r} must be key=value")
        try:
            parsed = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            parsed = value.strip()
        *outer, leaf = key.strip().split(".")
        target = result
        for part in outer:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise UsageError(f"config override {item!r}: {part} is not a nested config")
        target[leaf] = parsed
    return result


def _user(source: str) -> Resolved | None:
    """`path/to/file.py[:NAME]` or `package.module[:NAME]`, or None when `source` is neither."""
    from netcost.user_code import is_module_path, load_file, load_module, model_from

    where, _, name = source.rpartition(":") if ":" in source else (source, "", "")
    if where.endswith(".py"):
        module = load_file(Path(where))
    elif is_module_path(where) and not Path(where).exists():
        module = load_module(where)
    else:
        return None
    return Resolved(model_from(module, name, where), name, ())
