"""The one registry: no op twice, free ops carry reasons, failures are diagnostics."""

from __future__ import annotations

import pytest
import torch
from tests.test_formulas_more import Fn
from torch import nn

import netcost
from netcost.formulas import formula, registered
from netcost.formulas._registry import free


def test_registering_an_op_twice_is_an_error():
    with pytest.raises(netcost.NetcostError, match=r"aten\.convolution is registered twice"):
        formula(torch.ops.aten.convolution, family="conv")(lambda **_: netcost.Cost())


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

    def broken(x, *, out):
        """Divides by zero, to test the failure path."""
        return netcost.Cost(macs=1 // 0)

    class Uses(nn.Module):
        def forward(self, x):
            return torch.ops.netcost_broken.op(x) * 2

    r = netcost.analyze(Uses(), torch.randn(3), formulas={"netcost_broken::op": broken})
    assert not r.complete
    (d,) = r.diagnostics
    assert d.op == "netcost_broken.op.default"
    assert d.message.startswith(
        "netcost_broken.op.default could not be costed (ZeroDivisionError: integer division or "
        "modulo by zero): 1 call in Uses not counted"
    )
    assert r.total.flops == 3  # the multiply is still counted


def test_formulas_given_to_one_analysis_count_a_custom_op_and_are_then_forgotten():
    """A torch.library op netcost has no formula for: uncounted, then costed by the caller's
    formula (2 FLOPs per element: 2 · 3 · 5 = 30), then uncounted again."""
    lib = torch.library.Library("netcost_local", "FRAGMENT")
    lib.define("scale(Tensor x) -> Tensor")
    lib.impl("scale", lambda x: x * 2 + 1, "CompositeExplicitAutograd")
    torch.library.register_fake("netcost_local::scale", lambda x: torch.empty_like(x), lib=lib)

    class Uses(nn.Module):
        def forward(self, x):
            return torch.ops.netcost_local.scale(x)

    def scale(x, *, out):
        """2 FLOPs per element: a multiply and an add."""
        return netcost.Cost(flops=2 * x.numel)

    before = netcost.analyze(Uses(), input_size=(3, 5))
    given = netcost.analyze(Uses(), input_size=(3, 5), formulas={"netcost_local::scale": scale})
    after = netcost.analyze(Uses(), input_size=(3, 5))
    assert not before.complete and not after.complete
    assert given.complete and given.total.flops == 2 * 3 * 5
    (op,) = given.ops
    assert (op.op, op.family) == ("netcost_local.scale.default", "custom")
    assert "netcost_local.scale" not in registered()
    with pytest.raises(netcost.NetcostError, match="must be a function"):
        netcost.analyze(Uses(), input_size=(3, 5), formulas={"netcost_local::scale": 2})


def test_modules_that_never_ran_are_listed():
    """fvcore's uncalled_modules: an auxiliary head and a whole unused block (named once, not
    its children)."""

    class Aux(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Linear(4, 4)
            self.unused = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
            self.aux = nn.Linear(4, 2)

        def forward(self, x):
            return self.body(x)

    r = netcost.analyze(Aux(), input_size=(2, 4))
    (d,) = r.diagnostics
    assert d.kind == "uncalled_module" and d.layers == ("unused", "aux")
    assert d.message == "2 modules never ran in this forward: unused, aux"
    assert r.complete and r.total.params == (4 * 4 + 4) * 2 + (4 * 2 + 2)  # all of them


def test_a_formulas_family_is_declared_with_it():
    """Not taken from the file it lives in: quantized max pooling reuses pool.py's formula and
    is declared a pool, so the geometry and explanations treat it as one."""
    entries = registered()
    assert entries["aten.quantized_max_pool2d"].family == "pool"
    assert entries["aten.convolution"].family == "conv"
    with pytest.raises(netcost.NetcostError, match="unknown formula family 'convs'"):
        formula("netcost_test.nothing", family="convs")


def test_an_op_this_torch_lacks_registers_by_name_and_never_fires():
    """netcost/ops.py: a formula for an op another torch version has imports here too."""
    from netcost.ops import aten

    missing = aten.netcost_no_such_op.default
    assert str(missing) == "aten.netcost_no_such_op.default"
    assert aten.convolution is torch.ops.aten.convolution
    from netcost.formulas import _registry

    formula(aten.netcost_no_such_op, family="pointwise")(lambda **_: netcost.Cost())
    try:
        assert "aten.netcost_no_such_op" in registered()
    finally:  # the registry is global: leave it as the other tests expect it
        del _registry._REGISTRY["aten.netcost_no_such_op"]
    assert "aten.netcost_no_such_op" not in registered()


def test_a_formula_needing_an_argument_an_overload_lacks_is_refused():
    refused = r"needs tensor, which aten\.vdot\.default does not"
    with pytest.raises(netcost.NetcostError, match=refused):
        formula(torch.ops.aten.vdot, family="matmul")(
            lambda self, tensor, *, out, **_: netcost.Cost()
        )
    assert "aten.vdot" in registered()  # the registry's own vdot is unchanged


def test_vdot_is_costed():
    x, y = torch.randn(7), torch.randn(7)
    report = netcost.analyze(Fn(torch.vdot), (x, y))
    assert report.complete and report.total.macs == 7


def test_library_authors_register_their_ops_formulas():
    from netcost.formulas import _registry

    library = torch.library.Library("netcost_test_lib", "DEF")
    library.define("scale(Tensor x, float k) -> Tensor")
    library.impl("scale", lambda x, k: x * k, "CompositeExplicitAutograd")
    library.impl("scale", lambda x, k: torch.empty_like(x), "Meta")

    @netcost.register_formula("netcost_test_lib::scale")
    def scale(x: netcost.TensorSpec, k: float, *, out: object, **_: object) -> netcost.Cost:
        """One multiply per element."""
        return netcost.Cost(flops=x.numel)

    try:
        report = netcost.analyze(Fn(lambda t: torch.ops.netcost_test_lib.scale(t, 2.0)),
                                 torch.randn(3, 5))  # fmt: skip
        assert report.complete and report.total.flops == 15
    finally:
        del _registry._REGISTRY["netcost_test_lib.scale"]


def test_formulas_read_the_plain_records_never_the_recorder():
    """Every formula module imports its records from netcost.trace (which imports nothing of
    netcost) and nothing from netcost.capture: a formula can be written and tested without the
    recorder."""
    import ast
    from pathlib import Path

    import netcost.formulas
    import netcost.trace

    def imported(path: Path) -> set[str]:
        tree = ast.parse(path.read_text())
        found = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        return found | {
            n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
        }

    formulas = Path(netcost.formulas.__file__).parent.glob("*.py")
    assert not {m for f in formulas for m in imported(f) if m.startswith("netcost.capture")}
    assert not {m for m in imported(Path(netcost.trace.__file__)) if m.startswith("netcost")}


def test_an_op_without_a_formula_is_costed_through_its_decomposition():
    """torch.dist has no formula; PyTorch decomposes it into a subtraction and a 2-norm: 20
    subtractions, then 20 squares, 20 adds and a square root (4 × 5 elements). The report is
    complete, costs what the decomposed expression written out costs, and says how it was
    costed; an op with neither a formula nor a decomposition stays "not counted"."""
    import torch
    from torch import nn

    import netcost

    class Dist(nn.Module):
        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return torch.dist(a, b)

    class Written(nn.Module):
        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return torch.norm(a - b, 2)

    class Eigen(nn.Module):
        def forward(self, a: torch.Tensor) -> torch.Tensor:
            return torch.linalg.eigvalsh(a)

    a, b = torch.randn(4, 5), torch.randn(4, 5)
    r = netcost.analyze(Dist(), (a, b))
    assert r.complete and r.total.flops == 20 + (2 * 20 + 1)
    assert r.total.cost == netcost.analyze(Written(), (a, b)).total.cost
    assert "aten.dist.default has no formula: costed as the ops of PyTorch's decomposition of it " \
        "(1 call)" in [d.message for d in r.diagnostics]  # fmt: skip
    e = netcost.analyze(Eigen(), torch.randn(4, 4))
    assert not e.complete
    assert any("_linalg_eigh.default has no formula" in d.message for d in e.diagnostics)
