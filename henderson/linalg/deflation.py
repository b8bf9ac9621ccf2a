"""Deflated PCG: the few slow directions of the MME removed from the Krylov space, and solved exactly.

With the diagonal (Jacobi) preconditioner a few isolated eigenvalues of M^-1 C sit far below the
rest. In y ~ hy + (1|id) on the simulated 1M-animal pedigree (benchmarks/bench_deflation.py) the
smallest is 7e-6, and 4e-3 once the directions below are removed: the intercept against the sum
of the herd-year contrasts (treatment coding) and the mean of all breeding values against the
fixed effects. PCG reaches the
BLUPF90 criterion regardless, with some extra rounds, but any bound of the error of a quadratic
form b'C^-1 b (Gauss-Radau's needs a lower bound of lambda_min) stays pessimistic until those
directions have converged.

Deflation (Nicolaides 1987; Saad, Yeung, Erhel & Guyomarc'h 2000; Vandenplas et al. 2019 for the
MME) with a subspace V (size x k, k small) and E = V'CV, Q = V E^-1 V', P = I - C Q:

    C^-1 = Q + P' C^-1 P,   x = C^-1 b = Q b + P' x~  with  (P C) x~ = P b,

PC symmetric positive semi-definite with null space span(V); PCG on it sees the spectrum of C
without the directions in V. The quadratic form splits the same way: b'C^-1 b = b'Q b + (Pb)' x~, the
first term exact, the second the PCG quadratic form of the deflated system, so the error estimates of
henderson.linalg.block_pcg apply to it unchanged. A product (PC) X costs one product C X and two thin
products with the size x k matrix CV.

The subspace (:func:`mme_subspace`) has one vector per group of fixed-effect columns (the constant
column; each run of consecutive 0/1 columns with disjoint rows, a factor's indicators) and one per
effect of each random term (all its levels). Deflation changes no solution, only how fast PCG gets there.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..jitnotice import njit

MAX_GROUPS = 16      # fixed-effect groups deflated at most (the subspace stays a few thin columns)


def fixed_groups(X, max_groups: int = MAX_GROUPS) -> list[np.ndarray]:
    """Runs of consecutive columns of X whose stored entries are all 1 and whose rows are disjoint (a
    factor's indicators, in the order the design writes them; the constant column alone), at most
    ``max_groups`` (the first ones). Other columns (covariates) are in no group.

    A column joins the run of the column before it when its rows last occurred (in an earlier column)
    before the run began: one sort of the entries by row, no pass per column over the records."""
    X = sp.csc_matrix(X, dtype=np.float64, copy=True)
    X.sum_duplicates()
    X.eliminate_zeros()
    counts = np.diff(X.indptr)
    cols = np.repeat(np.arange(X.shape[1]), counts)
    indicator = (counts > 0) & (np.bincount(cols, weights=X.data == 1.0, minlength=X.shape[1]) == counts)
    order = np.lexsort((cols, X.indices))                     # entries by row, then column
    row, col = X.indices[order], cols[order]
    prev = np.full(col.size, -1)
    same = row[1:] == row[:-1]
    prev[1:][same] = col[:-1][same]                           # the row's previous column
    last_seen = np.full(X.shape[1], -1)
    np.maximum.at(last_seen, col, prev)
    groups, start = [], -1
    for j, (ind, seen) in enumerate(zip(indicator.tolist(), last_seen.tolist())):
        if not ind:
            start = -1
        elif start >= 0 and seen < start:
            groups[-1].append(j)
        else:
            start = j
            groups.append([j])
    return [np.asarray(g, dtype=np.int64) for g in groups[:max_groups]]


def mme_subspace(p: int, X, terms) -> np.ndarray:
    """The deflation subspace of the MME (module docstring) as a group per equation (-1: none): the
    fixed-effect groups of X (its first p equations) 0, 1, ..., then one group per effect of each random
    term (``terms``: objects with ``offset``, ``q``, ``m``; effect a holds equations offset + a m ..
    offset + (a + 1) m, all levels). Column c of V is the indicator of group c.

    A group per effect rather than per term: on random-regression animal models (1 + x|id), 5,000 and
    20,000 animals, PCG to 1e-12 took 73-81 rounds so, 81-92 with one group per term, 90-101 with the
    term left out and 116-140 undeflated."""
    size = p + sum(t.q * t.m for t in terms)
    groups = fixed_groups(X) if p else []
    label = np.full(size, -1, dtype=np.int64)
    for c, g in enumerate(groups):
        label[g] = c
    c = len(groups)
    for t in terms:
        for a in range(t.q):
            label[t.offset + a * t.m:t.offset + (a + 1) * t.m] = c
            c += 1
    return label


@njit(cache=True)
def _group_sums(label, k, X):
    """V' X: the sums of the rows of X (size x r) by group (k x r), V the indicators of ``label``."""
    r = X.shape[1]
    out = np.zeros((k, r))
    for i in range(X.shape[0]):
        g = label[i]
        if g >= 0:
            for c in range(r):
                out[g, c] += X[i, c]
    return out


@njit(cache=True)
def _sub_thin_times(A, G, out):
    """out -= A G for a tall thin A (size x k) and G (k x r), in one pass."""
    n, k = A.shape
    r = G.shape[1]
    for i in range(n):
        for j in range(k):
            a = A[i, j]
            for c in range(r):
                out[i, c] -= a * G[j, c]


@njit(cache=True, fastmath=True)
def _run_sums(starts, ends, groups, k, x):
    """V' x for one vector x from the runs of equal labels (start, end, group): a summed slice per run
    (no store into the k sums per row, as _group_sums must for several columns)."""
    out = np.zeros(k)
    for j in range(starts.shape[0]):
        s = 0.0
        for i in range(starts[j], ends[j]):
            s += x[i]
        out[groups[j]] += s
    return out


@njit(cache=True)
def _sub_thin_vector(A, g, out):
    """out -= A g for a tall thin A (size x k) and one vector g (k), the row's sum kept in a register."""
    n, k = A.shape
    for i in range(n):
        acc = 0.0
        for j in range(k):
            acc += A[i, j] * g[j]
        out[i] -= acc


def _runs(label: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(starts, ends, groups) of the runs of consecutive equal labels >= 0."""
    edge = np.flatnonzero(np.diff(label)) + 1
    starts, ends = np.concatenate([[0], edge]), np.concatenate([edge, [label.size]])
    keep = label[starts] >= 0
    return starts[keep], ends[keep], np.ascontiguousarray(label[starts[keep]])


def _c2(X: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(X, dtype=np.float64).reshape(X.shape[0], -1))


class Deflation:
    """The deflated system of ``matmat`` (V, out -> C V into out) with the subspace of indicators of
    ``label`` (:func:`mme_subspace`).

    ``matmat(X, out)`` is (PC) X; ``project(B)`` is P B (B a vector or size x r); ``solution(Xt, B)``
    is x = Q B + P' Xt from the deflated solutions; ``exact_part(B)`` is diag(B'QB), the exact part of
    the quadratic forms. As C is symmetric, (CV)'X = V'(CX): a product needs group sums of CX and one
    pass with CV. One column (single-trait PCG) has kernels of its own: P b at 1M equations 2.2 ms, not 7.4."""

    def __init__(self, matmat, label: np.ndarray):
        self._matmat = matmat
        self.label = np.ascontiguousarray(label, dtype=np.int64)
        self.k = int(self.label.max()) + 1
        self._runs = _runs(self.label)
        V = np.zeros((self.label.size, self.k))
        rows = np.flatnonzero(self.label >= 0)
        V[rows, self.label[rows]] = 1.0
        self.CV = np.ascontiguousarray(matmat(V, np.empty_like(V)))
        E = _group_sums(self.label, self.k, self.CV)
        self.Einv = np.linalg.inv(0.5 * (E + E.T))

    def _vt(self, X: np.ndarray) -> np.ndarray:
        """V' X (k x r)."""
        X = _c2(X)
        if X.shape[1] == 1:
            return _run_sums(*self._runs, self.k, X[:, 0])[:, None]
        return _group_sums(self.label, self.k, X)

    def _subtract_cv(self, X: np.ndarray, out: np.ndarray) -> None:
        """out -= CV E^-1 V' X (out size x r, C order)."""
        G = self.Einv @ self._vt(X)
        if out.shape[1] == 1:
            _sub_thin_vector(self.CV, G[:, 0], out[:, 0])
        else:
            _sub_thin_times(self.CV, G, out)

    def _v(self, G: np.ndarray) -> np.ndarray:
        """V G (size x r)."""
        out = np.zeros((self.label.size, G.shape[1]))
        rows = self.label >= 0
        out[rows] = G[self.label[rows]]
        return out

    def matmat(self, X: np.ndarray, out: np.ndarray) -> np.ndarray:
        """(PC) X = C X - CV E^-1 V'(C X) into ``out``."""
        self._matmat(X, out)
        self._subtract_cv(out, out)
        return out

    def project(self, B: np.ndarray, in_place: bool = False) -> np.ndarray:
        """P B = B - CV E^-1 V' B (the shape of B: size x r, or a vector): into B itself if ``in_place``
        (B C-order float64, 2-d), else a new array."""
        out = B if in_place else _c2(B).copy()
        self._subtract_cv(out, out)
        return out.reshape(np.shape(B))

    def solution(self, Xt: np.ndarray, B: np.ndarray) -> np.ndarray:
        """C^-1 B = Q B + P' Xt, P' Xt = Xt - V E^-1 (CV)' Xt, from the deflated solutions ``Xt`` (a new
        array of the shape of Xt: size x r, or a vector)."""
        shape, Xt = np.shape(Xt), _c2(Xt)
        G = self.Einv @ (self._vt(B) - self.CV.T @ Xt)
        return (Xt + self._v(G)).reshape(shape)

    def exact_part(self, B: np.ndarray) -> np.ndarray:
        """b'Q b for each column b of B."""
        VB = self._vt(B)
        return np.einsum("ij,ij->j", VB, self.Einv @ VB)
