"""The user's own models: `path/to/file.py:NAME` and `package.module:NAME`.

A file inside a package (folders with `__init__.py`) is imported as its package's module, so
relative imports (`from .blocks import Block`) and absolute ones (`from mypkg.blocks import
Block`) both work from any working directory; the folder above the top package and the working
directory are importable. NAME is an nn.Module instance, an nn.Module class or a zero-argument
factory. Modules, classes and factories are built on the meta device: no weights are allocated
or initialised, whatever their size (a constructor that reads tensor values is built on the CPU
instead).
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import os
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import nn

from netcost.errors import ModelError, UsageError

DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def is_module_path(text: str) -> bool:
    """`pkg.module` (at least one dot, identifiers only): a Python module to import."""
    return "." in text and DOTTED.fullmatch(text) is not None and not text.endswith(".py")


def load_file(path: Path) -> ModuleType:
    """Import a .py file as the module its package tree makes it (`mypkg/model.py` ->
    `mypkg.model`), or as a top-level module named after the file when it is in no package."""
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    path = path.resolve()
    parts = [path.stem]
    root = path.parent
    while (root / "__init__.py").is_file():
        parts.insert(0, root.name)
        root = root.parent
    _importable(root)
    if len(parts) > 1:
        return _import(".".join(parts), str(path))
    name = path.stem
    loaded = sys.modules.get(name)
    if loaded is not None and getattr(loaded, "__file__", None) == str(path):
        return loaded
    if loaded is not None:  # another module already has the name: a private one
        name = f"netcost_user_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot import {path} as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    try:
        on_meta_or_cpu(lambda: spec.loader.exec_module(module))
    except Exception as error:
        del sys.modules[name]
        raise ModelError(f"{path}: importing it failed: {type(error).__name__}: {error}") from None
    return module


def load_module(name: str) -> ModuleType:
    """`pkg.module`, importable from the working directory."""
    _importable(Path.cwd())
    return _import(name, name)


def _import(name: str, where: str) -> ModuleType:
    try:
        return on_meta_or_cpu(lambda: importlib.import_module(name))
    except ModuleNotFoundError as error:
        if error.name is not None and name.startswith(error.name):
            raise UsageError(
                f"no module {error.name!r} (looked in {os.getcwd()} and the installed packages)"
            ) from None
        raise ModelError(f"{where}: importing it failed: ModuleNotFoundError: {error}") from None
    except Exception as error:
        raise ModelError(f"{where}: importing it failed: {type(error).__name__}: {error}") from None


def _importable(folder: Path) -> None:
    for entry in (str(folder), os.getcwd()):
        if entry not in sys.path:
            sys.path.insert(0, entry)


def on_meta_or_cpu(make: Any) -> Any:
    """Run `make` with tensors created on the meta device; a constructor that reads tensor
    values ("cannot copy out of meta tensor") runs again on the CPU."""
    try:
        with torch.device("meta"):
            return make()
    except RuntimeError:  # a missing meta kernel raises a subclass of it as well
        return make()


def candidates(module: ModuleType) -> dict[str, str]:
    """What a module offers to analyse, by name: its nn.Module instances, the nn.Module classes
    and the functions it defines."""
    found: dict[str, str] = {}
    for name, value in vars(module).items():
        if name.startswith("_"):
            continue
        if isinstance(value, nn.Module):
            found[name] = "nn.Module"
        elif getattr(value, "__module__", None) != module.__name__:
            continue
        elif inspect.isclass(value) and issubclass(value, nn.Module):
            found[name] = "class"
        elif inspect.isfunction(value):
            found[name] = "function"
    return found


def model_from(module: ModuleType, name: str, where: str) -> nn.Module:
    """The model `name` of `module`: an instance, or built from a class or factory on meta."""
    offered = candidates(module)
    listed = ", ".join(f"{n} ({kind})" for n, kind in offered.items()) or "no model"
    if not name:
        example = next(iter(offered), "Net")
        raise UsageError(
            f"{where}: name the model to analyse, e.g. {where}:{example}; it defines: {listed}"
        )
    if not hasattr(module, name):
        close = difflib.get_close_matches(name, list(offered), n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise UsageError(f"{where} defines no {name!r}; {hint}it defines: {listed}")
    obj = getattr(module, name)
    if isinstance(obj, nn.Module):
        return obj
    if not callable(obj):
        raise UsageError(f"{where}:{name} is a {type(obj).__name__}, not an nn.Module or a factory")
    try:
        inspect.signature(obj).bind()
    except TypeError as error:
        raise UsageError(
            f"{where}:{name} must be an nn.Module or take no arguments ({error})"
        ) from None
    except ValueError:  # no signature to read (a builtin): call it and see
        pass
    try:
        made = on_meta_or_cpu(obj)
    except Exception as error:
        raise ModelError(f"{where}:{name}() failed: {type(error).__name__}: {error}") from None
    if not isinstance(made, nn.Module):
        raise UsageError(f"{where}:{name}() returned {type(made).__name__}, not an nn.Module")
    return made
