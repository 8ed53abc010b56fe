"""In-place partial writes cost what they touch: the updated elements, the new values and the
indices, never their destination's full size (a KV cache's token, not the cache)."""

from __future__ import annotations

import torch
from tests.test_formulas_more import op_cost

F32 = 4
I64 = 8


def test_index_copy_into_a_cache_moves_the_token_only():
    # a static cache (batch 1, 8 heads, 4096 positions, head 64) and one new position
    cache, new = torch.zeros(1, 8, 4096, 64), torch.randn(1, 8, 1, 64)
    pos = torch.tensor([7])
    cost = op_cost(
        lambda c, n, p: c.index_copy_(2, p, n), cache, new, pos, op="aten.index_copy_.default"
    )
    token = 1 * 8 * 1 * 64 * F32
    assert cost.bytes_read == token + 1 * I64
    assert cost.bytes_written == token


def test_copy_into_a_slice_writes_the_slice():
    cost = op_cost(
        lambda c, n: c[:, :, 5:6].copy_(n),
        torch.zeros(2, 4, 100, 16),
        torch.randn(2, 4, 1, 16),
        op="aten.copy_.default",
    )
    assert (cost.bytes_read, cost.bytes_written) == (2 * 4 * 16 * F32, 2 * 4 * 16 * F32)


def test_index_put_selects_the_indexed_rows():
    # x[idx] = v with 3 row indices into a (50, 10) tensor: 3 rows of 10 updated
    def put(x, i, v):
        x[i] = v
        return x

    cost = op_cost(
        put, torch.zeros(50, 10), torch.tensor([1, 4, 9]), torch.randn(3, 10),
        op="aten.index_put_.default",
    )  # fmt: skip
    assert cost.bytes_written == 3 * 10 * F32
    assert cost.bytes_read == 3 * I64 + 3 * 10 * F32


def test_accumulating_writes_read_what_they_update():
    x, index, src = torch.zeros(100, 6), torch.zeros(4, 6, dtype=torch.int64), torch.randn(4, 6)
    cost = op_cost(
        lambda a, i, s: a.scatter_add_(0, i, s), x, index, src, op="aten.scatter_add_.default"
    )
    updated = 4 * 6
    assert cost.bytes_written == updated * F32
    assert cost.bytes_read == 4 * 6 * I64 + updated * F32 + updated * F32
    assert cost.flops == updated  # one add each


def test_index_fill_and_fill_read_no_destination():
    x = torch.zeros(20, 30)
    cost = op_cost(
        lambda a, i: a.index_fill_(1, i, 0.0), x, torch.tensor([0, 2]),
        op="aten.index_fill_.int_Scalar",
    )  # fmt: skip
    assert (cost.bytes_read, cost.bytes_written) == (2 * I64, 2 * 20 * F32)
    cost = op_cost(lambda a: a[3:5].fill_(1.0), torch.zeros(20, 30), op="aten.fill_.Scalar")
    assert (cost.bytes_read, cost.bytes_written) == (0, 2 * 30 * F32)


def test_scatter_with_a_scalar_reads_only_its_indices():
    index = torch.zeros(2, 3, dtype=torch.int64)
    cost = op_cost(
        lambda a, i: a.scatter_(1, i, 1.0), torch.zeros(5, 9), index, op="aten.scatter_.value"
    )
    assert (cost.bytes_read, cost.bytes_written) == (2 * 3 * I64, 2 * 3 * F32)


def test_slice_scatter_is_out_of_place():
    # a new (10, 8) tensor: self outside rows 2..4 read, src read, all of it written
    cost = op_cost(
        lambda a, s: torch.slice_scatter(a, s, 0, 2, 5), torch.zeros(10, 8), torch.randn(3, 8),
        op="aten.slice_scatter.default",
    )  # fmt: skip
    assert cost.bytes_read == (10 - 3) * 8 * F32 + 3 * 8 * F32
    assert cost.bytes_written == 10 * 8 * F32
