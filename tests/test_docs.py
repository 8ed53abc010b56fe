"""docs/examples.md stays true: every command on the page is rerun and its output compared."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from netcost.cli import run

PAGE = Path(__file__).parent.parent / "docs" / "examples.md"
PAIRS = re.findall(r"```sh\n\$ (netcost[^\n]*)\n```\n\n```text\n(.*?)\n```", PAGE.read_text(), re.S)


def test_the_page_has_every_seed_question():
    assert len(PAIRS) == 10  # the seed questions (resnet18 and resnet50 stages and time), training


@pytest.mark.parametrize(("command", "output"), PAIRS, ids=[c[:60] for c, _ in PAIRS])
def test_documented_output_is_real(command, output, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    produced = "\n".join(line.rstrip() for line in run(shlex.split(command)[1:]).splitlines())
    assert produced.rstrip() == output
