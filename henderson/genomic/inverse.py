"""Inverses of G: dense by LAPACK's Cholesky (dpotrf/dpotri, threaded BLAS), and APY (Misztal 2014).

APY with core animals c and the others n: G_APY^-1 = [Gcc^-1 + P' Mnn^-1 P, -P' Mnn^-1; -Mnn^-1 P, Mnn^-1]
with P = Gnc Gcc^-1 and Mnn = diag(g_ii - g_ic Gcc^-1 g_ci): it costs one dense inverse of Gcc and products
with Gnc, and needs Gcc (c^2), Gnc (n c) and diag(Gnn) only. With every animal core it is G^-1 itself.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import lapack

from ..errors import DesignError, NotPositiveDefiniteError
from .grm import symmetrize_lower

SINGULAR = 1e-10  # a Cholesky pivot below this times max(diag G): G is singular in double precision


def cholesky_inverse(G: np.ndarray, what: str = "G", hint: str = "") -> tuple[np.ndarray, float]:
    """(G^-1, log|G|) by Cholesky; NotPositiveDefiniteError naming ``what`` (and ``hint``) if G is not PD."""
    L, info = lapack.dpotrf(G, lower=1, clean=0, overwrite_a=0)
    if info > 0:
        raise NotPositiveDefiniteError(f"{what} is not positive definite (leading minor {info} of "
                                       f"{G.shape[0]} is not positive){hint}")
    pivots = np.diag(L) ** 2
    if info == 0 and pivots.size and pivots.min() <= SINGULAR * np.max(np.diag(G)):
        k = int(np.argmin(pivots))
        raise NotPositiveDefiniteError(f"{what} is numerically singular (pivot {k} of {G.shape[0]} is "
                                       f"{pivots[k] / np.max(np.diag(G)):.3g} x its largest diagonal){hint}")
    if info < 0:
        raise ValueError(f"dpotrf: illegal argument {-info}")
    logdet = 2.0 * float(np.sum(np.log(np.diag(L))))
    inv, info = lapack.dpotri(L, lower=1, overwrite_c=1)
    if info != 0:
        raise NotPositiveDefiniteError(f"{what} is singular (dpotri info {info}){hint}")
    return symmetrize_lower(inv), logdet


def apy_inverse(G: np.ndarray, core: np.ndarray, what: str = "G") -> tuple[np.ndarray, float]:
    """(G_APY^-1 in the order of G, log|G_APY|) for core positions ``core``."""
    n = G.shape[0]
    core = np.asarray(core, dtype=np.int64)
    if core.size == 0 or np.unique(core).size != core.size or core.min() < 0 or core.max() >= n:
        raise DesignError(f"APY core must be distinct positions among the {n} genotyped animals")
    non = np.setdiff1d(np.arange(n), core)
    Gcc_inv, logdet_cc = cholesky_inverse(G[np.ix_(core, core)], f"{what} of the APY core animals")
    Gnc = G[np.ix_(non, core)]
    P = Gnc @ Gcc_inv
    m = np.diag(G)[non] - np.einsum("ij,ij->i", P, Gnc)
    if np.any(m <= 0):
        raise NotPositiveDefiniteError(f"APY: {int((m <= 0).sum())} non-core animals are fully determined by "
                                       f"the core (g_ii - g_ic Gcc^-1 g_ci <= 0); blend G or change the core")
    minv = 1.0 / m
    out = np.empty((n, n))
    out[np.ix_(core, core)] = Gcc_inv + (P.T * minv) @ P
    cross = -(P * minv[:, None])
    out[np.ix_(non, core)] = cross
    out[np.ix_(core, non)] = cross.T
    out[np.ix_(non, non)] = np.diag(minv)
    return out, logdet_cc + float(np.sum(np.log(m)))


def choose_core(n: int, core, seed: int = 0) -> np.ndarray:
    """Core positions: given positions, or a number of animals drawn at random (seeded)."""
    if isinstance(core, (int, np.integer)):
        if not 0 < core <= n:
            raise DesignError(f"APY core size must be between 1 and {n}, got {core}")
        return np.sort(np.random.default_rng(seed).choice(n, size=int(core), replace=False))
    return np.asarray(core, dtype=np.int64)
