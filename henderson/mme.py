"""Henderson's mixed model equations, pattern built once, values per theta.

    C(theta) = W'R^-1 W + blockdiag(0, G^-1),   rhs(theta) = W'R^-1 y_c,   W = [X Z],  R = sigma2 I

(or a structured, block-diagonal R, henderson.residual: W'R^-1 W is then summed from each group's local
block of W, found once with its positions on C's pattern, which holds the fill-in of W'BW for B the
pattern of R).

with G^-1 = blockdiag_k(Sigma_k^-1 (x) K_k^-1). The sparsity pattern of C (both
triangles, explicit zeros kept) depends only on the design, so it is built once;
``values(theta)`` rewrites the numbers only, and the Cholesky factor's symbolic
analysis is reused for every theta.

The response is centred, y_c = y - c, when the constant vector is a combination X a = 1 of fixed
columns (an intercept, or the indicators of a factor without intercept). c is one of the data
values near their median, so y_i - c is exact for data far from zero (Sterbenz), and the MME are
solved for y_c: the solution for y is that one plus c [a; 0], because C [a; 0] = W'1 / sigma2.
Solving for y_c instead of y keeps the solution, the residuals and the REML criterion free of the
cancellation that a large mean (sleepstudy's reaction times + 1e9) would cause.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from .covariance import VarianceModel, VarianceParams
from .formula import Design
from .jitnotice import njit
from .residual.kernels import cross_values, local_blocks
from .sparse_union import union_with_positions


def _ones_like(M: sp.spmatrix) -> sp.csc_matrix:
    M = sp.csc_matrix(M, copy=True)
    M.data = np.ones_like(M.data)
    return M


def positions_in(C: sp.csc_matrix, M: sp.csc_matrix) -> np.ndarray:
    """Index into C.data of each stored entry of M, in M's (sorted CSC) order; M's pattern lies inside C's."""
    if M.nnz == C.nnz and np.array_equal(M.indptr, C.indptr) and np.array_equal(M.indices, C.indices):
        return np.arange(C.nnz)
    tags = sp.csc_matrix((np.arange(1, C.nnz + 1, dtype=np.float64), C.indices, C.indptr), shape=C.shape)
    hit = sp.csc_matrix(tags.multiply(_ones_like(M)))
    hit.sort_indices()
    if hit.nnz != M.nnz:
        raise AssertionError("pattern of M is not contained in the pattern of C")
    return hit.data.astype(np.int64) - 1


def _diagonal_positions(M: sp.csc_matrix) -> np.ndarray:
    """Index into M.data of each diagonal entry (-1 where the diagonal entry is not stored)."""
    cols = np.repeat(np.arange(M.shape[1]), np.diff(M.indptr))
    on = np.flatnonzero(M.indices == cols)
    out = np.full(M.shape[1], -1, dtype=np.int64)
    out[cols[on]] = on
    return out


def _kron_block(Kinv: sp.csc_matrix | None, m: int, a: int, b: int, size: int, offset: int) -> sp.csc_matrix:
    """K^-1 (or I) placed at block (a, b) of a term whose columns start at ``offset`` (CSC built directly:
    K^-1's columns shifted, no triplet copy of a large K^-1)."""
    K = sp.identity(m, format="csc") if Kinv is None else sp.csc_matrix(Kinv)
    K.sum_duplicates()   # sorted rows
    first = offset + b * m
    nnz = K.nnz
    itype = np.int32 if size < 2**31 and nnz < 2**31 else np.int64
    indptr = np.concatenate([np.zeros(first, dtype=itype), np.asarray(K.indptr, dtype=itype),
                             np.full(size - first - m, nnz, dtype=itype)])
    indices = np.asarray(K.indices, dtype=itype) + itype(offset + a * m)
    M = sp.csc_matrix((np.asarray(K.data, dtype=float), indices, indptr), shape=(size, size))
    M.has_sorted_indices = True
    return M


@njit(cache=True)
def _scatter_add(data, pos, values, scale):
    """data[pos] += scale * values in one compiled pass (no temporary: 10^8 entries in single-step)."""
    for i in range(pos.size):
        data[pos[i]] += scale * values[i]


def _read_only(values: np.ndarray) -> np.ndarray:
    """A read-only view (K^-1's values are shared with the relationship, not copied: 10^8 of them in
    single-step's dense block)."""
    v = values.view()
    v.flags.writeable = False
    return v


@dataclass(frozen=True)
class GSlot:
    """Where (Sigma_k^-1)[a, b] * K_k^-1 lands in C.data."""

    term: int
    a: int
    b: int
    pos: np.ndarray
    kvals: np.ndarray


