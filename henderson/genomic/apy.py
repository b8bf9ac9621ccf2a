"""APY inverse of Gw held as its factors, built from the genotypes and the pedigree without any n x n matrix.

Gw = a 1 1' + b ((1 - w) G + w A22 + r I) (blending weight w, ridge r, tuning a, b: as
henderson.genomic.relationship builds it densely). With core animals c and the others n,

    Gw_APY^-1 = [Gcc^-1 + P' M^-1 P, -P' M^-1; -M^-1 P, M^-1],  P = Gnc Gcc^-1,
    M = diag(g_ii - g_ic Gcc^-1 g_ci)

(henderson.genomic.inverse.apy_inverse), which needs only Gw[:, core] (G columns from the genotypes,
A22 columns by Colleau's products), diag Gw, and for tuning 1'G1 and 1'A22 1. Stored: Gcc^-1 (c x c),
P (n x c, in the array that held Gnc) and M^-1: with 50,000 genotyped and 10,000 core, 4 GB of doubles.
G_APY^-1 x then costs two products with P and one with Gcc^-1, and log|G_APY| = log|Gcc| + sum log m_i.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DesignError, NotPositiveDefiniteError
from ..jitnotice import njit
from . import gcolumns, pedblocks
from .inverse import cholesky_inverse

ROWS = 4096   # rows of P formed at a time


@dataclass(frozen=True, eq=False)
class APYFactors:
    """Gw_APY^-1 as factors: ``core`` and ``non`` (genotype positions), Gcc^-1, P = Gnc Gcc^-1, M^-1,
    log|Gw_APY|, and the tuning (a, b) if tuned."""

    core: np.ndarray
    non: np.ndarray
    Gcc_inv: np.ndarray
    P: np.ndarray
    minv: np.ndarray
    logdet: float
    tuning: tuple[float, float] | None

    @property
    def n(self) -> int:
        return self.core.size + self.non.size

    def apply(self, X: np.ndarray) -> np.ndarray:
        """Gw_APY^-1 X (rows of X in genotype order); for a vector, one pass over P (_p_both)."""
        X = np.asarray(X, dtype=np.float64)
        Xc, Xn = X[self.core], X[self.non]
        out = np.empty_like(X)
        if X.ndim == 1:
            W, PtW = np.empty(self.non.size), np.empty(self.core.size)
            _p_both(self.P, self.minv, Xc, Xn, W, PtW)
        else:
            W = (self.P @ Xc - Xn) * self.minv[:, None]
            PtW = self.P.T @ W
        out[self.core] = self.Gcc_inv @ Xc + PtW
        out[self.non] = -W
        return out

    def diagonal(self) -> np.ndarray:
        """diag Gw_APY^-1."""
        out = np.empty(self.n)
        out[self.core] = np.diag(self.Gcc_inv) + np.einsum("ij,ij,i->j", self.P, self.P, self.minv)
        out[self.non] = self.minv
        return out

    def dense(self) -> np.ndarray:
        """Gw_APY^-1 as a dense n x n array (as apy_inverse returns it)."""
        return self.apply(np.eye(self.n))


@njit(cache=True, fastmath=True)
def _p_both(P, minv, xc, xn, w, ptw):
    """w = M^-1 (P xc - xn) and ptw = P'w in one pass over the rows of P (each row read once, used twice
    while in cache: a quarter faster than two BLAS matrix-vector products, which read P twice)."""
    ptw[:] = 0.0
    for i in range(P.shape[0]):
        row = P[i]
        s = 0.0
        for j in range(row.shape[0]):
            s += row[j] * xc[j]
        wi = minv[i] * (s - xn[i])
        w[i] = wi
        for j in range(row.shape[0]):
            ptw[j] += wi * row[j]


def _tuning(diag_g, sum_g, diag_a, sum_a, blend, ridge, tune) -> tuple[float, float]:
    """(a, b) with Gw = a + b ((1 - w) G + w A22 + r I) matching the mean diagonal and mean element of
    A22 when tuned (grm.tune), (0, 1) otherwise."""
    if not tune:
        return 0.0, 1.0
    n = diag_g.size
    dg = np.mean((1 - blend) * diag_g + blend * diag_a) + ridge
    og = ((1 - blend) * sum_g + blend * sum_a + ridge * n) / (n * n)
    da, oa = float(np.mean(diag_a)), sum_a / (n * n)
    b = (da - oa) / (dg - og)
    return float(oa - b * og), float(b)


def apy_factors(geno, freq, method, blocks, core, blend=0.0, ridge=0.0, tune=False) -> APYFactors:
    """The APY factors of Gw for core positions ``core`` (genotype order); ``blocks`` the pruned pedigree
    blocks (henderson.genomic.pedblocks) or None (blending with I, no tuning)."""
    n = geno.n
    core = np.asarray(core, dtype=np.int64)
    if core.size == 0 or np.unique(core).size != core.size or core.min() < 0 or core.max() >= n:
        raise DesignError(f"APY core must be distinct positions among the {n} genotyped animals")
    non = np.setdiff1d(np.arange(n), core)
    if tune and blocks is None:
        raise DesignError("tune=True matches G to A22 and needs a pedigree")
    diag_g, sum_g = gcolumns.diagonal_and_sum(geno, freq, method)
    if blocks is not None and (blend > 0 or tune):
        diag_a, sum_a = pedblocks.a22_diagonal_and_sum(blocks)
    else:
        diag_a, sum_a = np.ones(n), float(n)
    a, b = _tuning(diag_g, sum_g, diag_a, sum_a, blend, ridge, tune)
    rows = np.concatenate([core, non])
    C = gcolumns.columns(geno, core, freq, method, rows=rows)      # Gw[core + non, core], in place below
    C *= b * (1.0 - blend)
    if blend > 0 and blocks is not None:
        pedblocks.add_a22_columns(blocks, core, C, b * blend, rows=rows)
    elif blend > 0:
        C[np.arange(core.size), np.arange(core.size)] += b * blend
    C[np.arange(core.size), np.arange(core.size)] += b * ridge
    C += a
    diag_w = a + b * ((1 - blend) * diag_g + blend * diag_a + ridge)
    return _factors(C, core, non, diag_w[non], (a, b) if tune else None)


def _factors(C: np.ndarray, core, non, diag_n, tuning) -> APYFactors:
    """Gcc^-1, and P = Gnc Gcc^-1 overwriting Gnc block by block, with m = diag - rowsum(P o Gnc)."""
    k = core.size
    Gcc_inv, logdet_cc = cholesky_inverse(np.ascontiguousarray(C[:k]), "G of the APY core animals")
    m = np.empty(non.size)
    for r0 in range(0, non.size, ROWS):
        blk = C[k + r0:k + r0 + ROWS]
        Pb = blk @ Gcc_inv
        m[r0:r0 + blk.shape[0]] = diag_n[r0:r0 + blk.shape[0]] - np.einsum("ij,ij->i", Pb, blk)
        blk[:] = Pb
    if np.any(m <= 0):
        raise NotPositiveDefiniteError(f"APY: {int((m <= 0).sum())} non-core animals are fully determined by "
                                       f"the core (g_ii - g_ic Gcc^-1 g_ci <= 0); blend G or change the core")
    return APYFactors(core, non, Gcc_inv, C[k:], 1.0 / m, logdet_cc + float(np.sum(np.log(m))), tuning)
