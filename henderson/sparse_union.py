"""The union of the patterns of sparse matrices, with where each one's entries land in it.

One merge of the sorted rows of every column (two compiled passes: count, fill) instead of adding
matrices of ones and locating each one's entries by an element-wise product with a matrix of tags:
with single-step's dense block of 10^8 entries in G^-1 the latter made several 10^8-entry copies.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .jitnotice import njit


@njit(cache=True)
def _merge(Ap, Ai, Bp, Bi, write, Up, Ui, posA, posB):
    """Merge the sorted columns of A and B: with write False, Up[j + 1] = entries of column j of the
    union; with write True, fill Ui and the positions posA, posB of A's and B's entries in it."""
    n = Ap.size - 1
    for j in range(n):
        a, ae, b, be = Ap[j], Ap[j + 1], Bp[j], Bp[j + 1]
        w = Up[j] if write else 0
        while a < ae or b < be:
            if b == be or (a < ae and Ai[a] < Bi[b]):
                r = Ai[a]
                if write:
                    posA[a] = w
                a += 1
            elif a == ae or Bi[b] < Ai[a]:
                r = Bi[b]
                if write:
                    posB[b] = w
                b += 1
            else:
                r = Ai[a]
                if write:
                    posA[a] = w
                    posB[b] = w
                a += 1
                b += 1
            if write:
                Ui[w] = r
            w += 1
        if not write:
            Up[j + 1] = w


def _canonical(M) -> sp.csc_matrix:
    M = sp.csc_matrix(M)
    M.sum_duplicates()   # also sorts the row indices
    return M


def union_with_positions(mats: list) -> tuple[sp.csc_matrix, list[np.ndarray]]:
    """(U, [pos_k]): U the union of the patterns of the same-shape sparse matrices ``mats`` (CSC, sorted,
    zero values), pos_k[i] the index into U.data of the i-th stored entry of mats[k] (sorted CSC order; the
    index type of U)."""
    mats = [_canonical(M) for M in mats]
    n_rows, n_cols = mats[0].shape
    Up = np.asarray(mats[0].indptr, dtype=np.int64)
    Ui = np.asarray(mats[0].indices, dtype=np.int64)
    positions = [np.arange(Ui.size, dtype=np.int64)]
    for M in mats[1:]:
        Bp, Bi = np.asarray(M.indptr, dtype=np.int64), np.asarray(M.indices, dtype=np.int64)
        Np = np.zeros(n_cols + 1, dtype=np.int64)
        none = np.empty(0, dtype=np.int64)
        _merge(Up, Ui, Bp, Bi, False, Np, none, none, none)
        np.cumsum(Np, out=Np)
        Ni = np.empty(Np[-1], dtype=np.int64)
        posU, posB = np.empty(Ui.size, dtype=np.int64), np.empty(Bi.size, dtype=np.int64)
        _merge(Up, Ui, Bp, Bi, True, Np, Ni, posU, posB)
        positions = [posU[p] for p in positions] + [posB]
        Up, Ui = Np, Ni
    itype = np.int32 if Ui.size < 2**31 and n_rows < 2**31 else np.int64
    U = sp.csc_matrix((np.zeros(Ui.size), Ui.astype(itype), Up.astype(itype)), shape=(n_rows, n_cols))
    U.has_sorted_indices = True
    return U, [p.astype(itype) for p in positions]   # int32 when U allows: half the memory of 10^8 positions
