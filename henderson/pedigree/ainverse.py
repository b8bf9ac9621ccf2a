"""A^-1 by Henderson's rules with Quaas's (1976) extension for inbreeding, and log|A|.

A = L D L' with L = (I - P)^-1, P_{i,sire} = P_{i,dam} = 1/2, so A^-1 = (I - P)' D^-1 (I - P):
animal i with b_i = 1/d_i adds b_i at (i,i), -b_i/2 at (i,p) and (p,i) for each known parent p,
and b_i/4 at (p,q) for each pair of known parents p, q (including p = q).
log|A| = sum_i log d_i because |I - P| = 1.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def ainverse_matrix(sire: np.ndarray, dam: np.ndarray, d: np.ndarray) -> sp.csc_matrix:
    """Sparse CSC A^-1 (full symmetric storage) from parent positions (-1 unknown) and d_i."""
    n = d.shape[0]
    b = 1.0 / d
    i = np.arange(n, dtype=np.int64)
    s = np.asarray(sire, np.int64)
    m = np.asarray(dam, np.int64)
    ks, km = s >= 0, m >= 0
    kb = ks & km
    rows = [i, i[ks], s[ks], s[ks], i[km], m[km], m[km], s[kb], m[kb]]
    cols = [i, s[ks], i[ks], s[ks], m[km], i[km], m[km], m[kb], s[kb]]
    vals = [b, -0.5 * b[ks], -0.5 * b[ks], 0.25 * b[ks], -0.5 * b[km], -0.5 * b[km], 0.25 * b[km],
            0.25 * b[kb], 0.25 * b[kb]]
    a = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    out = a.tocsc()
    out.sum_duplicates()
    return out


def logdet_a(d: np.ndarray) -> float:
    """log|A| = sum_i log d_i."""
    return float(np.sum(np.log(d)))
