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


def a22(blocks: PrunedBlocks) -> np.ndarray:
    """Dense A22 (genotype order) by Colleau's products A E_2 with the pruned pedigree, in blocks of columns."""
    ped, g = blocks.ped, blocks.g
    out = np.empty((g.size, g.size))
    for start in range(0, g.size, COLUMNS):
        cols = g[start:start + COLUMNS]
        X = np.zeros((ped.n, cols.size))
        X[cols, np.arange(cols.size)] = 1.0
        _colleau(ped.sire, ped.dam, ped.dii, X)
        out[:, start:start + cols.size] = X[g]
    return (out + out.T) / 2.0


def a22_inverse(blocks: PrunedBlocks) -> tuple[np.ndarray, float]:
    """(A22^-1 dense in genotype order, log|A22|) by the Schur complement of A^11 in A^-1."""
    A = blocks.Ainv
    g, o = blocks.g, blocks.other
    A22inv = A[g][:, g].toarray()
    if o.size == 0:
        return A22inv, float(blocks.logdet_a)
    A11 = A[o][:, o]
    A12 = sp.csc_matrix(A[o][:, g])
    f = _factor(A11)
    touched = np.flatnonzero(np.diff(A12.indptr) > 0)   # genotyped animals with non-genotyped relatives in A^-1
    A12t = A12[:, touched]
    A21t = sp.csr_matrix(A12t.T)
    S = np.empty((touched.size, touched.size))
    for start in range(0, touched.size, COLUMNS):
        stop = min(start + COLUMNS, touched.size)
        X = f.solve(A12t[:, start:stop].toarray())
        S[:, start:stop] = A21t @ X
    A22inv[np.ix_(touched, touched)] -= (S + S.T) / 2.0
    logdet_a22 = blocks.logdet_a + f.logdet()   # |A^-1| = |A^11| |A22^-1|
    return A22inv, float(logdet_a22)
