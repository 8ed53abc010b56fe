"""Matrix products: mm, addmm, bmm, baddbmm, and what linear, matmul and einsum lower to."""

from __future__ import annotations

from math import prod
from typing import Any

from netcost.cost import Cost
from netcost.formulas._registry import formula, generic_moves
from netcost.formulas._shapes import numel
from netcost.ops import aten
from netcost.trace import TensorSpec


def _accumulate_into_input(macs: int, outputs: int, alpha: float, beta: float) -> Cost:
    """beta · input + alpha · product: one add per output element, one multiply more per output
    element for each of alpha and beta that is not 1; beta = 0 ignores the input (no add, no
    multiply: torch.sparse.mm's `_sparse_addmm` into zeros)."""
    if beta == 0:
        return Cost.mac_op(macs, extra_flops=(alpha != 1) * outputs)
    scaling = (alpha != 1) + (beta != 1)
    return Cost.mac_op(macs, extra_flops=(1 + scaling) * outputs)


def _input_moves(args: dict[str, Any], outputs: tuple[TensorSpec, ...]) -> tuple[int, int]:
    """The generic rule, less the input when beta = 0 (the kernel never reads it)."""
    read, written = generic_moves(args, outputs)
    if args.get("beta", 1) == 0 and isinstance(args.get("self"), TensorSpec):
        read -= args["self"].nbytes
    return read, written


def product_macs(a: TensorSpec, b: TensorSpec) -> int:
    """(M × K) @ (K × N): M · K · N MACs; with a sparse operand only its stored elements count:
    sparse A, nnz(A) · N (each stored a_ik meets row k of B); sparse B, M · nnz(B)."""
    m, k = a.shape
    n = b.shape[1]
    for t in (a, b):
        if t.sparse and t.nnz is None:
            raise ValueError(f"a {t.layout} operand whose stored elements are not known")
    if a.sparse and b.sparse:
        raise ValueError("a product of two sparse operands (its work depends on their patterns)")
    if a.sparse:
        return (a.nnz or 0) * n * complex_factor(a, b)
    if b.sparse:
        return m * (b.nnz or 0) * complex_factor(a, b)
    return m * k * n * complex_factor(a, b)


def complex_factor(*operands: TensorSpec) -> int:
    """Real MACs per complex one: (a + bi)(c + di) takes 4 real multiplies and their adds."""
    return 4 if any(t.dtype.startswith("complex") for t in operands) else 1


@formula(aten.mm, family="matmul")
def mm(self: TensorSpec, mat2: TensorSpec, *, out: TensorSpec, **_: object) -> Cost:
    """(M × K) @ (K × N): M · N dot products of length K, MACs = M · K · N (a sparse operand:
    see product_macs)."""
    return Cost.mac_op(product_macs(self, mat2))


@formula(aten.addmm, "aten._sparse_addmm", family="matmul", moves=_input_moves)
def addmm(
    self: TensorSpec,
    mat1: TensorSpec,
    mat2: TensorSpec,
    beta: float = 1,
    alpha: float = 1,
    *,
    out: TensorSpec,
    **_: object,
) -> Cost:
    """beta · bias + alpha · (M × K) @ (K × N): MACs = M · K · N (a sparse operand: see
    product_macs); one add per output element (M · N) for the bias, plus one multiply per output
    element for each of alpha, beta ≠ 1."""
    m, n = mat1.shape[0], mat2.shape[1]
    return _accumulate_into_input(product_macs(mat1, mat2), m * n, alpha, beta)


@formula("aten._sparse_mm", family="matmul")
def sparse_mm(sparse: TensorSpec, dense: TensorSpec, *, out: TensorSpec, **_: object) -> Cost:
    """torch.sparse.mm's sparse @ dense: see product_macs."""
    return Cost.mac_op(product_macs(sparse, dense))


@formula(aten.bmm, family="matmul")
def bmm(self: TensorSpec, mat2: TensorSpec, *, out: TensorSpec, **_: object) -> Cost:
    """B batched (M × K) @ (K × N): MACs = B · M · K · N (complex: 4 real MACs each)."""
    b, m, k = self.shape
    n = mat2.shape[2]
    return Cost.mac_op(b * m * k * n * complex_factor(self, mat2))


