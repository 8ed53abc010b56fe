"""netcost compare: totals and stages side by side, ratios and differences by hand."""

from __future__ import annotations

import pytest
import torch
from torchvision.models import resnet18, resnet34

import netcost
from netcost.analysis.compare import compare
from netcost.cli import run


def analyzed(model: torch.nn.Module) -> netcost.Report:
    with torch.no_grad():
        return netcost.analyze(model.eval(), input_size=(1, 3, 224, 224))


def test_resnet18_vs_resnet34_by_hand():
    with torch.device("meta"):
        a, b = analyzed(resnet18()), analyzed(resnet34())
    c = compare([a, b], ["resnet18", "resnet34"])
    stage = {row.measure: row for row in c.stage_rows}
    conv = 115_605_504  # one 64->64 3x3 conv at 56x56: 64·64·9·56·56
    assert stage["layer1"].values == (4 * conv, 6 * conv)  # 2 blocks vs 3, two convs each
    assert stage["layer1"].ratio(1) == 1.5
    # layer3: one 128->256 stride-2 conv, the 1x1 skip, and 3 (resnet18) or 11 (resnet34)
    # 256->256 convs at 14x14
    first, skip, same = 256 * 128 * 9 * 196, 256 * 128 * 196, 256 * 256 * 9 * 196
    assert stage["layer3"].values == (first + skip + 3 * same, first + skip + 11 * same)
    assert stage["layer3"].difference(1) == 8 * same
    totals = {row.measure: row for row in c.totals}
    assert totals["parameters"].values == (11_689_512, 21_797_672)  # torchvision's published
    assert totals["MACs"].difference(1) == b.total.macs - a.total.macs


def test_one_model_at_two_batches_on_the_command_line():
    text = run(["compare", "examples:simple_cnn", "examples:simple_cnn@128x1x28x28"])
    lines = text.splitlines()
    assert lines[0] == "A: examples:simple_cnn at 64x1x28x28"
    assert lines[1] == "B: examples:simple_cnn at 128x1x28x28"
    cells = {
        row[0]: row[1:]
        for row in ([c.strip() for c in line.split("│")[1:-1]] for line in lines if "│" in line)
    }
    # twice the batch: twice the work, the same parameters
    assert cells["MACs"] == ["3,750,912", "7,501,824", "2.000×", "+3,750,912"]
    assert cells["parameters"] == ["6,722", "6,722", "1.000×", "0"]


def test_compare_needs_two_models():
    with pytest.raises(netcost.NetcostError, match="compare needs two models or more"):
        run(["compare", "examples:simple_cnn"])


def test_stages_compared_by_parameters():
    with torch.device("meta"):
        a, b = analyzed(resnet18()), analyzed(resnet34())
    c = compare([a, b], measure="params")
    stage = {row.measure: row for row in c.stage_rows}
    block = 2 * 64 * 64 * 9 + 2 * 2 * 64  # two 3x3 convs and two batch norms
    assert stage["layer1"].values == (2 * block, 3 * block)
    assert c.labels == ("ResNet", "ResNet")
    with pytest.raises(netcost.NetcostError, match="unknown measure 'flops'"):
        compare([a, b], measure="flops")
