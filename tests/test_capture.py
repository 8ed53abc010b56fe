"""Capture: any model, any mode, any inputs; the model is left exactly as it was."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import netcost
from netcost import NetcostError


def small_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(8 * 4 * 4, 5),
    )  # fmt: skip


def snapshot(model: nn.Module) -> dict:
    return {
        "state": {k: (v, v.clone()) for k, v in model.state_dict(keep_vars=True).items()},
        "training": [m.training for m in model.modules()],
        "hooks": [
            (len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks))
            for m in model.modules()
        ],
        "requires_grad": [p.requires_grad for p in model.parameters()],
    }


@pytest.mark.parametrize("train", [False, True])
def test_model_is_left_as_it_came(train):
    from torch.nn.modules import module as module_globals

    model = small_cnn().train(train)
    before = snapshot(model)
    netcost.analyze(model, torch.randn(2, 3, 8, 8))
    after = snapshot(model)
    for key, (tensor, values) in before["state"].items():
        now, _ = after["state"][key]
        assert now is tensor and torch.equal(now, values), key  # BN running stats untouched
    assert after["training"] == before["training"]
    assert after["hooks"] == before["hooks"]
    assert after["requires_grad"] == before["requires_grad"]
    assert not module_globals._global_forward_hooks
    assert not module_globals._global_forward_pre_hooks


def test_real_meta_and_fake_parameters_agree():
    real = small_cnn()
    with torch.device("meta"):
        meta = small_cnn()
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode():
        fake = small_cnn()
        x_fake = torch.empty(2, 3, 8, 8)
    reports = [
        netcost.analyze(real, torch.randn(2, 3, 8, 8)),
        netcost.analyze(meta, input_size=(2, 3, 8, 8)),
        netcost.analyze(fake, x_fake),
    ]
    dicts = [r.to_dict() for r in reports]
    assert dicts[0] == dicts[1] == dicts[2]


def test_grad_modes_give_the_same_cost():
    model, x = small_cnn().eval(), torch.randn(2, 3, 8, 8)
    plain = netcost.analyze(model, x).total
    with torch.no_grad():
        no_grad = netcost.analyze(model, x).total
    with torch.inference_mode():
        inference = netcost.analyze(model, x).total
    assert plain == no_grad == inference


def test_train_mode_counts_batch_statistics():
    x = torch.randn(2, 8, 4, 4)
    bn = nn.BatchNorm2d(8)
    train = netcost.analyze(bn.train(), x).total.flops
    evaluate = netcost.analyze(bn.eval(), x).total.flops
    # train adds statistics (4 per element) and two running-stat updates (4 each per channel);
    # the num_batches_tracked increment is one more add
    assert train - evaluate == 4 * 2 * 8 * 4 * 4 + 8 * 8 + 1


class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(4, 3)
        self.b = nn.Linear(6, 3)

    def forward(self, x, y, *, scale: float = 1.0):
        return {"sum": self.a(x) + self.b(y) * scale, "note": "not a tensor", "n": 3}


def test_tuple_dict_and_keyword_inputs_and_non_tensor_outputs():
    x, y = torch.randn(2, 4), torch.randn(2, 6)
    by_position = netcost.analyze(TwoInputs(), (x, y))
    by_name = netcost.analyze(TwoInputs(), {"x": x, "y": y, "scale": 2.0})
    assert [i.name for i in by_position.inputs] == ["x", "y"]
    assert by_position.total.macs == by_name.total.macs == 2 * 4 * 3 + 2 * 6 * 3
    assert by_position.modules[0].output_shapes == ((2, 3),)
    # two addmm (bias adds 2·3 each), the scale multiply and the sum: 2·3 each
    assert by_name.total.flops == by_position.total.flops == 2 * 60 + 4 * 2 * 3


def test_module_called_twice_is_costed_twice_and_counted_once():
    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(5, 5)

        def forward(self, x):
            return self.fc(torch.relu(self.fc(x)))

    r = netcost.analyze(Twice(), torch.randn(3, 5))
    calls = [m for m in r.layers if m.path == "fc"]
    assert [c.call_number for c in calls] == [0, 1]
    assert r.total.macs == 2 * 3 * 5 * 5
    assert r.total.params == 5 * 5 + 5


def test_tied_parameters_count_once():
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(100, 16)
            self.head = nn.Linear(16, 100, bias=False)
            self.head.weight = self.embed.weight

        def forward(self, ids):
            return self.head(self.embed(ids))

    r = netcost.analyze(Tied(), torch.zeros(2, 7, dtype=torch.long))
    assert r.total.params == 100 * 16
    assert r.total.macs == 2 * 7 * 16 * 100


class Masked(nn.Module):
    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.fc = nn.Linear(width, width)

    def forward(self, x):
        y = self.fc(x)
        return y[y > 0].sum()


def test_boolean_mask_is_costed_under_the_keep_all_scenario():
    r = netcost.analyze(Masked(), torch.randn(3, 4), execution="fake")
    assert r.execution == "fake"
    scenario = [d.message for d in r.diagnostics if d.kind == "scenario"]
    assert scenario[0].startswith("value-dependent ops costed under the keep-all scenario")
    assert scenario[1:] == ["Masked: aten.index.Tensor kept 12"]  # all 3 · 4 elements
    assert r.layer("fc").cost.macs == 3 * 4 * 4
    # the sum reads every kept element: 3 · 4 adds
    (total,) = [o for o in r.ops if o.op == "aten.sum.default"]
    assert total.cost.flops == 3 * 4


class DataDependent(nn.Module):
    """Reads a value into Python: fake tensors cannot."""

    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.fc = nn.Linear(width, width)

    def forward(self, x):
        y = self.fc(x)
        return y * float(y.mean())


def test_data_dependent_model_falls_back_to_real_execution():
    r = netcost.analyze(DataDependent(), torch.randn(3, 4))
    assert r.execution == "real"
    note, read = r.diagnostics
    assert note.kind == "execution"
    assert note.message == (
        "ran on real CPU tensors: DataDependent calls aten._local_scalar_dense.default, which "
        "fake tensors cannot run (DataDependentOutputException)"
    )
    assert read.message == (
        "DataDependent: read 1 tensor value into Python (real execution: sizes that follow "
        "depend on them)"
    )
    assert r.layer("fc").cost.macs == 3 * 4 * 4


def test_data_dependent_model_too_large_to_run_is_a_clear_error():
    from netcost.api import _arguments
    from netcost.capture import capture

    args, kwargs = _arguments(torch.randn(3, 4), None, torch.float32)
    with pytest.raises(
        NetcostError, match=r"^DataDependent: aten\._local_scalar_dense\.default .*limit$"
    ):
        capture(DataDependent(), args, kwargs, input_names=("x",), real_limit=10)
    with pytest.raises(NetcostError, match="cannot run on fake tensors"):
        netcost.analyze(DataDependent(), torch.randn(3, 4), execution="fake")


def test_wrong_input_shape_names_layer_op_and_shapes():
    model = nn.Sequential(nn.Conv2d(1, 64, 3), nn.Flatten(), nn.Linear(32, 10))
    with pytest.raises(NetcostError) as info:
        netcost.analyze(model, input_size=(2, 1, 3, 3))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("2 (Linear): aten.addmm.default(")
    assert "2x64" in message and "32x10" in message


def test_unknown_op_is_reported_never_silently_zero():
    lib = torch.library.Library("netcost_test", "FRAGMENT")
    lib.define("mystery(Tensor x) -> Tensor")
    lib.impl("mystery", lambda x: x * 2, "CompositeExplicitAutograd")
    torch.library.register_fake("netcost_test::mystery", lambda x: torch.empty_like(x), lib=lib)

    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return torch.ops.netcost_test.mystery(self.fc(x))

    r = netcost.analyze(Odd(), torch.randn(2, 4))
    assert not r.complete
    (d,) = [d for d in r.diagnostics if d.kind == "uncounted_op"]
    assert d.op == "netcost_test.mystery.default" and d.count == 1 and d.layers == ("Odd",)
    assert r.to_dict()["complete"] is False


def test_frozen_parameters_are_counted_apart():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.Linear(8 * 6 * 6, 5))
    model[0].requires_grad_(False)  # a frozen backbone
    r = netcost.analyze(model, input_size=(1, 3, 8, 8))
    frozen = 8 * 3 * 3 * 3 + 8
    assert r.total.params == frozen + 8 * 6 * 6 * 5 + 5
    assert r.total.params - r.total.trainable_params == frozen
    assert f"({frozen} frozen)" in r.explain("0")
    assert f"{r.total.trainable_params:,} trainable, {frozen:,} frozen" in r.table()


class ConvertsItself(nn.Module):
    """Converts its own layer inside forward, as Switch Transformers' router does."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.lin = self.lin.to(torch.float32)
        return self.lin(x.float())


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_forward_converting_its_own_layer_runs_and_is_undone(precision):
    model = ConvertsItself()
    lin, weight = model.lin, model.lin.weight
    before = model(torch.ones(2, 8))
    r = netcost.analyze(model, input_size=(2, 8), precision=precision)
    assert r.layer("lin").cost.macs == 2 * 8 * 4
    assert model.lin is lin and model.lin.weight is weight and weight.dtype == torch.float32
    assert torch.equal(model(torch.ones(2, 8)), before)


