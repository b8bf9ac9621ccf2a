"""The pedigree blocks single-step needs, without a dense inverse of A22.

For the genotyped animals (block 2) and the others (block 1) of the pedigree pruned to the genotyped
animals and their ancestors (A22 depends on nothing else):

    A22   = columns of A for the genotyped by Colleau's algorithm (A = T D T', two sparse triangular
            passes over the pedigree per block of columns);
    A22^-1 = A^22 - A^21 (A^11)^-1 A^12, a Schur complement of A^-1, from a sparse factorization of A^11
            (only the columns of A^12 with non-zeros take part).

The factorization goes through henderson.linalg (the one module that imports scikit-sparse).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..errors import PedigreeError
from ..ids import show_ids
from ..jitnotice import njit
from ..linalg import Factor
from ..pedigree import Pedigree

COLUMNS = 512  # right-hand sides per sparse solve


@dataclass(frozen=True)
class PrunedBlocks:
    """A^-1 of the pruned pedigree split by genotyped (2) and others (1); ``g`` positions of the genotyped
    animals in the pruned pedigree (in genotype order); log|A| of the pruned pedigree."""

    ped: Pedigree
    g: np.ndarray
    other: np.ndarray
    Ainv: sp.csc_matrix
    logdet_a: float


def genotyped_positions(ped: Pedigree, ids: np.ndarray) -> np.ndarray:
    """Positions in ``ped`` of the genotyped ids; PedigreeError naming the genotyped animals not in it."""
    pos = ped.index.get_indexer(ids)
    if np.any(pos < 0):
        missing = ids[pos < 0]
        raise PedigreeError(f"{missing.size} genotyped animals are not in the pedigree: {show_ids(missing)} "
                            f"(add them to the pedigree, with unknown parents if need be)")
    return pos


def pruned_blocks(ped: Pedigree, ids: np.ndarray) -> PrunedBlocks:
    """The pedigree of the genotyped ``ids`` and their ancestors, and the split of its A^-1."""
    genotyped_positions(ped, ids)
    sub = ped.prune(ids)
    g = sub.index.get_indexer(ids)
    other = np.setdiff1d(np.arange(sub.n), g)
    Ainv, _ = sub.ainverse()
    return PrunedBlocks(sub, g, other, sp.csc_matrix(Ainv), float(sub.logdet_a()))


def _factor(M: sp.spmatrix) -> Factor:
    M = sp.csc_matrix(M)
    M.sort_indices()
    return Factor.analyze(M, ordering="amd").refactor(M)


@njit(cache=True)
def _colleau(sire: np.ndarray, dam: np.ndarray, d: np.ndarray, X: np.ndarray) -> None:
    """X <- A X in place (Colleau 2002): A = T D T' with T = (I - P)^-1, by a backward pass solving
    (I - P)' Z = X, scaling by D, and a forward pass solving (I - P) V = D Z; rows of X are animals."""
    n, k = X.shape
    for i in range(n - 1, -1, -1):
        for p in (sire[i], dam[i]):
            if p >= 0:
                for c in range(k):
                    X[p, c] += 0.5 * X[i, c]
    for i in range(n):
        s, t = sire[i], dam[i]
        for c in range(k):
            v = d[i] * X[i, c]
            if s >= 0:
                v += 0.5 * X[s, c]
            if t >= 0:
                v += 0.5 * X[t, c]
            X[i, c] = v


