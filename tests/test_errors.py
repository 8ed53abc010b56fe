"""Every error netcost raises is a NetcostError, and says whose it is: the request's (usage),
the model's, or something netcost cannot do here (unsupported)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import netcost
from netcost.cli import run


def test_the_request_is_a_usage_error():
    with pytest.raises(netcost.UsageError, match="unknown device 'h999'"):
        netcost.analyze(nn.Linear(2, 2), input_size=(1, 2), device="h999")
    with pytest.raises(netcost.UsageError, match="give inputs or input_size, not both"):
        netcost.analyze(nn.Linear(2, 2), torch.ones(1, 2), input_size=(1, 2))
    with pytest.raises(netcost.UsageError, match="unknown example 'simple_cn'"):
        run(["examples:simple_cn"])


def test_the_models_own_failure_is_a_model_error():
    """A layer that refuses its input's shape, and a model with nothing to train."""
    with pytest.raises(netcost.ModelError, match=r"Linear.*aten\.(addmm|mm|t|linear)"):
        netcost.analyze(nn.Linear(3, 2), input_size=(1, 4))
    with pytest.raises(netcost.ModelError, match="ReLU has no trainable parameters"):
        netcost.analyze(nn.ReLU(), input_size=(1, 2), train=True)


def test_what_cannot_be_done_here_is_unsupported():
    """Real execution of a 4 TiB input: refused before anything is allocated."""
    with pytest.raises(netcost.UnsupportedError, match=r"real execution needs 4\.00 TiB"):
        netcost.analyze(nn.Linear(2**20, 1), input_size=(2**20, 2**20), execution="real")


def test_every_kind_is_caught_as_a_netcost_error():
    kinds = (netcost.UsageError, netcost.ModelError, netcost.UnsupportedError)
    assert all(issubclass(kind, netcost.NetcostError) for kind in kinds)
    assert not any(issubclass(a, b) for a in kinds for b in kinds if a is not b)
