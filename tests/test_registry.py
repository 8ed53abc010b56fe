"""The one registry: no op twice, free ops carry reasons, failures are diagnostics."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import netcost
from netcost.formulas import formula, registered
from netcost.formulas._registry import free


def test_registering_an_op_twice_is_an_error():
    with pytest.raises(netcost.NetcostError, match=r"aten\.convolution is registered twice"):
        formula(torch.ops.aten.convolution)(lambda **_: netcost.Cost())


def test_free_ops_need_a_reason():
    with pytest.raises(netcost.NetcostError, match="needs a reason"):
        free("netcost_test.nothing", reason="")
    assert all(e.reason for e in registered().values() if e.is_free)


def test_every_formula_has_its_arithmetic_written_down():
    assert all(e.reason for e in registered().values())


def test_a_formula_that_fails_marks_the_op_uncounted():
    lib = torch.library.Library("netcost_broken", "FRAGMENT")
    lib.define("op(Tensor x) -> Tensor")
    lib.impl("op", lambda x: x.clone(), "CompositeExplicitAutograd")
    torch.library.register_fake("netcost_broken::op", lambda x: torch.empty_like(x), lib=lib)

    @formula("netcost_broken.op")
    def broken(x, *, out):
        """Divides by zero, to test the failure path."""
        return netcost.Cost(macs=1 // 0)

    class Uses(nn.Module):
        def forward(self, x):
            return torch.ops.netcost_broken.op(x) * 2

    r = netcost.analyze(Uses(), torch.randn(3))
    assert not r.complete
    (d,) = r.diagnostics
    assert d.op == "netcost_broken.op.default"
    assert d.message.startswith(
        "netcost_broken.op.default could not be costed (ZeroDivisionError: integer division or "
        "modulo by zero): 1 call in Uses not counted"
    )
    assert r.total.flops == 3  # the multiply is still counted
