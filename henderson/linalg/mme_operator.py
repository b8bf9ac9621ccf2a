"""The mixed model equations as a matrix-free operator, and their block-diagonal preconditioner.

    C x = W' R^-1 W x + blockdiag(0, G^-1) x,   G^-1 = blockdiag_k(Sigma_k^-1 (x) K_k^-1),   W = [X Z]

computed as two sparse products with W and, per random term, one product with K_k^-1 (a pedigree's
A^-1 by Henderson's rules, never formed; a user's K^-1 as given; the identity). C itself is never
formed. A random term with q effects stores its columns effect-major (offset + a m + level), as the
MME pattern does (henderson.mme).

The preconditioner inverts, per level of each random term, the q x q diagonal block of C (per animal
for several traits or random regressions) and, for the fixed effects, the diagonal of C: what BLUPF90's
PCG solvers use.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..jitnotice import njit


@njit(cache=True)
def _wtw_times(indptr, indices, data, x, scale, out):
    """out = scale W'W x from W in CSR, record by record: one pass, no n-vector W x in between."""
    out[:] = 0.0
    for i in range(indptr.shape[0] - 1):
        s = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            s += data[k] * x[indices[k]]
        s *= scale
        for k in range(indptr[i], indptr[i + 1]):
            out[indices[k]] += data[k] * s


@njit(cache=True)
def _add_kron_times(S, KX, offset, out):
    """out[offset + a m + i] += (KX S')[i, a]: Sigma^-1 (x) K^-1 times x from KX = K^-1 X (m x q), effect-major
    (one pass; numpy's matmul of a tall m x q by a q x q matrix is far slower)."""
    m, q = KX.shape
    for a in range(q):
        for i in range(m):
            acc = 0.0
            for b in range(q):
                acc += S[a, b] * KX[i, b]
            out[offset + a * m + i] += acc


@dataclass(frozen=True)
class TermBlock:
    """Random term k in the MME: columns offset .. offset + q m, and its K^-1 (None: the identity).

    ``kinv`` has ``apply(X)`` (K^-1 X for X of shape (m, r)) and ``diagonal()``.
    """

    offset: int
    q: int
    m: int
    kinv: object | None


class SparseKinv:
    """A user's K^-1 (scipy sparse) with the operator interface of AinverseOperator."""

    def __init__(self, K: sp.spmatrix):
        self.K = sp.csr_matrix(K)

    def apply(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.K @ X)

    def diagonal(self) -> np.ndarray:
        return self.K.diagonal()


class MMEOperator:
    """C(theta) as a linear operator: ``matvec(x)``, ``rhs(y)`` and ``preconditioner()``.

    ``rinv_scale``: 1 / sigma2_e (R = sigma2_e I); ``sinv[k]``: Sigma_k^-1 (q_k x q_k) of term k.
    """

    def __init__(self, W: sp.csc_matrix, terms: list[TermBlock], rinv_scale: float, sinv: list[np.ndarray]):
        self.W = sp.csr_matrix(W)          # W'W x: one pass over the records (_wtw_times)
        self.W.sort_indices()
        self.Wt = sp.csr_matrix(W.T)       # W'y and the preconditioner
        self.size = W.shape[1]
        self.terms = terms
        self.rinv_scale = float(rinv_scale)
        self.sinv = [np.atleast_2d(np.asarray(s, dtype=float)) for s in sinv]

    def data_times(self, x: np.ndarray, out: np.ndarray) -> None:
        """out = W' R^-1 W x."""
        _wtw_times(self.W.indptr, self.W.indices, self.W.data, x, self.rinv_scale, out)

    def matvec(self, x: np.ndarray) -> np.ndarray:
        """C x."""
        out = np.empty(self.size)
        self.data_times(np.ascontiguousarray(x, dtype=np.float64), out)
        for t, S in zip(self.terms, self.sinv):
            if t.q == 1:
                sl = slice(t.offset, t.offset + t.m)
                out[sl] += S[0, 0] * (x[sl] if t.kinv is None else t.kinv.apply(x[sl]))
                continue
            X = x[t.offset:t.offset + t.q * t.m].reshape(t.q, t.m).T        # m x q
            KX = X if t.kinv is None else t.kinv.apply(X)
            _add_kron_times(S, np.ascontiguousarray(KX), t.offset, out)       # (Sigma^-1 (x) K^-1) x
        return out

    def rhs(self, y: np.ndarray) -> np.ndarray:
        """W' R^-1 y."""
        return (self.Wt @ y) * self.rinv_scale

    def _wtw_diagonal_blocks(self, t: TermBlock) -> np.ndarray:
        """(m, q, q): the q x q blocks of W'W on the diagonal, one per level of term t."""
        out = np.empty((t.m, t.q, t.q))
        cols = [self.Wt[t.offset + a * t.m:t.offset + (a + 1) * t.m] for a in range(t.q)]
        for a in range(t.q):
            for b in range(a, t.q):
                v = np.asarray(cols[a].multiply(cols[b]).sum(axis=1)).ravel()
                out[:, a, b] = out[:, b, a] = v
        return out

    def data_diagonal(self) -> tuple[np.ndarray, list[np.ndarray]]:
        """Of W' R^-1 W: the diagonal on the fixed effects, and per random term its (m, q, q) blocks."""
        p = self.terms[0].offset if self.terms else self.size
        d = np.asarray(self.Wt[:p].multiply(self.Wt[:p]).sum(axis=1)).ravel() * self.rinv_scale
        return d, [self._wtw_diagonal_blocks(t) * self.rinv_scale for t in self.terms]

    def preconditioner(self) -> Preconditioner:
        """M^-1: the inverse of the diagonal of C on the fixed effects and of its per-level q x q blocks
        on each random term."""
        p = self.terms[0].offset if self.terms else self.size
        d, data_blocks = self.data_diagonal()
        blocks = []
        for t, S, B in zip(self.terms, self.sinv, data_blocks):
            kd = np.ones(t.m) if t.kinv is None else t.kinv.diagonal()
            B += kd[:, None, None] * S[None, :, :]
            blocks.append((t, np.linalg.inv(B)))
        return Preconditioner(np.where(d > 0, 1.0 / np.where(d > 0, d, 1.0), 0.0), p, blocks)


class Preconditioner:
    """x -> M^-1 x for the block-diagonal M of MMEOperator.preconditioner."""

    def __init__(self, fixed_inv: np.ndarray, p: int, blocks: list):
        self.fixed_inv = fixed_inv
        self.p = p
        self.blocks = blocks

    def __call__(self, r: np.ndarray) -> np.ndarray:
        out = np.empty_like(r)
        out[:self.p] = self.fixed_inv * r[:self.p]
        for t, Binv in self.blocks:
            sl = slice(t.offset, t.offset + t.q * t.m)
            R = r[sl].reshape(t.q, t.m).T                                  # m x q
            if t.q == 1:
                out[sl] = Binv[:, 0, 0] * R[:, 0]
            else:
                out[sl] = np.einsum("mab,mb->am", Binv, R).ravel()
        return out
