"""The multi-trait MME as a matrix-free operator: R = blockdiag_i R0[o_i, o_i] over the data rows.

    C x = W' R^-1 W x + blockdiag(0, Sigma_k^-1 (x) K_k^-1) x

The data part goes row by row as BLUPF90's iteration on data does: for data row i with traits o_i,
v = W_i x (one value per record of the row), w = R0[o_i, o_i]^-1 v, out += W_i' w; one pass over
the records, R0[o, o]^-1 taken once per pattern o of recorded traits. The records are stacked trait
by trait (henderson.formula.traits), so each row's records are indexed (``rec``, in trait order).
The genetic part is MMEOperator's: A^-1 X Sigma^-1 with X the m x t solutions of a term (one pass
over the pedigree for all traits). The preconditioner inverts the q x q diagonal block of C per
level of each random term (per animal: its traits), and the diagonal on the fixed effects.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..jitnotice import njit
from .mme_operator import MMEOperator, TermBlock


@njit(cache=True)
def _wrw_times(indptr, indices, data, row_ptr, rec, pid, pinv, x, out):
    """out = W' R^-1 W x, row by row: v = W_i x, w = R0[o,o]^-1 v, out += W_i' w."""
    out[:] = 0.0
    t = pinv.shape[1]
    v = np.empty(t)
    for i in range(row_ptr.shape[0] - 1):
        a0, s, P = row_ptr[i], row_ptr[i + 1] - row_ptr[i], pid[i]
        for a in range(s):
            r = rec[a0 + a]
            acc = 0.0
            for k in range(indptr[r], indptr[r + 1]):
                acc += data[k] * x[indices[k]]
            v[a] = acc
        for a in range(s):
            w = 0.0
            for b in range(s):
                w += pinv[P, a, b] * v[b]
            r = rec[a0 + a]
            for k in range(indptr[r], indptr[r + 1]):
                out[indices[k]] += data[k] * w


@njit(cache=True)
def _rinv_times(row_ptr, rec, pid, pinv, y, out):
    """out = R^-1 y over the records (row by row)."""
    for i in range(row_ptr.shape[0] - 1):
        a0, s, P = row_ptr[i], row_ptr[i + 1] - row_ptr[i], pid[i]
        for a in range(s):
            w = 0.0
            for b in range(s):
                w += pinv[P, a, b] * y[rec[a0 + b]]
            out[rec[a0 + a]] = w


@njit(cache=True)
def _wrw_diagonal(indptr, indices, data, row_ptr, rec, pid, pinv, col_block, col_slot, out):
    """out[B, a, b] += the entries of W' R^-1 W between columns of the same block B (slots a, b)."""
    for i in range(row_ptr.shape[0] - 1):
        a0, s, P = row_ptr[i], row_ptr[i + 1] - row_ptr[i], pid[i]
        for a in range(s):
            ra = rec[a0 + a]
            for b in range(s):
                rb, c = rec[a0 + b], pinv[P, a, b]
                for ka in range(indptr[ra], indptr[ra + 1]):
                    B = col_block[indices[ka]]
                    for kb in range(indptr[rb], indptr[rb + 1]):
                        if col_block[indices[kb]] == B:
                            out[B, col_slot[indices[ka]], col_slot[indices[kb]]] += data[ka] * data[kb] * c


def row_patterns(row_code: np.ndarray, trait_code: np.ndarray, R0: np.ndarray):
    """(row_ptr, rec, pid, pinv): each data row's records in trait order (rec[row_ptr[i]:row_ptr[i+1]]),
    its pattern of recorded traits (pid) and, per pattern, R0[o, o]^-1 in the top-left of a t x t array."""
    t = R0.shape[0]
    rec = np.lexsort((trait_code, row_code)).astype(np.int64)
    n_rows = int(row_code.max()) + 1 if row_code.size else 0
    row_ptr = np.concatenate([[0], np.cumsum(np.bincount(row_code, minlength=n_rows))]).astype(np.int64)
    mask = np.bincount(row_code, weights=np.left_shift(1, trait_code).astype(float), minlength=n_rows)
    masks, pid = np.unique(mask.astype(np.int64), return_inverse=True)
    pinv = np.zeros((len(masks), t, t))
    for p, mk in enumerate(masks):
        o = np.flatnonzero((mk >> np.arange(t)) & 1)
        pinv[p, :len(o), :len(o)] = np.linalg.inv(R0[np.ix_(o, o)])
    return row_ptr, rec, pid.astype(np.int64).ravel(), pinv


class TraitMMEOperator(MMEOperator):
    """C(theta) of a multi-trait model (module docstring); ``row_code``/``trait_code`` per record, R0 t x t."""

    def __init__(self, W: sp.csc_matrix, terms: list[TermBlock], sinv: list[np.ndarray],
                 row_code: np.ndarray, trait_code: np.ndarray, R0: np.ndarray):
        super().__init__(W, terms, 1.0, sinv)
        self.row_ptr, self.rec, self.pid, self.pinv = row_patterns(np.asarray(row_code, dtype=np.int64),
                                                                   np.asarray(trait_code, dtype=np.int64), R0)

    def _csr(self):
        return self.W.indptr, self.W.indices, self.W.data, self.row_ptr, self.rec, self.pid, self.pinv

    def data_times(self, x: np.ndarray, out: np.ndarray) -> None:
        """out = W' R^-1 W x."""
        _wrw_times(*self._csr(), x, out)

    def rhs(self, y: np.ndarray) -> np.ndarray:
        """W' R^-1 y."""
        ry = np.empty(len(y))
        _rinv_times(self.row_ptr, self.rec, self.pid, self.pinv, np.ascontiguousarray(y, dtype=np.float64), ry)
        return self.Wt @ ry

    def data_diagonal(self) -> tuple[np.ndarray, list[np.ndarray]]:
        """Of W' R^-1 W: the diagonal on the fixed effects, and per random term its (m, q, q) blocks."""
        p = self.terms[0].offset if self.terms else self.size
        col_block = np.arange(self.size, dtype=np.int64)
        col_slot = np.zeros(self.size, dtype=np.int64)
        first, qmax = p, max([1] + [t.q for t in self.terms])
        for t in self.terms:
            cols = np.arange(t.q * t.m)
            col_block[t.offset:t.offset + t.q * t.m] = first + cols % t.m
            col_slot[t.offset:t.offset + t.q * t.m] = cols // t.m
            first += t.m
        out = np.zeros((first, qmax, qmax))
        _wrw_diagonal(*self._csr(), col_block, col_slot, out)
        blocks, first = [], p
        for t in self.terms:
            blocks.append(out[first:first + t.m, :t.q, :t.q].copy())
            first += t.m
        return out[:p, 0, 0].copy(), blocks