class ScalarList(nn.Module):
    """Builds a tensor from Python scalars it read from tensors (GLM-4V's rope deltas)."""

    def forward(self, ids: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        counts = [(row == 5).sum() for row in ids]
        return x * torch.tensor(counts).unsqueeze(1)


def test_tensor_of_scalars_read_from_known_values():
    ids = torch.tensor([[5, 5, 1], [5, 1, 1]])
    r = netcost.analyze(ScalarList(), {"ids": ids, "x": torch.ones(2, 3)}, execution="fake")
    assert r.complete and r.modules[0].output_shapes == ((2, 3),)


class LargeKnownMask(nn.Module):
    """Indexes with a known mask whose index list (2 dims × kept) is over the values limit."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        keep = torch.arange(x.shape[1]) % 4 != 0
        return x[keep.expand_as(x)]


def test_index_with_a_large_known_mask_has_its_exact_size():
    from netcost.capture.known import VALUE_LIMIT

    rows, cols = 4, VALUE_LIMIT // 4  # a mask at the limit, three quarters of it kept
    r = netcost.analyze(LargeKnownMask(), input_size=(rows, cols), execution="fake")
    assert r.modules[0].output_shapes == ((rows * cols * 3 // 4,),)
    (line,) = [d.message for d in r.diagnostics if d.kind == "scenario"]
    assert line == f"LargeKnownMask: aten.index.Tensor (values known) kept {rows * cols * 3 // 4:,}"


def test_balanced_argmax_second_choice_is_another_expert():
    from netcost.capture.known import balanced_argmax

    first = balanced_argmax((6, 4), -1, None)
    assert first.flatten().tolist() == [0, 1, 2, 3, 0, 1]  # row r picks r mod 4
    taken = nn.functional.one_hot(first.flatten(), 4).bool()
    second = balanced_argmax((6, 4), -1, taken).flatten()
    # row r picks the (r mod 3)-th of the three experts its first choice left: row 0 left
    # [1, 2, 3] → 1; row 1 [0, 2, 3] → 2; row 2 [0, 1, 3] → 3; row 3 [0, 1, 2] → 0; ...
    assert second.tolist() == [1, 2, 3, 0, 2, 3]
    # both choices together: every expert gets 6 · 2 / 4 = 3 tokens
    assert torch.bincount(torch.cat([first.flatten(), second]), minlength=4).tolist() == [3] * 4


class GathersKnownRows(nn.Module):
    """Indexes a known table with indices computed from unknown values (ViLT's patch choice)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        table = torch.arange(10).reshape(5, 2)
        picked = table[(x[:3, 0] * 5).long()]  # values unknown: nothing may claim to know them
        assert getattr(picked, "constant", None) is None
        assert getattr(table.new_empty(4), "constant", None) is None  # uninitialised memory
        return x[picked[:, 0]]


def test_results_of_unknown_indices_and_empty_memory_have_no_values():
    r = netcost.analyze(GathersKnownRows(), input_size=(10, 4), execution="fake")
    assert r.modules[0].output_shapes == ((3, 4),)


class CopiesAndIndexesByScalars(nn.Module):
    """Deep-copies a tensor it keeps (Dory's cache layers) and indexes with sequences of scalar
    tensors (UDOP's `rows, cols = zip(*indices)`)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import copy

        state = {"kept": x * 2}
        twin = copy.deepcopy(state)
        points = torch.stack([torch.arange(3), torch.arange(3)], dim=-1)
        rows, cols = zip(*points, strict=True)
        out = twin["kept"].clone()
        out[rows, cols] = 0.0
        return out


def test_deep_copies_and_scalar_sequence_indices_run_as_on_real_tensors():
    x = torch.ones(3, 3)
    real = CopiesAndIndexesByScalars()(x)
    assert real.diagonal().tolist() == [0.0, 0.0, 0.0]  # what the same index does for real
    from torch._subclasses.fake_tensor import FakeTensor

    before = (dict(vars(FakeTensor)), torch.tensor, nn.Module._apply)
    r = netcost.analyze(CopiesAndIndexesByScalars(), x, execution="fake")
    assert r.complete and r.modules[0].output_shapes == ((3, 3),)
    assert (dict(vars(FakeTensor)), torch.tensor, nn.Module._apply) == before  # patches undone


class NoisyLength(nn.Module):
    """Draws noise and reads it into Python to size its output (VITS's duration predictor)."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        repeats = int(torch.rand(()).item() * 100) + 1
        return self.lin(x.repeat(repeats, 1))


def test_noise_a_forward_reads_is_the_same_every_run_and_the_callers_rng_is_kept():
    model = NoisyLength()
    state = torch.random.get_rng_state()
    first = netcost.analyze(model, input_size=(1, 4))
    again = netcost.analyze(model, input_size=(1, 4))
    assert first.execution == "real" and first.total.macs == again.total.macs
    with torch.random.fork_rng():
        torch.manual_seed(0)  # netcost's stated seed: the rows it then saw
        rows = int(torch.rand(()).item() * 100) + 1
    assert first.layer("lin").output_shapes == ((rows, 4),)
    assert torch.equal(torch.random.get_rng_state(), state)


def test_legacy_uninitialised_parameters_of_a_meta_build_go_to_meta():
    from netcost.sources import _on_meta

    class Legacy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bias_u = nn.Parameter(torch.Tensor(4))  # allocated on the CPU even under meta
            self.lin = nn.Linear(4, 4)
            self.tied = self.bias_u

    model = _on_meta(Legacy)
    assert model.bias_u.device.type == "meta" and model.lin.weight.device.type == "meta"
    assert model.tied is model.bias_u  # one tensor under two names stays one


def test_a_large_factory_result_is_never_made_for_real():
    """torch.ones of 100,000 × 100,000 (40 GB as float32) inside a forward: its values are not
    wanted (more than 2²² elements), so it must be sized without being made."""
    from torch import nn

    import netcost

    class Big(nn.Module):
        def forward(self, x):  # type: ignore[no-untyped-def]
            return x + torch.ones(100_000, 100_000)

    report = netcost.analyze(Big(), input_size=(100_000, 100_000))
    assert report.total.cost.flops == 100_000 * 100_000  # one addition per element
    assert report.total.activation_bytes == 100_000 * 100_000 * 4  # the sum, in float32


def test_a_real_execution_that_runs_too_long_stops_with_one_line(monkeypatch):
    """Real CPU execution (the fallback, or execution="real") stops once it has run longer than
    Recorder.REAL_SECONDS, naming the op it reached, instead of running for hours."""
    from torch import nn

    import netcost
    from netcost.capture.recorder import Recorder

    monkeypatch.setattr(Recorder, "REAL_SECONDS", -1.0)
    with pytest.raises(
        netcost.NetcostError, match=r"real CPU execution stopped after -1 s, at aten"
    ):
        netcost.analyze(nn.Linear(4, 4), input_size=(2, 4), execution="real")


def test_a_float_input_marked_as_known_keeps_its_values():
    """A forward that tests its pixels (Idefics' padding images) needs their values: an input
    marked `with_known_values` keeps them on fake tensors, so the test is exact (one real image
    of ones: 3 · 4 · 4 values, none zero); unmarked, the selection runs under a stated
    scenario (every candidate kept), which the report names."""
    import torch
    from torch import nn

    import netcost
    from netcost.inputs import with_known_values

    class Pads(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            real = (x == 0.0).sum(dim=(-1, -2, -3)) != x[0].numel()
            return x[real] * 2

    known = with_known_values(torch.ones(1, 3, 4, 4))
    report = netcost.analyze(Pads(), known, execution="fake")
    assert report.modules[0].output_shapes == ((1, 3, 4, 4),)
    assert not any(d.kind == "scenario" for d in report.diagnostics)
    plain = netcost.analyze(Pads(), torch.ones(1, 3, 4, 4), execution="fake")
    assert any(d.kind == "scenario" for d in plain.diagnostics)


def test_real_execution_that_cannot_fit_is_refused_before_it_starts(monkeypatch):
    import netcost.measure.profile

    monkeypatch.setattr(netcost.measure.profile, "free_bytes", lambda device: 1000)
    with pytest.raises(NetcostError, match=r"real execution needs .* more than the 1000 B free"):
        netcost.analyze(nn.Linear(64, 64), torch.randn(2, 64), execution="real")


def test_inputs_nested_in_containers_are_named_by_their_path():
    class Nested(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(4, 2)

        def forward(self, batch: dict) -> torch.Tensor:
            return self.lin(batch["image"]) + batch["pair"][1]

    inputs = {"batch": {"image": torch.randn(3, 4), "pair": [torch.randn(1), torch.randn(3, 2)]}}
    report = netcost.analyze(Nested(), inputs)
    assert [(i.name, i.shape) for i in report.inputs] == [
        ("batch.image", (3, 4)), ("batch.pair[0]", (1,)), ("batch.pair[1]", (3, 2)),
    ]  # fmt: skip
    assert "Input: batch.image 3x4 float32, batch.pair[0] 1 float32" in report.table()


def test_a_wrong_input_dtype_is_refused_as_eager_pytorch_refuses_it():
    layer = nn.Linear(4, 2)
    with pytest.raises(RuntimeError):
        layer(torch.zeros(3, 4, dtype=torch.float64))  # what PyTorch itself says
    with pytest.raises(NetcostError) as info:
        netcost.analyze(layer, torch.zeros(3, 4, dtype=torch.float64))
    assert str(info.value) == (
        "Linear: aten.addmm.default(self=2, mat1=3x4, mat2=4x2) failed: mat1 and mat2 must have "
        "the same dtype, but got Double and Float"
    )


def test_an_error_a_parent_raises_after_its_child_returned_names_the_parent():
    class Parent(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.child = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.child(x)
            raise ValueError(f"the parent refuses {tuple(y.shape)}")

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block = Parent()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.block(x)

    with pytest.raises(NetcostError) as info:
        netcost.analyze(Model(), torch.randn(2, 4))
    assert str(info.value) == "block (Parent): ValueError: the parent refuses (2, 4)"
