"""The largest batch that fits a memory budget, by analysis, checked by hand arithmetic."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import netcost
from netcost.cli import run
from netcost.planning import largest_batch, parse_size, peak_of


@pytest.mark.parametrize(
    ("text", "size"),
    [("16GiB", 16 * 2**30), ("512 MiB", 512 * 2**20), ("8GB", 8 * 10**9), ("1.5KiB", 1536)],
)
def test_sizes(text, size):
    assert parse_size(text) == size


def test_bad_size():
    with pytest.raises(netcost.NetcostError, match="cannot read memory size 'lots'"):
        parse_size("lots")


def test_largest_batch_by_hand():
    """Linear(256, 1024) then ReLU: at batch b the peak holds the weights, the input and two
    b x 1024 float buffers (the linear's output is alive while the ReLU writes its own)."""
    model = nn.Sequential(nn.Linear(256, 1024), nn.ReLU()).eval()
    params = (256 * 1024 + 1024) * 4

    def peak_at(b: int) -> int:
        with torch.no_grad():
            return peak_of(netcost.analyze(model, input_size=(b, 256)))

    per_sample = 256 * 4 + 2 * 1024 * 4
    budget = params + 100 * per_sample + per_sample // 2
    plan = largest_batch(peak_at, budget)
    assert plan.batch == 100
    assert plan.peak == params + 100 * per_sample <= budget < plan.next_peak
    assert largest_batch(peak_at, params).batch == 0  # not even one sample fits


def test_cli_memory_budget():
    text = run(["examples:simple_cnn", "--memory-budget", "100KiB"])
    # simple_cnn per sample: input 28·28 floats + two 4·14·14 float buffers; 6,722 float params
    per_sample = (28 * 28 + 2 * 4 * 14 * 14) * 4
    batch = (100 * 1024 - 6_722 * 4) // per_sample
    assert text.startswith(f"Largest batch for inference within 100.00 KiB: {batch} ")


def test_largest_batch_for_training_is_verified_at_it_and_the_next():
    model = nn.Sequential(nn.Linear(256, 1024), nn.ReLU(), nn.Linear(1024, 10))

    def analyze_at(b: int) -> netcost.Report:
        with torch.no_grad():
            return netcost.analyze(model, input_size=(b, 256), train=True, optimizer="adam")

    budget = 8 * 2**20
    plan = largest_batch(lambda b: peak_of(analyze_at(b), train=True), budget)
    assert plan.peak == analyze_at(plan.batch).training.peak_bytes <= budget
    assert plan.next_peak == analyze_at(plan.batch + 1).training.peak_bytes > budget
    # Adam's step alone holds five copies of the parameters (weights, two moments, gradients,
    # the sqrt of the second moment)
    params = (256 * 1024 + 1024 + 1024 * 10 + 10) * 4
    assert plan.peak >= 5 * params


def test_cli_memory_budget_for_training():
    text = run(["examples:simple_cnn", "--train", "--memory-budget", "1MiB"])
    assert text.startswith("Largest batch for a training step within 1.00 MiB: ")


class Stub:
    """A peak of the batch, `peak(b)`, counting the batches asked for."""

    def __init__(self, peak):  # type: ignore[no-untyped-def]
        self.peak, self.batches = peak, []

    def __call__(self, b: int) -> int:
        self.batches.append(b)
        return self.peak(b)


@pytest.mark.parametrize(
    "peak",
    [
        lambda b: 1000 + 10 * b,  # a line
        lambda b: 1000 + 10 * b + (5000 if b > 3 else 0),  # a workspace that appears at b = 4
        lambda b: 1000 + b * b,  # curving up
        lambda b: 1000 + 10 * b + 400 * (b.bit_length()),  # a staircase
    ],
)
def test_the_search_brackets_in_a_few_analyses_on_any_non_decreasing_peak(peak):
    """The answer is brute force's; the count is at most 2 · log2(batch) + 4."""
    import math

    for budget in (1_010, 5_000, 123_456, 10**7):
        stub = Stub(peak)
        plan = largest_batch(stub, budget)
        answer = next(b for b in range(10**7) if peak(b + 1) > budget)  # 0: none fits
        assert plan.batch == answer and plan.next_peak == peak(answer + 1)
        assert plan.analyses == len(set(stub.batches)) <= 2 * math.log2(answer + 1) + 4


def test_the_search_stops_at_its_limit_and_says_at_least():
    stub = Stub(lambda b: 100 + b)
    plan = largest_batch(stub, 10**12, limit=1 << 20)
    assert plan.batch == 1 << 20 and plan.next_peak is None and plan.at_limit
    text = run(["examples:simple_cnn", "--memory-budget", "1TiB"])
    assert text.startswith("Largest batch for inference within 1.00 TiB: at least 1,048,576 ")
    assert "(search limit;" in text
