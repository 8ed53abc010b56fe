"""Only modules that genuinely did not run are listed as such (issue 21): containers whose
children ran and modules whose parameters a parent's op reads did run."""

from __future__ import annotations

import torch
from torch import nn

import netcost


def never_ran(report: netcost.Report) -> tuple[str, ...]:
    found = [d for d in report.diagnostics if d.kind == "uncalled_module"]
    return found[0].layers if found else ()


class Mixed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 4)])  # a container: runs
        self.attention = nn.MultiheadAttention(4, 2)  # its out_proj is read, never called
        self.spare = nn.Linear(4, 4)  # never used
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(4, 2))  # called

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        x, _ = self.attention(x, x, x, need_weights=False)
        return self.head(x)


def test_only_the_unused_module_is_named():
    report = netcost.analyze(Mixed(), torch.randn(3, 1, 4))
    assert never_ran(report) == ("spare",)


def test_torchvision_vit_has_no_false_alarm():
    import pytest

    torchvision = pytest.importorskip("torchvision")
    report = netcost.analyze(torchvision.models.vit_b_16(), torch.randn(1, 3, 224, 224))
    assert never_ran(report) == ()
