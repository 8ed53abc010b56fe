"""A training step's memory: against glibc's allocator on real tensors, and by hand."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

import memory_probe as probe
import netcost
from memory_probe import TRAINING
from netcost.analysis.sharding import per_gpu
from netcost.errors import NetcostError

OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")


def above_resident(report: netcost.Report) -> int:
    """The step's peak minus parameters, buffers, inputs and optimizer state: what the probe
    measures above its baseline."""
    peak = report.training.peak
    resident = sum(peak.part(p) for p in ("parameters", "buffers", "inputs", "optimizer state"))
    return peak.peak_bytes - resident


def test_training_peaks_match_the_allocator_within_the_readmes_0_2_percent():
    """Every model of the suite under every optimizer, measured in one process (torch imported
    once), each step's peak above what stays resident within 0.2 %."""
    lines = iter(probe.run(list(TRAINING), OPTIMIZERS))
    misses = {}
    for name, (build, shape) in TRAINING.items():
        with torch.device("meta"):
            model = build()
        for optimizer in OPTIMIZERS:
            real = next(lines)
            report = netcost.analyze(model, input_size=shape, train=True, optimizer=optimizer)
            if abs(above_resident(report) - real) > 0.002 * real:
                misses[name, optimizer] = (above_resident(report), real)
    assert next(lines, None) is None and not misses


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))


PARAMS = (4 * 8 + 8 + 8 * 2 + 2) * 4  # 58 floats
STEPS = 4 * 4  # Adam's step counts: one fp32 scalar per parameter tensor


def test_adamw_step_by_hand():
    t = netcost.analyze(mlp(), input_size=(3, 4), train=True).training
    forward, backward, step = t.phases
    assert forward.part("parameters") == PARAMS
    assert forward.part("optimizer state") == 2 * PARAMS + STEPS  # exp_avg, exp_avg_sq
    assert forward.part("inputs") == 3 * 4 * 4
    # the first Linear's output and its ReLU's output, alive together
    assert (forward.part("activations"), forward.layer) == (2 * 3 * 8 * 4, "1")
    # forward ends with the ReLU's output (saved by ReLU and the second Linear), the logits and
    # the loss alive
    assert t.saved_bytes == 3 * 8 * 4 + 3 * 2 * 4 + 4
    # backward peaks in the ReLU's backward, after the second Linear's gradients exist
    assert (backward.layer, backward.op) == ("1", "aten.threshold_backward.default")
    assert backward.part("gradients") == (8 * 2 + 2) * 4
    # the step: every gradient, and foreach sqrt(exp_avg_sq) as large as the parameters
    assert (step.op, step.part("gradients"), step.part("temporaries")) == (
        "aten._foreach_sqrt.default",
        PARAMS,
        PARAMS,
    )
    # parameters, two moments, gradients, the sqrt: five times the parameters
    assert t.peak == step and t.peak_bytes == 5 * PARAMS + STEPS + 3 * 4 * 4


def test_sgd_has_no_state_and_momentum_one_buffer_per_parameter():
    sgd = netcost.analyze(mlp(), input_size=(3, 4), train=True, optimizer="sgd").training
    momentum = netcost.analyze(mlp(), input_size=(3, 4), train=True, optimizer="momentum")
    assert sgd.phases[0].part("optimizer state") == 0
    assert momentum.training.phases[0].part("optimizer state") == PARAMS


def test_precisions_by_hand():
    mixed = netcost.analyze(mlp(), input_size=(3, 4), train=True, precision="bf16-mixed")
    forward = mixed.training.phases[0]
    assert forward.part("parameters") == PARAMS  # fp32 master weights
    assert forward.part("weight copies") == PARAMS // 2  # autocast's bf16 casts, cached
    pure = netcost.analyze(mlp(), input_size=(3, 4), train=True, precision="bf16").training
    assert pure.phases[0].part("parameters") == PARAMS // 2
    assert pure.phases[0].part("optimizer state") == PARAMS + STEPS  # bf16 moments, fp32 steps
    assert pure.phases[0].part("inputs") == 3 * 4 * 2


class Checkpointed(nn.Module):
    def __init__(self, use_checkpoint: bool) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU())
        self.head = nn.Linear(16, 1)
        self.use_checkpoint = use_checkpoint

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = checkpoint(self.body, x, use_reentrant=False) if self.use_checkpoint else self.body(x)
        return self.head(h)


def test_activation_checkpointing_is_honoured():
    act = 10 * 16 * 4
    plain = netcost.analyze(Checkpointed(False), input_size=(10, 16), train=True).training
    ckpt = netcost.analyze(Checkpointed(True), input_size=(10, 16), train=True).training
    # both ReLU outputs saved, logits, loss
    assert plain.saved_bytes == 2 * act + 10 * 4 + 4
    # only the checkpointed block's output is kept (its input is the resident input)
    assert ckpt.saved_bytes == act + 10 * 4 + 4
    # backward recomputes the block: its peak is higher than without checkpointing
    assert ckpt.phases[1].peak_bytes > plain.phases[1].peak_bytes


def test_the_model_is_left_as_it_was():
    model = mlp().eval()
    before = [p.detach().clone() for p in model.parameters()]
    netcost.analyze(model, input_size=(3, 4), train=True)
    assert not model.training and all(not m.training for m in model.modules())
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert not model._forward_hooks and not model._forward_pre_hooks


