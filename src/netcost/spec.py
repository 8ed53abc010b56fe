"""Layer lists: build an nn.Sequential from the notation people already write.

Grammar (whitespace, newlines, `;`, `|` or `->` between layers; `#` starts a comment):

    spec   := layer (sep layer)*
    layer  := NAME | NAME "(" args ")"
    NAME   := a torch.nn layer class (Conv2d, ReLU, ...), any case, or a terse alias (conv, fc, bn)
    args   := Python literal arguments, positional then keyword: Conv2d(8, 16, 3, stride=2)
            | terse arguments: conv(8, 16, k3, s2, p1)  k=kernel_size s=stride p=padding
                                                        d=dilation g=groups

Example: "Conv2d(1, 8, 5, stride=2, padding=2) ReLU conv(8, 16, k3, s2, p1) Flatten fc(784, 10)"
"""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from netcost.errors import UsageError

CONTAINERS = {"Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict", "Module",
              "Container", "LazyModuleMixin"}  # fmt: skip

TERSE = {
    "conv": "Conv2d", "conv1d": "Conv1d", "conv2d": "Conv2d", "conv3d": "Conv3d",
    "convt": "ConvTranspose2d", "tconv": "ConvTranspose2d", "deconv": "ConvTranspose2d",
    "fc": "Linear", "dense": "Linear", "linear": "Linear",
    "bn": "BatchNorm2d", "bn1d": "BatchNorm1d", "bn2d": "BatchNorm2d", "bn3d": "BatchNorm3d",
    "ln": "LayerNorm", "gn": "GroupNorm",
    "maxpool": "MaxPool2d", "avgpool": "AvgPool2d", "pool": "MaxPool2d",
    "gap": "AdaptiveAvgPool2d", "gmp": "AdaptiveMaxPool2d",
    "drop": "Dropout", "dropout": "Dropout", "embed": "Embedding", "up": "Upsample",
}  # fmt: skip

TERSE_KEYS = {"k": "kernel_size", "s": "stride", "p": "padding", "d": "dilation", "g": "groups"}
DEFAULT_ARGS = {"AdaptiveAvgPool2d": (1,), "AdaptiveMaxPool2d": (1,), "AdaptiveAvgPool1d": (1,),
                "AdaptiveMaxPool1d": (1,)}  # fmt: skip

_SEPARATORS = re.compile(r"\s+|;|\||->|,")


def layer_classes() -> dict[str, type[nn.Module]]:
    """Every layer class torch.nn exports, by lower-case name (containers excluded)."""
    found = {}
    for name in dir(nn):
        obj = getattr(nn, name)
        if (
            isinstance(obj, type)
            and issubclass(obj, nn.Module)
            and name not in CONTAINERS
            and not name.startswith("_")
            and not name.startswith("Lazy")
        ):
            found[name.lower()] = obj
    return found


@dataclass(frozen=True)
class Token:
    text: str
    start: int  # character offset in the spec
    index: int  # 1-based position among the layers

    def where(self) -> str:
        return f"layer {self.index} {self.text!r} (character {self.start + 1})"


def tokenize(spec: str) -> list[Token]:
    """Split at top-level separators; parentheses may hold anything, commas included."""
    spec = re.sub(r"#[^\n]*", lambda m: " " * len(m.group()), spec)
    tokens: list[Token] = []
    i, n = 0, len(spec)
    while i < n:
        sep = _SEPARATORS.match(spec, i)
        if sep and sep.end() > i:
            i = sep.end()
            continue
        start, depth = i, 0
        while i < n:
            c = spec[i]
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth < 0:
                    raise UsageError(f"spec: unmatched ')' at character {i + 1}")
            elif depth == 0 and _SEPARATORS.match(spec, i):
                break
            i += 1
        if depth:
            raise UsageError(f"spec: unclosed '(' in {spec[start:i]!r} at character {start + 1}")
        tokens.append(Token(spec[start:i], start, len(tokens) + 1))
    if not tokens:
        raise UsageError("spec: no layers given")
    return tokens


def build_layer(token: Token, classes: dict[str, type[nn.Module]]) -> nn.Module:
    match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?", token.text, re.S)
    if not match:
        raise UsageError(f"spec: cannot read {token.where()}: write Name or Name(arguments)")
    name, body = match.group(1), match.group(2)
    cls = classes.get(name.lower()) or classes.get(TERSE.get(name.lower(), "").lower())
    if cls is None:
        known = [c.__name__ for c in classes.values()] + list(TERSE)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UsageError(f"spec: unknown layer {name!r} at {token.where()}{hint}")
    args, kwargs = _arguments(body, token) if body is not None and body.strip() else ((), {})
    if not args and not kwargs:
        args = DEFAULT_ARGS.get(cls.__name__, ())
    try:
        return cls(*args, **kwargs)
    except Exception as error:
        raise UsageError(
            f"spec: {token.where()}: {cls.__name__} refuses these arguments: {error}"
        ) from None


