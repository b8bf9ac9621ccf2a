"""Per-group local blocks of W for a structured residual, found once per MME pattern (numba; no Python loop
over groups), so that each theta's work is a pass over small dense blocks:

    W'R^-1W = sum_g W_g' R_g^-1 W_g      (cross_values: added onto C's data at positions found once)
    H_g     = W_g S W_g'                 (hat_blocks: S's entries read at the same positions)

W_g is group g's rows on its local columns (the union of its rows' nonzeros, padded to kmax columns
of zeros), ``pos`` the positions in C's data (CSC, sorted; the selected inverse has the same pattern)
of the local columns' pairs, ``nnz`` (one past the end) for padding; the per-theta loops are numba too.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..jitnotice import njit


@njit(cache=True, inline="always")
def _find(indptr, indices, col, row):
    """Position of (row, col) in a CSC pattern with sorted row indices, or -1."""
    lo, hi = indptr[col], indptr[col + 1]
    while lo < hi:
        mid = (lo + hi) // 2
        r = indices[mid]
        if r < row:
            lo = mid + 1
        elif r > row:
            hi = mid
        else:
            return mid
    return -1


@njit(cache=True)
def _local_blocks(idx, kmax, w_indptr, w_indices, w_data, c_indptr, c_indices, nnz):
    G, s = idx.shape
    Wl = np.zeros((G, s, kmax))
    pos = np.full((G, kmax, kmax), nnz, dtype=np.int64)
    cols = np.empty(kmax, dtype=np.int64)
    for g in range(G):
        k = 0
        for a in range(s):
            i = idx[g, a]
            for p in range(w_indptr[i], w_indptr[i + 1]):
                c = w_indices[p]
                u = 0
                while u < k and cols[u] != c:
                    u += 1
                if u == k:
                    cols[k] = c
                    k += 1
                Wl[g, a, u] += w_data[p]
        for u in range(k):
            for v in range(k):
                q = _find(c_indptr, c_indices, cols[v], cols[u])
                pos[g, u, v] = q if q >= 0 else nnz
    return Wl, pos


@dataclass(frozen=True)
class LocalBlocks:
    """One size class's W_g (G, s, kmax) and the positions (G, kmax, kmax) of their pairs in C's data."""

    W: np.ndarray
    pos: np.ndarray


def local_blocks(idx: np.ndarray, W, C) -> LocalBlocks:
    """LocalBlocks of the groups ``idx`` (G, s) for W (CSR, sorted) and C's pattern (CSC, sorted)."""
    nnz_rows = np.diff(W.indptr)
    kmax = max(int(nnz_rows[idx].sum(axis=1).max()) if idx.size else 0, 1)
    Wl, pos = _local_blocks(idx, kmax, W.indptr, W.indices, W.data, C.indptr, C.indices, C.nnz)
    used = int((Wl != 0).any(axis=(0, 1)).nonzero()[0].max()) + 1 if Wl.any() else 1
    return LocalBlocks(W=np.ascontiguousarray(Wl[:, :, :used]), pos=np.ascontiguousarray(pos[:, :used, :used]))


@njit(cache=True)
def _cross_add(Wl, pos, M, out):
    G, s, k = Wl.shape
    T = np.empty((s, k))
    for g in range(G):
        for a in range(s):            # T = M_g W_g
            for v in range(k):
                acc = 0.0
                for b in range(s):
                    acc += M[g, a, b] * Wl[g, b, v]
                T[a, v] = acc
        for u in range(k):            # C_l = W_g' T
            for v in range(k):
                acc = 0.0
                for a in range(s):
                    acc += Wl[g, a, u] * T[a, v]
                out[pos[g, u, v]] += acc


@njit(cache=True)
def _hat(Wl, pos, S, out):
    G, s, k = Wl.shape
    T = np.empty((s, k))
    for g in range(G):
        for a in range(s):            # T = W_g S_l
            for v in range(k):
                acc = 0.0
                for u in range(k):
                    acc += Wl[g, a, u] * S[pos[g, u, v]]
                T[a, v] = acc
        for a in range(s):            # H_g = T W_g'
            for b in range(a, s):
                acc = 0.0
                for v in range(k):
                    acc += T[a, v] * Wl[g, b, v]
                out[g, a, b] = acc
                out[g, b, a] = acc


def cross_values(blocks: list[LocalBlocks], M: list[np.ndarray], nnz: int) -> np.ndarray:
    """W'MW on C's data for the block-diagonal M with (G, s, s) blocks per size class."""
    out = np.zeros(nnz + 1)
    for b, Mb in zip(blocks, M):
        _cross_add(b.W, b.pos, np.ascontiguousarray(Mb), out)
    return out[:nnz]


def hat_blocks(blocks: list[LocalBlocks], S_data: np.ndarray) -> list[np.ndarray]:
    """W_g S W_g' (G, s, s) per size class, for S given by its data on C's pattern."""
    padded = np.append(np.asarray(S_data, dtype=float), 0.0)
    out = []
    for b in blocks:
        H = np.empty((b.W.shape[0], b.W.shape[1], b.W.shape[1]))
        _hat(b.W, b.pos, padded, H)
        out.append(H)
    return out