def test_bad_choices_and_frozen_models_are_one_line_errors():
    with pytest.raises(NetcostError, match="unknown optimizer 'lion'; choose one of: sgd"):
        netcost.analyze(mlp(), input_size=(3, 4), train=True, optimizer="lion")
    with pytest.raises(NetcostError, match="unknown precision 'fp8'"):
        netcost.analyze(mlp(), input_size=(3, 4), train=True, precision="fp8")
    frozen = mlp().requires_grad_(False)
    with pytest.raises(NetcostError, match="Sequential has no trainable parameters"):
        netcost.analyze(frozen, input_size=(3, 4), train=True)


def test_a_failing_backward_names_the_phase():
    class Bad(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x).detach()

    with pytest.raises(NetcostError, match="outputs do not require grad"):
        netcost.analyze(Bad(), input_size=(2, 4), train=True)


def ceil_div(a: int, n: int) -> int:
    return -(-a // n)


def test_per_gpu_arithmetic():
    """ZeRO (Rajbhandari et al., 2020): stage 1 shards optimizer state, 2 gradients too, 3
    parameters too; the per-GPU peak is the largest phase after sharding."""
    report = netcost.analyze(mlp(), input_size=(3, 4), train=True)
    forward, backward, step = ({**dict(p.breakdown)} for p in report.training.phases)
    n, state = 4, 2 * PARAMS + STEPS
    assert (forward["optimizer state"], step["gradients"], step["temporaries"]) == (
        state,
        PARAMS,
        PARAMS,
    )

    def total(parts: dict[str, int], **scaled: int) -> int:
        return sum({**parts, **scaled}.values())

    ddp = per_gpu(report, n, "ddp")
    assert ddp.peak_bytes == total(step) + PARAMS  # + DDP's gradient buckets
    zero1 = per_gpu(report, n, "zero1")
    assert zero1.peak_bytes == max(
        total(forward, **{"optimizer state": ceil_div(state, n)}),
        total(backward, **{"optimizer state": ceil_div(state, n)}),
        total(step, **{"optimizer state": ceil_div(state, n), "temporaries": PARAMS // n}),
    )
    zero2 = per_gpu(report, n, "zero2")
    grads = backward["gradients"]
    assert zero2.peak_bytes == max(
        total(forward, **{"optimizer state": ceil_div(state, n)}),
        total(backward, **{"optimizer state": ceil_div(state, n), "gradients": grads // n}),
        total(
            step,
            **{"optimizer state": ceil_div(state, n), "temporaries": PARAMS // n},
            gradients=PARAMS // n,
        ),
    )
    zero3 = per_gpu(report, n, "zero3")
    largest_layer = (4 * 8 + 8) * 4  # the one FSDP unit gathered at a time (lower bound)
    assert dict(zero3.breakdown)["parameters"] == PARAMS // n + largest_layer
    with pytest.raises(NetcostError, match="needs a training step"):
        per_gpu(netcost.analyze(mlp(), input_size=(3, 4)), 2, "ddp")


def test_nin_against_the_rule_of_thumb():
    """docs/examples.md: 2 x activations + 3 x parameters overestimates NiN's step threefold."""
    from netcost.examples import nin

    report = netcost.analyze(nin(), input_size=(128, 1, 224, 224), train=True)
    per_sample = (
        6 * 96 * 54 * 54 + 96 * 26 * 26  # block 1: three convs, three ReLUs; max-pool
        + 6 * 256 * 26 * 26 + 256 * 12 * 12
        + 6 * 384 * 12 * 12 + 384 * 5 * 5
        + 384 * 5 * 5  # dropout
        + 6 * 10 * 5 * 5 + 10 + 10  # last block, global pool, flatten
    )  # fmt: skip
    activations = sum(layer.activation_bytes for layer in report.layers)
    assert activations == 128 * per_sample * 4 == 1_624_170_496
    assert report.total.activation_bytes == activations  # the table's "Activations written"
    assert report.total.param_bytes == 1_992_166 * 4
    rule = 2 * activations + 3 * report.total.param_bytes
    assert 3 * report.training.peak_bytes < rule


def test_the_for_loop_optimizers_peak_matches_the_allocator():
    """PyTorch's CPU default steps one parameter at a time: its temporaries are one
    parameter's, not all of them at once."""
    chosen = ("adamw",)
    build, shape = TRAINING["mlp"]
    with torch.device("meta"):
        model = build()
    measured = probe.run(["mlp"], [f"{o}:forloop" for o in chosen])
    for optimizer, real in zip(chosen, measured, strict=True):
        report = netcost.analyze(
            model, input_size=shape, train=True, optimizer=optimizer, optimizer_impl="forloop"
        )
        assert abs(above_resident(report) - real) <= 0.002 * real, (optimizer, real)
        assert report.training.optimizer == f"{optimizer}, forloop"


def test_local_on_a_cpu_defaults_to_the_for_loop_step():
    from netcost.api import default_optimizer_impl

    assert default_optimizer_impl("h100-sxm") == "foreach"
    assert default_optimizer_impl("local") == (
        "foreach" if torch.cuda.is_available() else "forloop"
    )