def add_a22_columns(blocks: PrunedBlocks, cols: np.ndarray, out: np.ndarray, weight: float = 1.0,
                    rows: np.ndarray | None = None, scratch: int = 2**26) -> None:
    """out[i, j] += weight A22[rows[i], cols[j]] (genotype positions; rows default: all, in order) by
    Colleau's products with the pruned pedigree, over blocks of columns of at most ``scratch`` doubles."""
    ped = blocks.ped
    g = blocks.g if rows is None else blocks.g[rows]
    width = int(max(8, min(COLUMNS, scratch // max(ped.n, 1))))
    for start in range(0, cols.size, width):
        pc = blocks.g[cols[start:start + width]]
        X = np.zeros((ped.n, pc.size))
        X[pc, np.arange(pc.size)] = 1.0
        _colleau(ped.sire, ped.dam, ped.dii, X)
        out[:, start:start + pc.size] += weight * X[g]


def a22(blocks: PrunedBlocks) -> np.ndarray:
    """Dense A22 (genotype order) by Colleau's products A E_2 with the pruned pedigree, in blocks of columns."""
    out = np.zeros((blocks.g.size, blocks.g.size))
    add_a22_columns(blocks, np.arange(blocks.g.size), out)
    return (out + out.T) / 2.0


def a22_diagonal_and_sum(blocks: PrunedBlocks) -> tuple[np.ndarray, float]:
    """(diag A22 = 1 + F of the genotyped, 1'A22 1 by one Colleau product)."""
    ped, g = blocks.ped, blocks.g
    x = np.zeros((ped.n, 1))
    x[g, 0] = 1.0
    _colleau(ped.sire, ped.dam, ped.dii, x)
    return 1.0 + ped.inbreeding.to_numpy()[g], float(x[g, 0].sum())


class A22Inverse:
    """A22^-1 as an operator: ``apply(X)`` = A^22 X - A^21 (A^11)^-1 A^12 X (X in genotype order) with one
    sparse Cholesky factorization of A^11 of the pruned pedigree; ``logdet`` = log|A22| (|A^-1| = |A^11|
    |A22^-1|); ``dense()`` = A22^-1; ``diagonal_bound()`` = diag(A^22) >= diag(A22^-1)."""

    def __init__(self, blocks: PrunedBlocks):
        A, g, o = blocks.Ainv, blocks.g, blocks.other
        self.A22 = sp.csr_matrix(A[g][:, g])
        self.factor = None
        self.logdet = float(blocks.logdet_a)
        if o.size:
            self.A12 = sp.csr_matrix(A[o][:, g])
            self.A21 = sp.csr_matrix(self.A12.T)
            self.factor = _factor(A[o][:, o])
            self.logdet += self.factor.logdet()

    def apply(self, X: np.ndarray) -> np.ndarray:
        """A22^-1 X for X of shape (n2,) or (n2, k)."""
        out = self.A22 @ X
        if self.factor is not None:
            out -= self.A21 @ self.factor.solve(self.A12 @ X)
        return out

    def diagonal_bound(self) -> np.ndarray:
        """diag(A^22), an upper bound of diag(A22^-1) (exact where no genotyped animal has a relative
        outside the genotyped in A^-1): the exact diagonal needs a selected inverse of A^11."""
        return self.A22.diagonal()

    def dense(self) -> np.ndarray:
        """A22^-1 dense, from the factor of A^11 (only the columns of A^12 with non-zeros take part)."""
        out = self.A22.toarray()
        if self.factor is None:
            return out
        A12 = sp.csc_matrix(self.A12)
        touched = np.flatnonzero(np.diff(A12.indptr) > 0)   # genotyped with non-genotyped relatives in A^-1
        A12t = A12[:, touched]
        A21t = sp.csr_matrix(A12t.T)
        S = np.empty((touched.size, touched.size))
        for start in range(0, touched.size, COLUMNS):
            stop = min(start + COLUMNS, touched.size)
            S[:, start:stop] = A21t @ self.factor.solve(A12t[:, start:stop].toarray())
        out[np.ix_(touched, touched)] -= (S + S.T) / 2.0
        return out


def a22_inverse(blocks: PrunedBlocks) -> tuple[np.ndarray, float]:
    """(A22^-1 dense in genotype order, log|A22|) by the Schur complement of A^11 in A^-1."""
    op = A22Inverse(blocks)
    return op.dense(), op.logdet
