"""In a notebook a result shows once, as its own HTML, and str() shows nothing (issue 21)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import netcost


@pytest.fixture
def notebook(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Make rich believe it runs in Jupyter and record what it would display there."""
    import rich.console
    import rich.jupyter

    shown: list[object] = []
    monkeypatch.setattr(rich.console, "_is_jupyter", lambda: True)
    monkeypatch.setattr(rich.jupyter, "display", lambda *a, **k: shown.append(a))
    return shown


def test_results_render_without_displaying_anything(notebook):
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    report = netcost.analyze(model, torch.randn(3, 4))
    text = report.table()
    assert str(report) == text and "Linear" in text
    str(report.stages())
    str(netcost.compare([report, report]))
    report._repr_html_()
    assert notebook == []  # nothing displayed as a side effect: each value shows once
