"""Lazy modules are analysed through an initialised copy; the user's model stays lazy."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.parameter import is_lazy

import netcost


def test_lazy_modules_take_their_shapes_from_the_input_and_stay_lazy():
    model = nn.Sequential(
        nn.LazyConv2d(4, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2), nn.LazyBatchNorm1d()
    )
    report = netcost.analyze(model, torch.randn(5, 3, 8, 8), train=True)
    # Conv2d(3 → 4, 3×3) on 8×8 → 6×6; Linear(4·6·6 = 144 → 2); BatchNorm1d(2)
    assert report.total.params == (4 * 3 * 3 * 3 + 4) + (144 * 2 + 2) + 2 * 2
    assert report.total.macs == 5 * 4 * 6 * 6 * 3 * 3 * 3 + 5 * 144 * 2
    assert [type(m).__name__ for m in model] == [
        "LazyConv2d", "ReLU", "Flatten", "LazyLinear", "LazyBatchNorm1d",
    ]  # fmt: skip
    assert all(is_lazy(p) for p in model.parameters())