@dataclass(frozen=True)
class MMEPattern:
    """The design's fixed contribution to the MME and where G^-1 goes (immutable)."""

    vm: VarianceModel
    W: sp.csc_matrix
    p: int
    term_offsets: tuple[int, ...]
    pattern: sp.csc_matrix = field(repr=False)
    wtw: np.ndarray = field(repr=False)
    wty: np.ndarray = field(repr=False)   # W'y_c
    y: np.ndarray = field(repr=False)     # the response as given
    yc: np.ndarray = field(repr=False)    # y - centre (y itself when not centred)
    centre: float                         # c; 0.0 when 1 is not in the column space of X
    ones: np.ndarray | None = field(repr=False)  # a with X a = 1 exactly, or None
    n: int
    slots: tuple[GSlot, ...] = field(repr=False)

    @property
    def size(self) -> int:
        return self.pattern.shape[0]

    def _ginv_data(self, sinv: list[np.ndarray], out: np.ndarray | None = None) -> np.ndarray:
        """blockdiag(0, G^-1) as values on the pattern of C, for Sigma_k^-1 = sinv[k], added into ``out``
        when given (one pass over C's entries less than adding two arrays)."""
        data = np.zeros(self.pattern.nnz) if out is None else out
        for s in self.slots:
            _scatter_add(data, s.pos, s.kvals, float(sinv[s.term][s.a, s.b]))
        return data

    def values(self, theta: np.ndarray) -> sp.csc_matrix:
        """C(theta) on the fixed pattern (same indptr/indices object every call)."""
        return self.coefficients(self.vm.at(theta))

    def coefficients(self, params: VarianceParams) -> sp.csc_matrix:
        """C = W'R^-1W + blockdiag(0, G^-1) at ``params`` on the fixed pattern."""
        if params.residual is not None:
            data = cross_values(self.residual_blocks, params.residual.inv_blocks, self.pattern.nnz)
        else:
            data = self.wtw * params.rinv_scale
        self._ginv_data(params.sinv, out=data)
        return sp.csc_matrix((data, self.pattern.indices, self.pattern.indptr), shape=self.pattern.shape)

    def penalty(self, params: VarianceParams, sol: np.ndarray) -> float:
        """u'G^-1 u for the random part u of the MME solution ``sol``."""
        Ginv = sp.csc_matrix((self._ginv_data(params.sinv), self.pattern.indices, self.pattern.indptr),
                             shape=self.pattern.shape)
        return float(sol @ (Ginv @ sol))

    @cached_property
    def residual_blocks(self) -> list:
        """A structured residual's groups as local blocks of W with their positions in C (residual.kernels)."""
        W = sp.csr_matrix(self.W)
        W.sort_indices()
        return [local_blocks(c.idx, W, self.pattern) for c in self.vm.residual.layout.classes]

    def rhs(self, params: VarianceParams) -> np.ndarray:
        """W'R^-1 y_c: the right-hand side for the centred response (see ``uncentre``)."""
        if params.residual is not None:
            return np.asarray(self.W.T @ params.residual.apply_rinv(self.yc)).ravel()
        return self.wty * params.rinv_scale

    def uncentre(self, sol_c: np.ndarray) -> np.ndarray:
        """The MME solution for y from the one for y_c: sol_c + c [a; 0]."""
        if self.ones is None:
            return sol_c
        sol = sol_c.copy()
        sol[:self.p] += self.centre * self.ones
        return sol

    def with_response(self, y: np.ndarray) -> MMEPattern:
        """The same MME for another response on the same rows: W, W'W, G^-1 slots and the pattern shared
        (residual_blocks, a cache of the structure, carried over); only y, its centre and W'y_c are new."""
        y = np.asarray(y, dtype=float)
        if y.shape != self.y.shape:
            raise ValueError(f"the new response has {y.size} values, the MME {self.y.size} rows")
        centre = 0.0 if self.ones is None else centre_value(y)
        yc = y - centre
        new = dataclasses.replace(self, y=y, yc=yc, centre=centre, wty=np.asarray(self.W.T @ yc).ravel())
        if "residual_blocks" in self.__dict__:
            new.__dict__["residual_blocks"] = self.__dict__["residual_blocks"]
        return new

    @property
    def q(self) -> int:
        """Number of random-effect columns."""
        return self.size - self.p

    def leading_blocks(self) -> np.ndarray | None:
        """Columns of C that may be eliminated first as a block diagonal: the levels of the largest
        random term when it has no relationship matrix and at least half as many columns as the rest
        together (and not all of C); (m, q) array (level i, effect a), or None.
        """
        if not self.vm.terms:
            return None
        sizes = [t.q * t.m for t in self.vm.terms]
        k = int(np.argmax(sizes))
        t = self.vm.terms[k]
        if t.Kinv is not None or 3 * sizes[k] < self.size or sizes[k] == self.size:
            return None
        return self.term_offsets[k] + np.arange(t.m)[:, None] + t.m * np.arange(t.q)[None, :]

    def term_slice(self, k: int) -> slice:
        """Columns of C (and entries of the solution) that belong to random term k."""
        t = self.vm.terms[k]
        return slice(self.term_offsets[k], self.term_offsets[k] + t.q * t.m)


