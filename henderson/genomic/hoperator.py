"""H^-1 of single-step as a matrix-free operator for PCG (henderson.linalg.mme_operator's K^-1 interface):

    H^-1 x = A^-1 x + S' (Gw^-1 x_g - A22^-1 x_g),   x_g = S x (the genotyped animals)

A^-1 x by Henderson's rules over the pedigree (henderson.pedigree.aproduct), Gw^-1 x_g from the APY
factors (henderson.genomic.apy) or a dense Gw^-1, A22^-1 x_g from the sparse factor of A^11
(henderson.genomic.pedblocks.A22Inverse). Neither dense n_g x n_g block of the stored H^-1 is formed.
The products run with one BLAS thread (OPENBLAS_NUM_THREADS to change): they are matrix-vector products
bound by memory, alternating with CHOLMOD's solves, and the thread pools of numpy's and CHOLMOD's
OpenBLAS spin against each other otherwise (henderson.linalg.blas_threads): 4x slower on 2 cores.
"""
from __future__ import annotations

import numpy as np

from ..linalg.blas_threads import blas_threads, requested_threads
from ..pedigree.aproduct import AinverseOperator


class DenseGinverse:
    """A dense Gw^-1 with the operator interface of APYFactors (apply, diagonal)."""

    def __init__(self, Ginv: np.ndarray):
        self.Ginv = Ginv

    def apply(self, X: np.ndarray) -> np.ndarray:
        return self.Ginv @ X

    def diagonal(self) -> np.ndarray:
        return np.diag(self.Ginv).copy()


class HinverseOperator:
    """``apply(X)`` = H^-1 X (rows of X: the animals of ``ped``); ``diagonal()``: the diagonal the PCG
    preconditioner uses, diag(A^-1) + S'(diag Gw^-1 - diag A^22): diag(H^-1) with diag(A22^-1) replaced
    by its upper bound diag(A^22) (the exact one needs a selected inverse of A^11); it stays positive."""

    def __init__(self, ped, positions: np.ndarray, ginv, a22inv):
        self.ainv = AinverseOperator.from_pedigree(ped)
        self.pos = np.asarray(positions, dtype=np.int64)
        self.ginv, self.a22inv = ginv, a22inv
        self.n = ped.n

    def apply(self, X: np.ndarray) -> np.ndarray:
        """H^-1 X for X of shape (n,) or (n, k)."""
        X = np.asarray(X, dtype=np.float64)
        out = self.ainv.apply(X)
        Xg = X[self.pos]
        with blas_threads(requested_threads(1)):
            out[self.pos] += self.ginv.apply(Xg) - self.a22inv.apply(Xg)
        return out

    def diagonal(self) -> np.ndarray:
        d = self.ainv.diagonal()
        d[self.pos] += self.ginv.diagonal() - self.a22inv.diagonal_bound()
        return d
