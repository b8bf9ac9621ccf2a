"""A^-1 by Henderson's rules with Quaas's (1976) extension for inbreeding, and log|A|.

A = L D L' with L = (I - P)^-1, P_{i,sire} = P_{i,dam} = 1/2, so A^-1 = (I - P)' D^-1 (I - P):
animal i with b_i = 1/d_i adds b_i at (i,i), -b_i/2 at (i,p) and (p,i) for each known parent p,
and b_i/4 at (p,q) for each pair of known parents p, q (including p = q).
log|A| = sum_i log d_i because |I - P| = 1.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from ..jitnotice import njit

from ..sorting import sort_segment


@njit(cache=True)
def _triplets(sire, dam, b):
    """Henderson/Quaas contributions (row, col, value) for every animal, at most 9 per animal."""
    n = sire.shape[0]
    rows = np.empty(9 * n, np.int64)
    cols = np.empty(9 * n, np.int64)
    vals = np.empty(9 * n)
    k = 0
    for i in range(n):
        par = (sire[i], dam[i])
        rows[k], cols[k], vals[k] = i, i, b[i]
        k += 1
        for p in par:
            if p < 0:
                continue
            rows[k], cols[k], vals[k] = i, p, -0.5 * b[i]
            rows[k + 1], cols[k + 1], vals[k + 1] = p, i, -0.5 * b[i]
            k += 2
            for q in par:
                if q >= 0:
                    rows[k], cols[k], vals[k] = p, q, 0.25 * b[i]
                    k += 1
    return rows[:k], cols[:k], vals[:k]


@njit(cache=True)
def _to_csc(n, rows, cols, vals):
    """Sum duplicate triplets into CSC arrays (indptr, indices sorted within columns, data)."""
    count = np.zeros(n + 1, np.int64)
    for c in cols:
        count[c + 1] += 1
    for j in range(n):
        count[j + 1] += count[j]
    fill = count[:n].copy()
    trow = np.empty(rows.shape[0], np.int64)
    tval = np.empty(rows.shape[0])
    for k in range(rows.shape[0]):
        c = cols[k]
        trow[fill[c]] = rows[k]
        tval[fill[c]] = vals[k]
        fill[c] += 1
    mark = np.full(n, -1, np.int64)
    where = np.empty(n, np.int64)
    indptr = np.zeros(n + 1, np.int64)
    indices = np.empty(rows.shape[0], np.int64)
    data = np.empty(rows.shape[0])
    nz = 0
    for j in range(n):
        start = nz
        for k in range(count[j], count[j + 1]):
            r = trow[k]
            if mark[r] != j:
                mark[r] = j
                where[r] = nz
                indices[nz] = r
                data[nz] = tval[k]
                nz += 1
            else:
                data[where[r]] += tval[k]
        sort_segment(indices, data, start, nz, True)
        indptr[j + 1] = nz
    return indptr, indices[:nz].copy(), data[:nz].copy()


def ainverse_matrix(sire: np.ndarray, dam: np.ndarray, d: np.ndarray) -> sp.csc_matrix:
    """Sparse CSC A^-1 (full symmetric storage, sorted indices) from parent positions (-1 unknown) and d_i."""
    n = d.shape[0]
    rows, cols, vals = _triplets(np.asarray(sire, np.int64), np.asarray(dam, np.int64), 1.0 / d)
    indptr, indices, data = _to_csc(n, rows, cols, vals)
    index_dtype = np.int32 if indices.size < 2**31 - 1 else np.int64
    out = sp.csc_matrix((data, indices.astype(index_dtype), indptr.astype(index_dtype)), shape=(n, n))
    out.has_sorted_indices = True
    return out


def logdet_a(d: np.ndarray) -> float:
    """log|A| = sum_i log d_i."""
    return float(np.sum(np.log(d)))
