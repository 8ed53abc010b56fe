"""Sparse × dense products are costed by their stored elements, never as dense (issue 21):
COO, CSR and CSC inputs, spmm, sparse.mm and addmm with a sparse operand, by hand."""

from __future__ import annotations

import pytest
import torch
from tests.test_formulas_more import Fn
from torch import nn

import netcost

NODES, EDGES, FEATURES = 2708, 10556, 16  # Cora's size: a citation graph's adjacency
F32, I64 = 4, 8


class Product(nn.Module):
    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how
        self.bias = nn.Parameter(torch.zeros(NODES, FEATURES))

    def forward(self, adj: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if self.how == "spmm":
            return torch.spmm(adj, x)
        if self.how == "sparse.mm":
            return torch.sparse.mm(adj, x)
        return torch.addmm(self.bias, adj, x)


def adjacency() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    pairs = torch.randint(0, NODES, (2, EDGES), generator=g)
    return torch.sparse_coo_tensor(pairs, torch.ones(EDGES), (NODES, NODES)).coalesce()


@pytest.mark.parametrize("how", ["spmm", "sparse.mm", "addmm"])
@pytest.mark.parametrize("layout", ["coo", "csr", "csc"])
def test_a_sparse_product_is_costed_by_its_stored_elements(how, layout):
    adj = adjacency()
    nnz = adj._nnz()  # the distinct edges among the 10,556 drawn
    assert nnz == torch.sparse.mm(adj, torch.eye(NODES)).count_nonzero()
    given = {"coo": adj, "csr": adj.to_sparse_csr(), "csc": adj.to_sparse_csc()}[layout]
    report = netcost.analyze(Product(how), (given, torch.randn(NODES, FEATURES)))
    assert report.complete
    products = [o for m in report.modules for o in m.ops if o.cost.macs]
    assert len(products) == 1
    # each stored a_ij meets row j of x: nnz · F multiply-adds, not N · N · F
    assert products[0].cost.macs == nnz * FEATURES
    # COO's values and its two int64 indices per stored element, then the dense input read
    read = nnz * (F32 + 2 * I64) + NODES * FEATURES * F32
    if how == "addmm":
        read += NODES * FEATURES * F32  # the bias
    assert products[0].cost.bytes_read == read
    (adj_info,) = [i for i in report.inputs if i.name == "adj"]
    assert adj_info.nnz == nnz and adj_info.layout.startswith("sparse_")
    notes = [d.message for d in report.diagnostics]
    assert any("stands in as sparse COO" in n for n in notes) == (layout != "coo")


def test_a_sparse_input_on_meta_is_costed_by_its_indices():
    pairs = torch.randint(0, NODES, (2, EDGES))
    adj = torch.sparse_coo_tensor(pairs, torch.ones(EDGES), (NODES, NODES), device="meta")
    report = netcost.analyze(Product("spmm"), (adj, torch.randn(NODES, FEATURES)))
    assert report.total.cost.macs == EDGES * FEATURES  # uncoalesced: every drawn pair stored
    assert "adj 2708x2708 float32 sparse_coo (10,556 stored)" in report.table()


def test_complex_products_count_real_macs():
    # (a + bi)(c + di): 4 real multiply-adds per complex one
    a, b = torch.randn(3, 5, dtype=torch.complex64), torch.randn(5, 7, dtype=torch.complex64)
    report = netcost.analyze(Fn(torch.mm), (a, b))
    assert report.total.macs == 4 * 3 * 5 * 7
    x, y = torch.randn(2, 3, 4, dtype=torch.complex64), torch.randn(2, 4, 6, dtype=torch.complex64)
    assert netcost.analyze(Fn(torch.bmm), (x, y)).total.macs == 4 * 2 * 3 * 4 * 6


def test_ops_without_arithmetic_or_with_a_little_are_counted():
    report = netcost.analyze(Fn(lambda x: x * torch.hann_window(x.shape[-1])), torch.randn(2, 8))
    assert report.complete
    (window,) = [o for o in report.ops if o.op == "aten.hann_window.default"]
    assert window.cost.flops == 8 * 4
    report = netcost.analyze(
        Fn(lambda x, y: x + float(torch.equal(x, y))), (torch.randn(3), torch.randn(3))
    )
    assert report.complete and [o.cost.flops for o in report.ops if "equal" in o.op] == [3]


def test_the_note_names_the_compressed_input():
    class DenseFirst(nn.Module):
        def forward(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
            return torch.spmm(adj, x)

    report = netcost.analyze(
        DenseFirst(), (torch.randn(NODES, FEATURES), adjacency().to_sparse_csr())
    )
    (note,) = [d.message for d in report.diagnostics if "stands in" in d.message]
    assert note.startswith(f"input adj (sparse_csr, {adjacency()._nnz():,} stored) stands in")
