"""FLOP conventions, and ops reached through nn modules with their own argument forms."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import netcost
from netcost.cli import run


def model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding="same"), nn.ReLU(), nn.Conv2d(8, 4, 3, padding="valid"),
        nn.Upsample(scale_factor=2, mode="bilinear"), nn.Flatten(), nn.Linear(4 * 12 * 12, 5),
    )  # fmt: skip


def test_string_padding_and_upsampling():
    r = netcost.analyze(model(), input_size=(2, 3, 8, 8))
    same, valid, up = r.layers[0], r.layers[2], r.layers[3]
    assert same.output_shape == (2, 8, 8, 8)
    assert same.cost.macs == 2 * 8 * 8 * 8 * 3 * 3 * 3
    assert valid.output_shape == (2, 4, 6, 6)
    assert valid.cost.macs == 2 * 4 * 6 * 6 * 8 * 3 * 3
    assert up.cost.flops == 2 * 4 * 12 * 12 * (2 * 4 - 1)  # four taps per bilinear output


@pytest.mark.parametrize("convention", ["netcost", "macs", "torch"])
def test_conventions(convention):
    m, x = model(), torch.randn(2, 3, 8, 8)
    r = netcost.analyze(m, x, convention=convention)
    base = netcost.analyze(m, x)
    assert r.total.macs == base.total.macs
    if convention == "macs":
        assert r.total.flops == r.total.macs
    if convention == "torch":
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            m(x)
        assert r.total.flops == counter.get_total_flops() == 2 * r.total.macs
    if convention == "netcost":
        assert r.total.flops > 2 * r.total.macs  # bias adds, relu, interpolation


def test_unknown_convention():
    with pytest.raises(netcost.NetcostError, match="unknown convention 'fvcore'"):
        netcost.analyze(model(), input_size=(1, 3, 8, 8), convention="fvcore")


def test_cli_hf_model_with_token_input():
    pytest.importorskip("transformers")
    spec = "hf:gpt2:n_embd=32,n_layer=2,n_head=2,vocab_size=100,n_positions=64"
    d = json.loads(run([spec, "--input", "1x16:int64", "--format", "json"]))
    assert d["inputs"] == [{"name": "input_ids", "shape": [1, 16], "dtype": "int64", "bytes": 128}]
    # per block: qkv 3·E², out E², MLP 2·4·E² per token; causal attention E per score, twice
    e, t = 32, 16
    assert d["total"]["macs"] == 2 * (t * 12 * e * e + 2 * (t * (t + 1) // 2) * e)
    assert d["complete"] is True


@pytest.mark.parametrize("convention", ["macs", "torch"])
def test_a_convention_changes_what_is_shown_never_what_is_kept(convention):
    """Costs are kept in netcost's convention whatever the report shows: a time, a training
    step's arithmetic and the layers' costs read the same numbers under every convention (under
    "macs" the ReLU's and bias adds' FLOPs were 0, so a device's times and MFU dropped them)."""
    m, x = model(), torch.randn(2, 3, 8, 8)
    base = netcost.analyze(m, x, device="h100-sxm", train=True)
    r = netcost.analyze(m, x, device="h100-sxm", train=True, convention=convention)
    assert [a.cost for a in r.modules] == [b.cost for b in base.modules]
    assert r.total.cost == base.total.cost
    assert r.time.layers == base.time.layers and r.time.training_s == base.time.training_s
    assert r.training_compute.total == base.training_compute.total
    # shown: 2 per MAC only (torch) or = MACs, in the summary, JSON and the step's phases
    shown = r.total.macs * (2 if convention == "torch" else 1)
    assert r.total.flops == shown and r.total.cost.flops > 2 * r.total.macs
    assert r.to_dict()["total"]["flops"] == shown
    assert f"FLOPs: {shown:,}  ({convention} convention)" in r.table()
    step = r.to_dict()["training"]["total"]
    assert step["flops"] == step["macs"] * (2 if convention == "torch" else 1)


def test_a_comparison_shows_every_report_in_one_convention():
    """The first report's convention for every column: the second's FLOPs are re-counted."""
    m = model()
    a = netcost.analyze(m, input_size=(2, 3, 8, 8), convention="macs")
    b = netcost.analyze(m, input_size=(4, 3, 8, 8))  # netcost's convention, twice the batch
    flops = next(row for row in netcost.compare([a, b]).totals if row.measure.startswith("FLOPs"))
    assert flops.measure == "FLOPs (macs convention)"
    assert flops.values == (a.total.macs, 2 * a.total.macs)