def _arguments(body: str, token: Token) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Python literal arguments; bare words are strings (padding=same, as PyTorch prints them),
    and positional k3 s2 p1 d2 g4 are the terse kernel_size, stride, padding, dilation, groups."""
    try:
        call = ast.parse(f"f({body})", mode="eval").body
    except SyntaxError:
        raise UsageError(f"spec: cannot read the arguments of {token.where()}") from None
    assert isinstance(call, ast.Call)
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for node in call.args:
        terse = re.fullmatch(r"([kspdg])(\d+)", node.id) if isinstance(node, ast.Name) else None
        if terse:
            kwargs[TERSE_KEYS[terse.group(1)]] = int(terse.group(2))
        else:
            args.append(_literal(node, token))
    for keyword in call.keywords:
        if keyword.arg is None:
            raise UsageError(f"spec: ** arguments are not allowed in {token.where()}")
        kwargs[keyword.arg] = _literal(keyword.value, token)
    return tuple(args), kwargs


class _BareWords(ast.NodeTransformer):
    def visit_Name(self, node: ast.Name) -> ast.Constant:
        return ast.copy_location(ast.Constant(node.id), node)


def _literal(node: ast.expr, token: Token) -> Any:
    try:
        return ast.literal_eval(_BareWords().visit(node))
    except (SyntaxError, ValueError):
        raise UsageError(
            f"spec: cannot read argument {ast.unparse(node)!r} of {token.where()}: use numbers, "
            "True/False, words, (tuples) or k3 s2 p1 d2 g4"
        ) from None


def build(spec: str) -> nn.Sequential:
    """The nn.Sequential a spec describes (a path to a file holding a spec works too), on the
    meta device."""
    path = Path(spec)
    if "\n" not in spec and len(spec) < 4096 and path.suffix and path.is_file():
        spec = path.read_text()
    classes = layer_classes()
    with torch.device("meta"):  # no weights allocated or initialised, whatever their size
        return nn.Sequential(*(build_layer(t, classes) for t in tokenize(unprinted(spec))))


def unprinted(spec: str) -> str:
    """A printed nn.Sequential as a spec: its `Sequential(` lines (nested ones too), their
    closing `)` lines and the `(name): ` in front of each layer dropped, leaving the layers'
    reprs in order."""
    if not re.match(r"\s*Sequential\(\s*\n", spec):
        return spec
    kept = []
    for line in spec.splitlines():
        text = re.sub(r"^\s*\([\w.]+\):\s*", "", line).strip()
        if text in ("Sequential(", ")", ""):
            continue
        kept.append(text)
    return "\n".join(kept)


def to_spec(model: nn.Sequential) -> str:
    """The spec of a Sequential of plain layers: each layer's own repr, which builds it again."""
    return " ".join(repr(m).replace("\n", " ") for m in model)


def sample_dims(layer: nn.Module) -> int | None:
    """How many dims one unbatched sample has for this first layer (None when unknown)."""
    name = type(layer).__name__
    found = re.search(r"([123])d$", name)
    if found:
        return int(found.group(1)) + 1
    if isinstance(layer, nn.Linear | nn.Bilinear | nn.LayerNorm):
        return 1
    return None


def _input_width(layer: nn.Module) -> tuple[str, int, str] | None:
    """(what it expects, how many, the constructor with that number fixed) for layers whose
    first argument is the incoming width."""
    name = type(layer).__name__
    if isinstance(layer, nn.Linear):
        return "features", layer.in_features, f"Linear({{n}}, {layer.out_features})"
    if isinstance(layer, nn.modules.conv._ConvNd):
        rest = repr(layer)[len(name) + 1 :].split(",", 1)[1]
        return "channels", layer.in_channels, f"{name}({{n}},{rest}"
    if isinstance(layer, nn.modules.batchnorm._NormBase):
        return "channels", layer.num_features, f"{name}({{n}})"
    if isinstance(layer, nn.GroupNorm):
        return "channels", layer.num_channels, f"GroupNorm({layer.num_groups}, {{n}})"
    return None


def diagnose(model: nn.Sequential, shape: tuple[int, ...]) -> str | None:
    """Walk the layers on meta tensors; at the first that refuses its input, say which layer,
    both shapes, and the fix the numbers suggest. None when every layer accepts its input."""
    import copy

    import torch

    from netcost.text import shape as fmt

    layers = list(copy.deepcopy(model).to("meta"))
    x = torch.empty(shape, device="meta")
    for i, layer in enumerate(layers):
        try:
            y = layer(x)
        except Exception as error:
            before = f"layer {i} {type(layers[i - 1]).__name__}" if i else "the input"
            text = f"layer {i + 1} {model[i]!r} receives {fmt(x.shape)} from {before}"
            width = _input_width(model[i])
            axis = -1 if isinstance(model[i], nn.Linear) else 1
            if width and x.dim() > abs(axis) - (axis < 0) and x.shape[axis] != width[1]:
                got = x.shape[axis]
                fix = width[2].format(n=got)
                return f"{text}: it expects {width[1]} {width[0]}, gets {got}; use {fix}"
            return f"{text}: {str(error).splitlines()[0]}"
        x = y
    return None
