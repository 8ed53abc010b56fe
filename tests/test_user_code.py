"""The user's own code: files inside packages, `package.module:NAME`, names listed and
suggested, constructors on the meta device, and errors that name the file and the class."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from netcost.cli import run
from netcost.errors import NetcostError
from netcost.sources import resolve

BLOCKS = """
from torch import nn

class Block(nn.Sequential):
    def __init__(self, n=8):
        super().__init__(nn.Linear(n, n), nn.ReLU())
"""

MODEL = """
from torch import nn
from .blocks import Block
from {pkg}.blocks import Block as Same

class Net(nn.Sequential):
    def __init__(self):
        super().__init__(Block(8), Same(8))

def make():
    return Net()

class Refuses(nn.Module):
    def __init__(self):
        super().__init__()
        raise ValueError("width must be even")

class Breaks(nn.Module):
    def __init__(self):
        super().__init__()
        int("x", "y")

class Wants(nn.Module):
    def __init__(self, width):
        super().__init__()

model = nn.Sequential(nn.Linear(4, 4))
huge = nn.Linear(100_000, 100_000)
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    """tmp/proj/<pkg>/{__init__, blocks, model}.py and <pkg>/sub/deep.py; a fresh package name
    per test, so that no test sees another's imports."""
    pkg = f"userpkg_{len(sys.modules)}_{os.getpid()}"
    root = tmp_path / "proj"
    (root / pkg / "sub").mkdir(parents=True)
    (root / pkg / "__init__.py").write_text("")
    (root / pkg / "sub" / "__init__.py").write_text("")
    (root / pkg / "blocks.py").write_text(BLOCKS)
    (root / pkg / "model.py").write_text(MODEL.format(pkg=pkg))
    (root / pkg / "sub" / "deep.py").write_text("from ..model import Net\n")
    monkeypatch.chdir(tmp_path)  # not the project root: imports must work from anywhere
    monkeypatch.setattr(sys, "path", list(sys.path))
    return root, pkg


def macs(source: str) -> str:
    text = run([source, "--input", "2x8", "--format", "json"])
    import json

    return json.loads(text)["total"]["macs"]


def test_a_file_in_a_package_imports_relatively_and_absolutely_from_anywhere(project):
    _, pkg = project
    # two Linear(8, 8) on 2 rows: 2 · 2 · 8 · 8 = 256 MACs
    assert macs(f"proj/{pkg}/model.py:Net") == 2 * 2 * 8 * 8
    assert macs(f"proj/{pkg}/sub/deep.py:Net") == 2 * 2 * 8 * 8


def test_package_module_name_works_from_the_project_root(project, monkeypatch):
    root, pkg = project
    monkeypatch.chdir(root)
    assert macs(f"{pkg}.model:make") == 2 * 2 * 8 * 8
    with pytest.raises(NetcostError, match=rf"no module '{pkg}.modle' \(looked in "):
        resolve(f"{pkg}.modle:Net")


def test_names_are_listed_and_suggested_among_everything_the_file_defines(project):
    _, pkg = project
    offered = (
        "Net (class), make (function), Refuses (class), Breaks (class), Wants (class), "
        "model (nn.Module), huge (nn.Module)"
    )
    path = f"proj/{pkg}/model.py"
    with pytest.raises(NetcostError) as listed:
        resolve(path)
    assert (
        str(listed.value)
        == f"{path}: name the model to analyse, e.g. {path}:Net; it defines: {offered}"
    )
    with pytest.raises(NetcostError) as close:
        resolve(f"{path}:modle")
    assert (
        str(close.value) == f"{path} defines no 'modle'; did you mean model? it defines: {offered}"
    )


def test_constructor_errors_name_the_file_and_class_and_keep_the_cause(project):
    _, pkg = project
    path = f"proj/{pkg}/model.py"
    with pytest.raises(NetcostError) as refused:
        resolve(f"{path}:Refuses")
    assert str(refused.value) == f"{path}:Refuses() failed: ValueError: width must be even"
    with pytest.raises(NetcostError) as broken:  # a TypeError inside, not a signature problem
        resolve(f"{path}:Breaks")
    assert str(broken.value).startswith(f"{path}:Breaks() failed: TypeError: ")
    with pytest.raises(NetcostError, match=r"Wants must be an nn.Module or take no arguments"):
        resolve(f"{path}:Wants")


def test_models_in_files_are_built_on_meta_whatever_their_size(project):
    """huge = nn.Linear(100,000, 100,000) at import: 10¹⁰ weights, 37 GiB if allocated."""
    _, pkg = project
    resolved = resolve(f"proj/{pkg}/model.py:huge")
    assert resolved.model.weight.device.type == "meta"
    assert resolve(f"proj/{pkg}/model.py:Net").model[0][0].weight.device.type == "meta"


def test_a_spec_is_built_on_meta_whatever_its_size():
    """Linear(10⁸, 10⁸): 10¹⁶ MACs for one sample; 40 PB of weights if allocated."""
    import json

    text = run(["spec", "Linear(100000000, 100000000)", "--input", "100000000", "-f", "json"])
    assert json.loads(text)["total"]["macs"] == 10**8 * 10**8


def test_a_standalone_file_imports_its_siblings(tmp_path, monkeypatch):
    (tmp_path / "layers_for_netcost_test.py").write_text(BLOCKS)
    (tmp_path / "net.py").write_text(
        "from layers_for_netcost_test import Block\nmodel = Block(8)\n"
    )
    monkeypatch.setattr(sys, "path", list(sys.path))
    assert macs(str(tmp_path / "net.py") + ":model") == 2 * 8 * 8
    assert Path(tmp_path / "net.py").is_file()