def _row_entries(A: sp.csc_matrix):
    """(column, value) of the single entry in each row of A, or None when some row has 0 or 2+ entries."""
    if A.nnz != A.shape[0]:
        return None
    rows = A.indices
    if not np.all(np.bincount(rows, minlength=A.shape[0]) == 1):
        return None
    col = np.empty(A.shape[0], dtype=np.int64)
    val = np.empty(A.shape[0])
    col[rows] = np.repeat(np.arange(A.shape[1]), np.diff(A.indptr))
    val[rows] = A.data
    return col, val


def _cross(A: sp.csc_matrix, B: sp.csc_matrix) -> sp.csc_matrix:
    """A'B. When B has one entry per row (a random intercept) it is gathered directly:
    (A'B)[c, g_i] += A[i, c] b_i, a diagonal by bincount when A is B."""
    one = _row_entries(B)
    if one is None:
        return sp.csc_matrix(A.T @ B)
    g, b = one
    if A is B:
        return sp.diags(np.bincount(g, weights=b * b, minlength=B.shape[1]), format="csc")
    rows = A.indices
    cols = np.repeat(np.arange(A.shape[1]), np.diff(A.indptr))
    M = sp.csc_matrix((A.data * b[rows], (cols, g[rows])), shape=(A.shape[1], B.shape[1]))
    M.sum_duplicates()
    return M


def cross_product(blocks: list[sp.csc_matrix]) -> sp.csc_matrix:
    """W'W for W = [B_1 ... B_r], block by block (upper blocks computed, lower ones transposed)."""
    r = len(blocks)
    grid = [[None] * r for _ in range(r)]
    for i in range(r):
        for j in range(i, r):
            M = _cross(blocks[i], blocks[j])
            grid[i][j] = M
            if j != i:
                grid[j][i] = sp.csc_matrix(M.T)
    out = sp.bmat(grid, format="csc")
    out.sort_indices()
    return out


def constant_combination(X: sp.csc_matrix) -> np.ndarray | None:
    """a in {0, 1}^p with X a = 1 exactly: columns whose stored entries are all 1 and whose rows are
    disjoint and cover every row (an intercept; a factor's indicators without intercept), taken
    greedily in column order; None when there are none such."""
    X = sp.csc_matrix(X, copy=True)
    X.sum_duplicates()
    X.eliminate_zeros()
    n, p = X.shape
    covered = np.zeros(n, dtype=bool)
    a = np.zeros(p)
    for j in range(p):
        lo, hi = X.indptr[j], X.indptr[j + 1]
        rows = X.indices[lo:hi]
        if hi == lo or not np.all(X.data[lo:hi] == 1.0) or covered[rows].any():
            continue
        covered[rows] = True
        a[j] = 1.0
        if covered.all():
            return a
    return None


def centre_value(y: np.ndarray) -> float:
    """A data value at the median of y (the lower one for an even count)."""
    return float(np.partition(y, (len(y) - 1) // 2)[(len(y) - 1) // 2])


def build_pattern(design: Design, vm: VarianceModel) -> MMEPattern:
    """Assemble W = [X Z], W'W, W'y and the union pattern of W'W and G^-1, with explicit zeros."""
    parts = [design.X] + [t.Z for t in design.terms]
    W = sp.hstack(parts, format="csc")
    W.sort_indices()
    size = W.shape[1]
    WtW = cross_product([p for p in parts if p.shape[1] > 0])
    offsets, pos = [], design.p
    blocks = []
    for k, t in enumerate(vm.terms):
        offsets.append(pos)
        for a in range(t.q):
            for b in range(t.q):
                blocks.append((k, a, b, _kron_block(t.Kinv, t.m, a, b, size, pos)))
        pos += t.q * t.m
    WtW.sum_duplicates()
    mats = [WtW]
    if vm.residual.structured:   # W'R^-1 W fills in within the residual's groups: |W|'B|W|, no cancellation
        A = abs(W)
        mats.append(sp.csc_matrix(A.T @ vm.residual.layout.block_pattern() @ A))
    stored_diag = np.zeros(size, dtype=bool)
    stored_diag[_diagonal_positions(WtW) >= 0] = True
    merged = [i for i, (k, a, b, M) in enumerate(blocks)
              if not (vm.terms[k].Kinv is None and a == b and stored_diag[M.indices].all())]
    # (an identity block on a diagonal W'W already stores adds nothing to the pattern)
    union, found = union_with_positions(mats + [blocks[i][3] for i in merged])
    where = dict(zip(merged, found[len(mats):]))
    wtw = np.zeros(union.nnz)
    wtw[found[0]] = WtW.data
    slots = tuple(GSlot(k, a, b, where[i] if i in where else positions_in(union, M), _read_only(M.data))
                  for i, (k, a, b, M) in enumerate(blocks))
    ones = constant_combination(design.X) if design.p else None
    centre = 0.0 if ones is None else centre_value(design.y)
    yc = design.y - centre
    return MMEPattern(vm=vm, W=W, p=design.p, term_offsets=tuple(offsets), pattern=union, wtw=wtw,
                      wty=np.asarray(W.T @ yc).ravel(), y=design.y, yc=yc, centre=centre, ones=ones,
                      n=design.n, slots=slots)