@formula(aten.baddbmm, family="matmul")
def baddbmm(
    self: TensorSpec,
    batch1: TensorSpec,
    batch2: TensorSpec,
    beta: float = 1,
    alpha: float = 1,
    *,
    out: TensorSpec,
    **_: object,
) -> Cost:
    """beta · input + alpha · bmm: MACs = B · M · K · N; adds and scalings as for addmm."""
    b, m, k = batch1.shape
    n = batch2.shape[2]
    macs = b * m * k * n * complex_factor(batch1, batch2)
    return _accumulate_into_input(macs, b * m * n, alpha, beta)


@formula(aten.addbmm, family="matmul")
def addbmm(
    self: TensorSpec,
    batch1: TensorSpec,
    batch2: TensorSpec,
    beta: float = 1,
    alpha: float = 1,
    *,
    out: TensorSpec,
    **_: object,
) -> Cost:
    """input + sum over b of batch1[b] @ batch2[b]: MACs = B · M · K · N (the sum over b
    accumulates into the same M · N outputs); one add per output element for the input."""
    b, m, k = batch1.shape
    n = batch2.shape[2]
    return _accumulate_into_input(b * m * k * n, m * n, alpha, beta)


@formula(aten.mv, family="matmul")
def mv(self: TensorSpec, vec: TensorSpec, *, out: TensorSpec, **_: object) -> Cost:
    """(M × K) @ (K): MACs = M · K."""
    return Cost.mac_op(numel(self))


@formula(aten.addmv, family="matmul")
def addmv(
    self: TensorSpec, mat: TensorSpec, vec: TensorSpec, *, out: TensorSpec, **_: object
) -> Cost:
    """bias + (M × K) @ (K): MACs = M · K, plus M adds."""
    return Cost.mac_op(numel(mat), extra_flops=mat.shape[0])


@formula(aten.dot, family="matmul")
def dot(self: TensorSpec, tensor: TensorSpec, *, out: TensorSpec, **_: object) -> Cost:
    """Dot product of two K-vectors: K MACs (complex: 4 real MACs each)."""
    return Cost.mac_op(numel(self) * complex_factor(self, tensor))


@formula(aten.vdot, family="matmul")
def vdot(self: TensorSpec, other: TensorSpec, *, out: TensorSpec, **_: object) -> Cost:
    """conj(x) · y of two K-vectors: K MACs (complex: 4 real MACs each; the conjugate is a sign)."""
    return Cost.mac_op(numel(self) * complex_factor(self, other))


@formula(aten.outer, aten.ger, family="matmul")
def outer(self: TensorSpec, vec2: TensorSpec, *, out: TensorSpec, **_: object) -> Cost:
    """Outer product (M) ⊗ (N): M · N multiplies, no accumulation."""
    return Cost.elementwise(numel(out))


@formula(aten._int_mm, family="matmul")
def int_mm(self: TensorSpec, mat2: TensorSpec, *, out: TensorSpec, **_: object) -> Cost:
    """int8 (M × K) @ (K × N) into int32: MACs = M · K · N."""
    return Cost.mac_op(prod(self.shape) * mat2.shape[1])


def _grouped_moves(args: dict[str, Any], outputs: tuple[TensorSpec, ...]) -> tuple[int, int]:
    """Tokens (M × K) against G experts' weights (G × K × N): a group that gets no row reads no
    weights, and under the balanced routing netcost assumes min(G, M) groups get rows, so the
    weights read are min(G, M) · K · N (a decode step of one token top-2: 2 of G experts).
    Other layouts read every argument once."""
    tokens, weights = args["self"], args["mat2"]
    if len(tokens.shape) != 2 or len(weights.shape) != 3:
        return generic_moves(args, outputs)
    groups = weights.shape[0]
    used = min(groups, tokens.shape[0])
    read = tokens.nbytes + weights.nbytes // groups * used
    for name in ("offs", "bias"):
        extra = args.get(name)
        if isinstance(extra, TensorSpec):
            read += extra.nbytes if name == "offs" else extra.nbytes // groups * used
    return read, sum(t.nbytes for t in outputs)


