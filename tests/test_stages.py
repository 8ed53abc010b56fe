"""Where the compute goes: stage shares and heaviest layers, by hand on resnet18."""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import resnet18

import netcost
from netcost.analysis.stages import stages


def analyzed(model: nn.Module, shape: tuple[int, ...]) -> netcost.Report:
    with torch.no_grad():
        return netcost.analyze(model.eval(), input_size=shape)


def test_resnet18_stages_by_hand():
    with torch.device("meta"):
        model = resnet18()
    b = stages(analyzed(model, (1, 3, 224, 224)))
    rows = {s.name: s for s in b.stages}
    assert list(rows)[:5] == ["conv1", "bn1", "relu", "maxpool", "layer1"]
    assert rows["conv1"].macs == 64 * 3 * 7 * 7 * 112 * 112
    assert rows["layer1"].macs == 4 * 64 * 64 * 3 * 3 * 56 * 56
    assert rows["layer2"].macs == (
        128 * 64 * 9 * 28 * 28 + 3 * 128 * 128 * 9 * 28 * 28 + 128 * 64 * 28 * 28  # + 1x1 skip
    )
    # a basic block's leaf calls: conv, bn, relu, conv, bn, relu (the ReLU module runs twice)
    assert rows["layer1"].activation_bytes == 2 * 6 * 64 * 56 * 56 * 4
    # conv1 (no bias): 2 FLOPs per MAC over its input, weights read and output written once
    moved = (3 * 224 * 224 + 64 * 3 * 7 * 7 + 64 * 112 * 112) * 4
    assert rows["conv1"].bytes_moved == moved
    assert rows["conv1"].intensity == 2 * 64 * 3 * 7 * 7 * 112 * 112 / moved
    assert rows["layer4"].params == 8_393_728 and rows["fc"].params == 512 * 1000 + 1000
    for measure in ("macs", "flops", "params", "activation_bytes", "bytes_moved"):
        assert sum(getattr(s, measure) for s in b.stages) == getattr(b.total, measure)
    assert rows["layer1"].share("macs", b.total) == rows["layer1"].macs / b.total.macs
    top = dict(b.top)
    assert [m.name for m in top["macs"][:1]] == ["conv1"]
    assert top["params"][0].params == 512 * 512 * 9


class OwnOps(nn.Module):
    """Work in the model's own forward lands in the row "(rest)"."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.fc(x)) * 2


def test_work_outside_every_stage_is_the_rest():
    b = stages(analyzed(OwnOps(), (4, 8)))
    assert [s.name for s in b.stages] == ["fc", "(rest)"]
    rest = b.stages[-1]
    assert (rest.macs, rest.flops) == (0, 2 * 4 * 8)  # relu and the product, one each
    assert rest.activation_bytes == 0 and rest.params == 0
