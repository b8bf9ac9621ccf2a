"""Henderson's mixed model equations, pattern built once, values per theta.

    C(theta) = W'W / sigma2 + blockdiag(0, G^-1),   rhs(theta) = W'y / sigma2,   W = [X Z]

with G^-1 = blockdiag_k(Sigma_k^-1 (x) K_k^-1). The sparsity pattern of C (both
triangles, explicit zeros kept) depends only on the design, so it is built once;
``values(theta)`` rewrites the numbers only, and the Cholesky factor's symbolic
analysis is reused for every theta.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .covariance import VarianceModel
from .formula import Design


def _ones_like(M: sp.spmatrix) -> sp.csc_matrix:
    M = sp.csc_matrix(M, copy=True)
    M.data = np.ones_like(M.data)
    return M


def _keys(M: sp.csc_matrix) -> np.ndarray:
    """Column-major linear index col * nrow + row of every stored entry of a CSC matrix."""
    cols = np.repeat(np.arange(M.shape[1], dtype=np.int64), np.diff(M.indptr))
    return cols * M.shape[0] + M.indices.astype(np.int64)


def positions_in(C: sp.csc_matrix, M: sp.csc_matrix) -> np.ndarray:
    """Index into C.data of each stored entry of M (M's pattern must lie inside C's)."""
    kc, km = _keys(C), _keys(M)
    pos = np.searchsorted(kc, km)
    if len(km) and (pos.max() >= len(kc) or not np.array_equal(kc[pos], km)):
        raise AssertionError("pattern of M is not contained in the pattern of C")
    return pos


def _kron_block(Kinv: sp.csc_matrix | None, m: int, a: int, b: int, size: int, offset: int) -> sp.csc_matrix:
    """K^-1 (or I) placed at block (a, b) of a term whose columns start at ``offset``."""
    K = sp.identity(m, format="coo") if Kinv is None else sp.coo_matrix(Kinv)
    rows = K.row + offset + a * m
    cols = K.col + offset + b * m
    M = sp.csc_matrix((K.data.astype(float), (rows, cols)), shape=(size, size))
    M.sort_indices()
    return M


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
    wty: np.ndarray = field(repr=False)
    yty: float
    y: np.ndarray = field(repr=False)
    n: int
    slots: tuple[GSlot, ...] = field(repr=False)

    @property
    def size(self) -> int:
        return self.pattern.shape[0]

    def values(self, theta: np.ndarray) -> sp.csc_matrix:
        """C(theta) on the fixed pattern (same indptr/indices object every call)."""
        sinv, s2 = self.vm.inverses(theta)
        data = self.wtw / s2
        for s in self.slots:
            data[s.pos] += sinv[s.term][s.a, s.b] * s.kvals
        return sp.csc_matrix((data, self.pattern.indices, self.pattern.indptr), shape=self.pattern.shape)

    def rhs(self, theta: np.ndarray) -> np.ndarray:
        """W'y / sigma2."""
        return self.wty / float(theta[-1])

    @property
    def q(self) -> int:
        """Number of random-effect columns."""
        return self.size - self.p

    def term_slice(self, k: int) -> slice:
        """Columns of C (and entries of the solution) that belong to random term k."""
        t = self.vm.terms[k]
        return slice(self.term_offsets[k], self.term_offsets[k] + t.q * t.m)


def build_pattern(design: Design, vm: VarianceModel) -> MMEPattern:
    """Assemble W = [X Z], W'W, W'y and the union pattern of W'W and G^-1, with explicit zeros."""
    W = sp.hstack([design.X, design.Z], format="csc")
    W.sort_indices()
    size = W.shape[1]
    WtW = sp.csc_matrix(W.T @ W)
    WtW.sort_indices()
    offsets, pos = [], design.p
    blocks = []
    for k, t in enumerate(vm.terms):
        offsets.append(pos)
        for a in range(t.q):
            for b in range(t.q):
                blocks.append((k, a, b, _kron_block(t.Kinv, t.m, a, b, size, pos)))
        pos += t.q * t.m
    union = _ones_like(WtW)
    for *_, M in blocks:
        union = union + _ones_like(M)
    union = sp.csc_matrix(union)
    union.sort_indices()
    union.data = np.zeros_like(union.data)
    wtw = np.zeros(union.nnz)
    wtw[positions_in(union, WtW)] = WtW.data
    slots = tuple(GSlot(k, a, b, positions_in(union, M), M.data.copy()) for k, a, b, M in blocks)
    return MMEPattern(vm=vm, W=W, p=design.p, term_offsets=tuple(offsets), pattern=union, wtw=wtw,
                      wty=np.asarray(W.T @ design.y).ravel(), yty=float(design.y @ design.y),
                      y=design.y, n=design.n, slots=slots)
