"""The user's model after analysis: every attribute as it was, real forwards unchanged."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import netcost


class Helper:
    """A plain object a model keeps, written to by the forward (RAFT's CorrBlock does this)."""

    def __init__(self) -> None:
        self.pyramid: list[torch.Tensor] = [torch.zeros(1)]
        self.calls = 0


class Caching(nn.Module):
    """Caches in forward, aliases a parameter, keeps lists and dicts of tensors."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(4, 4)
        self.b = nn.Linear(4, 4)
        self.b.weight = self.a.weight  # one Parameter under two names
        self.cache: dict[str, torch.Tensor] = {}
        self.history: list[torch.Tensor] = []
        self.last: torch.Tensor | None = None
        self.helper = Helper()
        self.count = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if "bias" not in self.cache:
            self.cache["bias"] = torch.ones(4) * 0.5
        y = self.b(self.a(x)) + self.cache["bias"]
        self.history.append(y)
        self.last = y
        self.helper.pyramid = [y, y * 2]
        self.helper.calls += 1
        self.count += 1
        self.extra = y.sum()  # an attribute the forward creates
        return y


def _photo(model: nn.Module) -> dict:
    return {
        "params": [(n, p, p.detach().clone()) for n, p in model.named_parameters()],
        "cache": dict(model.cache),
        "history": list(model.history),
        "helper": (model.helper.pyramid, list(model.helper.pyramid), model.helper.calls),
        "count": model.count,
        "last": model.last,
        "extra": hasattr(model, "extra"),
    }


@pytest.mark.parametrize("train", [False, True])
@pytest.mark.parametrize("execution", ["fake", "real"])
def test_caching_model_is_left_exactly_as_it_was(train, execution):
    model = Caching()
    cache, history = model.cache, model.history
    before = _photo(model)
    x = torch.randn(2, 4)
    netcost.analyze(model, x, execution=execution, train=train)
    after = _photo(model)
    assert model.cache is cache and model.history is history  # the same objects, put back
    assert after["cache"] == before["cache"] == {}
    assert after["history"] == before["history"] == []
    assert after["helper"][0] is before["helper"][0]
    assert after["helper"][1:] == before["helper"][1:]
    assert (after["count"], after["last"], after["extra"]) == (0, None, False)
    for (n1, p1, v1), (n2, p2, v2) in zip(before["params"], after["params"], strict=True):
        assert (n1, p1) == (n2, p2) and p1 is p2 and torch.equal(v1, v2)
    assert model.b.weight is model.a.weight
    # a real forward now gives real tensors, as on a fresh copy
    fresh = copy.deepcopy(model)
    out = model(x)
    assert type(out) is torch.Tensor and type(model.cache["bias"]) is torch.Tensor
    assert torch.equal(out, fresh(x))


def test_rng_state_is_restored():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    x = torch.randn(3, 4)
    state = torch.random.get_rng_state()
    netcost.analyze(model.train(), x, execution="real", train=True)
    assert torch.equal(torch.random.get_rng_state(), state)


ZOO_OFFENDERS = [
    "levit_128s",  # attention_bias_cache filled with fake tensors
    "coat_lite_tiny",  # a Parameter under two names
    "tiny_vit_5m_224",
    "efficientformer_l1",
    "efficientvit_m0",
]


@pytest.mark.parametrize("name", ZOO_OFFENDERS)
def test_timm_models_that_cache_in_forward_are_untouched(name):
    timm = pytest.importorskip("timm")
    model = timm.create_model(name, pretrained=False).eval()
    reference = copy.deepcopy(model)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        netcost.analyze(model, x)
        out = model(x)
        expected = reference(x)
    assert type(out) is torch.Tensor
    assert torch.equal(out, expected)
    state, ref_state = model.state_dict(keep_vars=True), reference.state_dict()
    assert state.keys() == ref_state.keys()
    for key, value in state.items():
        assert type(value) in (torch.Tensor, nn.Parameter) and torch.equal(value, ref_state[key])
    copy.deepcopy(model)


def test_raft_is_untouched_and_copies():
    models = pytest.importorskip("torchvision.models")
    model = models.get_model("raft_small", weights=None).eval()
    pyramid = model.corr_block.corr_pyramid
    kinds = [type(t) for t in pyramid]
    images = (torch.randn(1, 3, 128, 128), torch.randn(1, 3, 128, 128))
    with torch.no_grad():
        netcost.analyze(model, images)
    assert model.corr_block.corr_pyramid is pyramid
    assert [type(t) for t in pyramid] == kinds
    copy.deepcopy(model)


class Counting(nn.Module):
    """Writes plain tensor attributes in place (not parameters, not buffers)."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 4)
        self.steps = torch.zeros(())
        self.total = torch.zeros(4)
        self.stack = [torch.ones(2)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.steps += 1
        self.total.add_(x.mean(0).detach())
        self.stack[0].mul_(3)
        return self.lin(x)


@pytest.mark.parametrize("execution", ["fake", "real"])
def test_in_place_writes_to_plain_tensor_attributes_are_undone(execution):
    model = Counting()
    steps, total, stack = model.steps, model.total, model.stack[0]
    netcost.analyze(model, torch.randn(2, 4), execution=execution, train=True)
    assert model.steps is steps and model.steps.item() == 0
    assert model.total is total and torch.equal(total, torch.zeros(4))
    assert model.stack[0] is stack and torch.equal(stack, torch.ones(2))


class Irreps(tuple):
    """A tuple subclass that refuses len() (e3nn's Irreps raise NotImplementedError)."""

    def __len__(self) -> int:
        raise NotImplementedError


def test_a_tuple_subclass_that_refuses_len_is_left_alone():
    model = nn.Linear(3, 3)
    model.irreps = Irreps((1, 2, 3))
    report = netcost.analyze(model, torch.randn(2, 3))
    assert report.total.macs == 2 * 3 * 3
    assert tuple.__iter__(model.irreps) is not None


def test_no_global_hook_state_is_left_and_compiled_submodules_raise_no_warning():
    import warnings

    import torch.nn.modules.module as module_globals

    def hook_state() -> tuple[int, ...]:
        return tuple(
            len(getattr(module_globals, name))
            for name in sorted(vars(module_globals))
            if name.startswith("_global_") and isinstance(getattr(module_globals, name), dict)
        )

    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
    model[0] = torch.compile(model[0])
    before = hook_state()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        netcost.analyze(model, torch.randn(2, 4))
        netcost.analyze(model, torch.randn(2, 4))
    assert hook_state() == before
    assert not [w for w in caught if "global hooks" in str(w.message)]
