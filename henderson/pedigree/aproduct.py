"""A^-1 X and diag A^-1 straight from the pedigree, without forming A^-1 (Henderson's rules, Quaas 1976).

A^-1 = (I - P)' D^-1 (I - P) with P_{i,sire} = P_{i,dam} = 1/2, so for each animal i with b_i = 1/d_i:

    y_i = x_i - (x_sire + x_dam) / 2,   z_i = b_i y_i,   (A^-1 x)_i += z_i,  (A^-1 x)_parent -= z_i / 2

one pass over the animals, O(n) time and no storage beyond X: what iteration on data does in BLUPF90.
The same terms give a factor L = (I - P)' D^-1/2 of A^-1 = L L' (Monte Carlo REML's probes).
"""
from __future__ import annotations

import numpy as np
from numba import prange

from ..jitnotice import njit
from ..linalg.block_kernels import column_groups


@njit(cache=True)
def _ainv_add(sire, dam, b, X, scale, out):
    """out += scale A^-1 X for X of shape (n, k), the k right-hand sides side by side (the parents'
    cases apart, so that the inner loops over the k columns have no branches)."""
    n, k = X.shape
    for i in range(n):
        s, d = sire[i], dam[i]
        w = scale * b[i]
        if s >= 0 and d >= 0:
            for c in range(k):
                z = w * (X[i, c] - 0.5 * (X[s, c] + X[d, c]))
                out[i, c] += z
                out[s, c] -= 0.5 * z
                out[d, c] -= 0.5 * z
        elif s >= 0 or d >= 0:
            p = s if s >= 0 else d
            for c in range(k):
                z = w * (X[i, c] - 0.5 * X[p, c])
                out[i, c] += z
                out[p, c] -= 0.5 * z
        else:
            for c in range(k):
                out[i, c] += w * X[i, c]


@njit(cache=True)
def _ainv_add_range(sire, dam, b, X, scale, out, c0, c1):
    """_ainv_add for the columns c0:c1 (through 1-d views of the rows, which numba vectorises)."""
    n = X.shape[0]
    m = c1 - c0
    for i in range(n):
        s, d = sire[i], dam[i]
        w = scale * b[i]
        xi, oi = X[i, c0:c1], out[i, c0:c1]
        if s >= 0 and d >= 0:
            xs, xd, os_, od = X[s, c0:c1], X[d, c0:c1], out[s, c0:c1], out[d, c0:c1]
            for c in range(m):
                z = w * (xi[c] - 0.5 * (xs[c] + xd[c]))
                oi[c] += z
                os_[c] -= 0.5 * z
                od[c] -= 0.5 * z
        elif s >= 0 or d >= 0:
            p = s if s >= 0 else d
            xp, op = X[p, c0:c1], out[p, c0:c1]
            for c in range(m):
                z = w * (xi[c] - 0.5 * xp[c])
                oi[c] += z
                op[c] -= 0.5 * z
        else:
            for c in range(m):
                oi[c] += w * xi[c]


@njit(cache=True, parallel=True)
def _ainv_add_columns(sire, dam, b, X, scale, out, groups):
    """_ainv_add with the k columns split by ``groups`` (bounds) between the threads: each group one
    pass over the animals, the serial arithmetic for its columns (no two threads write one entry)."""
    for g in prange(groups.shape[0] - 1):
        _ainv_add_range(sire, dam, b, X, scale, out, groups[g], groups[g + 1])


@njit(cache=True)
def _factor_times(sire, dam, b, Z, out):
    """out = (I - P)' D^-1/2 Z, a factor L of A^-1 = L L' times Z (n, k)."""
    n, k = Z.shape
    for i in range(n):
        w = np.sqrt(b[i])
        for c in range(k):
            out[i, c] = w * Z[i, c]
    for i in range(n):
        s, d = sire[i], dam[i]
        w = np.sqrt(b[i])
        for c in range(k):
            v = 0.5 * w * Z[i, c]
            if s >= 0:
                out[s, c] -= v
            if d >= 0:
                out[d, c] -= v


@njit(cache=True)
def _ainv_diagonal(sire, dam, b):
    """diag A^-1: b_i for animal i, plus b_j / 4 for each (parent, parent) pair of offspring j on the diagonal."""
    n = sire.shape[0]
    out = b.copy()
    for j in range(n):
        s, d = sire[j], dam[j]
        q = 0.25 * b[j]
        if s >= 0:
            out[s] += q
        if d >= 0:
            out[d] += q
        if s >= 0 and s == d:   # selfing: the cross pairs (s, d) and (d, s) also land on the diagonal
            out[s] += 2.0 * q
    return out


class AinverseOperator:
    """A^-1 of a pedigree as a linear operator: ``apply(X)`` = A^-1 X, ``diagonal()`` = diag A^-1."""

    def __init__(self, sire: np.ndarray, dam: np.ndarray, dii: np.ndarray):
        self.sire = np.ascontiguousarray(sire, dtype=np.int64)
        self.dam = np.ascontiguousarray(dam, dtype=np.int64)
        self.b = 1.0 / np.ascontiguousarray(dii, dtype=np.float64)
        self.n = self.sire.shape[0]

    @classmethod
    def from_pedigree(cls, ped) -> AinverseOperator:
        """The operator of a henderson Pedigree (inbreeding included through d_i)."""
        return cls(ped.sire, ped.dam, ped.dii)

    def apply(self, X: np.ndarray) -> np.ndarray:
        """A^-1 X for X of shape (n,) or (n, k)."""
        X = np.asarray(X, dtype=np.float64)
        X2 = np.ascontiguousarray(X.reshape(self.n, -1))
        out = np.zeros_like(X2)
        _ainv_add(self.sire, self.dam, self.b, X2, 1.0, out)
        return out.reshape(X.shape)

    def apply_add(self, X: np.ndarray, scale: float, out: np.ndarray) -> None:
        """out += scale A^-1 X for C-contiguous X and out of shape (n, k): the columns split between
        numba's threads when k > 1."""
        if X.shape[1] > 1:
            _ainv_add_columns(self.sire, self.dam, self.b, X, float(scale), out, column_groups(X.shape[1]))
        else:
            _ainv_add(self.sire, self.dam, self.b, X, float(scale), out)

    def factor_times(self, Z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """L Z for the factor L = (I - P)' D^-1/2 of A^-1 = L L' (Z of shape (n, k), any numeric dtype),
        into ``out`` (n x k, may be a view) if given: Hutchinson probes L z have E[(L z)(L z)'] = A^-1."""
        Z = np.ascontiguousarray(Z)
        out = np.empty(Z.shape) if out is None else out
        _factor_times(self.sire, self.dam, self.b, Z, out)
        return out

    def diagonal(self) -> np.ndarray:
        """The diagonal of A^-1."""
        return _ainv_diagonal(self.sire, self.dam, self.b)
