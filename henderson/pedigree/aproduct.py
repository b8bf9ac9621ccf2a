"""A^-1 X and diag A^-1 straight from the pedigree, without forming A^-1 (Henderson's rules, Quaas 1976).

A^-1 = (I - P)' D^-1 (I - P) with P_{i,sire} = P_{i,dam} = 1/2, so for each animal i with b_i = 1/d_i:

    y_i = x_i - (x_sire + x_dam) / 2,   z_i = b_i y_i,   (A^-1 x)_i += z_i,  (A^-1 x)_parent -= z_i / 2

one pass over the animals, O(n) time and no storage beyond X: what iteration on data does in BLUPF90.
"""
from __future__ import annotations

import numpy as np

from ..jitnotice import njit


@njit(cache=True)
def _ainv_times(sire, dam, b, X, out):
    """out = A^-1 X for X of shape (n, k), column by column of the k right-hand sides."""
    n, k = X.shape
    for i in range(n):
        for c in range(k):
            out[i, c] = 0.0
    for i in range(n):
        s, d = sire[i], dam[i]
        for c in range(k):
            y = X[i, c]
            if s >= 0:
                y -= 0.5 * X[s, c]
            if d >= 0:
                y -= 0.5 * X[d, c]
            z = b[i] * y
            out[i, c] += z
            if s >= 0:
                out[s, c] -= 0.5 * z
            if d >= 0:
                out[d, c] -= 0.5 * z


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
        out = np.empty_like(X2)
        _ainv_times(self.sire, self.dam, self.b, X2, out)
        return out.reshape(X.shape)

    def diagonal(self) -> np.ndarray:
        """The diagonal of A^-1."""
        return _ainv_diagonal(self.sire, self.dam, self.b)
