"""The public API and the JSON contract are pinned: changing them must be deliberate."""

from __future__ import annotations

import json

import torch
from torch import nn

import netcost
from netcost.cli import run


def test_public_api_is_pinned():
    assert sorted(netcost.__all__) == sorted(
        [
            "BatchPlan",
            "Breakdown",
            "Comparison",
            "Cost",
            "Diagnostic",
            "Economics",
            "Explanation",
            "Generation",
            "Layer",
            "Memory",
            "ModelError",
            "NetcostError",
            "PerGpu",
            "PhasePeak",
            "Profile",
            "Report",
            "Scheduler",
            "Served",
            "ServingPlan",
            "Stage",
            "Timing",
            "Totals",
            "TrainingCompute",
            "TrainingMemory",
            "UnsupportedError",
            "UsageError",
            "__version__",
            "analyze",
            "compare",
            "generate",
            "largest_batch",
            "per_gpu",
            "profile",
            "register_formula",
            "serve",
            "TensorSpec",
        ]
    )


def test_every_result_a_notebook_meets_is_short_readable_and_html():
    """fastbook's simple_cnn at 64x1x28x28 (6,722 params, 3,750,912 MACs, as docs/examples.md
    derives them): a one-line repr, the CLI's text as str, and HTML, for every result type."""
    from netcost.cli import run
    from netcost.examples import simple_cnn

    report = netcost.analyze(simple_cnn(), input_size=(64, 1, 28, 28), train=True)
    assert repr(report) == (
        "<Report of Sequential at 64x1x28x28 float32: 6,722 params, 3,750,912 MACs, 10 layers, "
        "complete>"
    )
    breakdown = report.stages()
    assert isinstance(breakdown, netcost.Breakdown)
    assert repr(breakdown) == "<Breakdown of Sequential at depth 1: 6 stages, 3,750,912 MACs>"
    assert str(breakdown) == run(["examples:simple_cnn", "--stages"])
    memory, training = report.memory, report.training
    assert isinstance(memory, netcost.Memory) and isinstance(training, netcost.TrainingMemory)
    assert repr(memory).startswith("<Memory: inference peak ") and "\n" not in repr(memory)
    assert repr(training).startswith("<TrainingMemory (adamw, fp32): peak ")
    shown = run(["examples:simple_cnn", "--train"])
    assert str(memory) in shown and str(training) in shown
    comparison = netcost.compare([report, report], ["a", "b"])
    assert repr(comparison) == "<Comparison of a, b by macs>"
    for result in (breakdown, memory, training, comparison):
        assert result._repr_html_().startswith("<pre>") and len(repr(result)) < 120
    assert "<h3>A training step's memory</h3>" in report._repr_html_()
    assert "Training step (adamw, fp32): peak" in report.to_html()


def test_json_contract_keys():
    r = netcost.analyze(nn.Sequential(nn.Linear(4, 3), nn.ReLU()), input_size=(2, 4))
    d = r.to_dict()
    assert d["schema_version"] == 1
    assert {
        "schema_version",
        "model",
        "inputs",
        "total",
        "layers",
        "diagnostics",
        "complete",
    } <= set(d)
    assert {"params", "trainable_params", "macs", "flops"} <= set(d["total"])
    for layer in d["layers"]:
        assert {"path", "type", "output_shape", "params", "macs", "flops"} <= set(layer)
    assert [layer["path"] for layer in d["layers"]] == ["0", "1"]
    assert d["layers"][0]["output_shape"] == [2, 3]
    assert d["total"]["macs"] == 2 * 4 * 3
    assert isinstance(d["diagnostics"], list) and d["complete"] is True
    json.dumps(d)  # plain data only


def test_cli_json_is_the_same_contract():
    d = json.loads(run(["examples:simple_cnn", "--format", "json"]))
    from netcost.examples import simple_cnn

    model = simple_cnn().eval()
    with torch.no_grad():  # the command line analyses inference
        expected = netcost.analyze(model, torch.empty(64, 1, 28, 28, device="meta")).to_dict()
    assert d == expected


def test_json_memory_object():
    """Inference and training peaks, breakdowns and where they happen; per-GPU when asked."""
    d = json.loads(run(["examples:simple_cnn", "--format", "json", "--train", "--gpus", "2"]))
    memory = d["memory"]
    assert {"peak_bytes", "activation_peak_bytes", "peak_layer", "peak_op"} <= set(
        memory["inference"]
    )
    training = memory["training"]
    assert {
        "optimizer",
        "precision",
        "peak_bytes",
        "peak_phase",
        "peak_layer",
        "peak_op",
        "breakdown",
        "saved_activation_bytes",
        "phases",
        "notes",
    } <= set(training)
    assert (training["optimizer"], training["precision"]) == ("adamw", "fp32")
    assert [p["phase"] for p in training["phases"]] == ["forward", "backward", "optimizer step"]
    assert sum(training["breakdown"].values()) == training["peak_bytes"]
    assert training["peak_bytes"] == max(p["peak_bytes"] for p in training["phases"])
    assert set(training["breakdown"]) == {
        "parameters_bytes",
        "buffers_bytes",
        "inputs_bytes",
        "optimizer_state_bytes",
        "gradients_bytes",
        "activations_bytes",
        "weight_copies_bytes",
        "temporaries_bytes",
    }
    per_gpu = memory["per_gpu"]
    assert (per_gpu["gpus"], per_gpu["sharding"]) == (2, "ddp")
    assert sum(per_gpu["breakdown"].values()) == per_gpu["peak_bytes"]
