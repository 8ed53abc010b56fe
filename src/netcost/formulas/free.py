"""Ops that cost nothing, each with the reason why."""

from __future__ import annotations

from netcost.formulas._registry import free
from netcost.ops import aten, has


def _have(names: str) -> list[object]:
    return [getattr(aten, n) for n in names.split() if has(n)]


#: ops whose results are views of their first tensor argument: the same data, other metadata
VIEWS = (
    "view _unsafe_view _reshape_alias as_strided permute transpose t expand squeeze unsqueeze"
    " select slice split split_with_sizes unbind unsafe_split unsafe_split_with_sizes"
    " chunk narrow diagonal alias detach view_as_real view_as_complex unfold"
    " _unsafe_view_copy lift_fresh transpose_ t_ squeeze_ unsqueeze_ as_strided_ detach_"
    " _conj _neg_view"
)
VIEW_PACKETS = frozenset(f"aten.{name}" for name in VIEWS.split())

free(
    *_have(VIEWS),
    reason="changes metadata only (a view of the same storage), moves no data",
)
free(
    *_have("empty empty_like empty_strided new_empty new_empty_strided resize_ set_"),
    reason="allocates memory without writing it",
)
free(
    *_have("sym_size sym_stride sym_numel sym_storage_offset is_same_size"),
    reason="reads tensor metadata, not data",
)
free(
    *_have("_nnz sparse_dim dense_dim is_coalesced _dimI _dimV"),
    reason="reads a sparse tensor's metadata, not its data",
)
free(
    *_have("_indices _values indices values crow_indices col_indices ccol_indices row_indices"),
    reason="a view of a sparse tensor's stored indices or values, moves no data",
)
free(
    "prim.device",
    "prim.layout",
    "prim.dtype",
    reason="reads tensor metadata, not data",
)
free(
    "torchvision._cuda_version",
    reason="asks torchvision which CUDA it was built with (foreach optimizers on a fake device)",
)