@formula(aten._grouped_mm, moves=_grouped_moves, family="matmul")
def grouped_mm(
    self: TensorSpec, mat2: TensorSpec, *, out: TensorSpec, bias: Any = None, **_: object
) -> Cost:
    """Σ_g m_g·k·n over the groups = M·K·N, whatever the offsets (the routing) are: each row of
    the token matrix meets exactly one group's weights. 2-D × 2-D splits K: M·K·N as well.
    Bias: +1 FLOP per output element."""
    if len(self.shape) == 2 and len(mat2.shape) == 2:
        macs = self.shape[0] * self.shape[1] * mat2.shape[1]
    else:
        macs = numel(out) * self.shape[-1]
    return Cost.mac_op(macs, extra_flops=numel(out) if bias is not None else 0)


@formula(aten.linalg_solve_triangular, family="matmul")
def solve_triangular(
    self: TensorSpec, B: TensorSpec, *, out: TensorSpec, unitriangular: bool = False, **_: Any
) -> Cost:
    """Substitution with an n×n triangular A for each of the k right-hand sides (batched):
    row i subtracts i known terms, n·(n − 1)/2 MACs, then divides by the diagonal (n FLOPs;
    none when unitriangular)."""
    n = self.shape[-1]
    systems = numel(out) // n  # batch · k, whichever side B is on
    return Cost.mac_op(systems * n * (n - 1) // 2, extra_flops=0 if unitriangular else numel(out))


@formula(aten._euclidean_dist, family="matmul")
def euclidean_dist(x1: TensorSpec, x2: TensorSpec, *, out: TensorSpec, **_: object) -> Cost:
    """PyTorch's distance trick: [−2·x1, ‖x1‖², 1] · [x2, 1, ‖x2‖²]ᵀ, (d + 2) MACs per pair of
    rows; the squared norms 2·d per row of each side, the −2 scaling 1 per element of x1, then
    clamp and square root 2 per distance."""
    d = x1.shape[-1]
    rows1, rows2 = numel(x1) // d, numel(x2) // d
    pairs = numel(out)
    extra = 2 * d * (rows1 + rows2) + numel(x1) + 2 * pairs
    return Cost.mac_op(pairs * (d + 2), extra_flops=extra)


@formula(aten._cdist_forward, family="matmul")
def cdist(x1: TensorSpec, x2: TensorSpec, p: float, *, out: TensorSpec, **_: object) -> Cost:
    """Distances between every row of x1 and every row of x2, computed directly (PyTorch takes
    this path for few rows; for many, p = 2 goes through _euclidean_dist's product instead), d
    features a row. p = 2: the squared differences accumulated, d MACs a pair, after d
    subtractions, then one square root. p = 1 or ∞: d subtractions, d absolute values, d adds
    (or maxima); p = 0: d comparisons and d adds; any other p: d subtractions, absolute values,
    powers and adds, then one root."""
    d, pairs = x1.shape[-1], numel(out)
    if p == 2:
        return Cost.mac_op(pairs * d, extra_flops=pairs * (d + 1))
    per_pair = {1.0: 3 * d, float("inf"): 3 * d, 0.0: 2 * d}.get(float(p), 4 * d + 1)
    return Cost.elementwise(pairs, per_pair)


@formula(aten._linalg_slogdet, family="matmul")
def slogdet(A: TensorSpec, *, out: Any, **_: object) -> Cost:
    """LU factorisation of each n×n matrix, then the sign and log|det| from the diagonal.
    Elimination step k updates the (n − k)² trailing entries with one MAC each:
    Σ_{k=1}^{n−1} (n − k)² = (n − 1)·n·(2n − 1)/6 MACs, after n·(n − 1)/2 divisions for the
    multipliers; the diagonal's n absolute values, logarithms and adds: 3n. Partial pivoting's
    comparisons and row swaps are not counted."""
    n = A.shape[-1]
    batch = numel(A) // (n * n) if n else 0
    macs = batch * (n - 1) * n * (2 * n - 1) // 6
    return Cost.mac_op(macs, extra_flops=batch * (n * (n - 1) // 2 + 3 * n))
