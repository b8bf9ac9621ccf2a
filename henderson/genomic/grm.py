"""Genomic relationship matrices G (VanRaden 2008, methods 1 and 2), blending with A22 and tuning to A22.

Method 1, G = Z Z' / (2 sum_j p_j q_j) with Z = M - 2p (missing genotypes at their mean, Z = 0), is
computed as M0 M0' in single precision plus rank-one and sparse corrections in double precision
(M0 = M with 0 at missing genotypes). M0 M0' is exact in float32: its entries are integer sums of
products in {0, 1, 2, 4}, so every partial sum is an integer below 4 m, exactly representable while
m < 2^22 (4,194,304 SNPs per block; blocks are summed in float64). Single precision thus costs no
accuracy here and runs about twice as fast as double. Method 2 scales each column by 1/sqrt(2 p q)
and is accumulated in double precision over blocks of SNPs.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numba import prange
from scipy.linalg import blas

from ..errors import DesignError
from ..jitnotice import njit
from .genotypes import MISSING, Genotypes

EXACT_SNPS_FLOAT32 = 2**22  # m below this: integer sums of M0 M0' are exact in float32
BLOCK = 4096                # SNPs converted to float at a time


def allele_frequencies(geno: Genotypes) -> np.ndarray:
    """p_j = (mean allele count over animals with a call) / 2; NaN for a SNP without calls."""
    called = (geno.codes != MISSING).sum(axis=0)
    total = np.where(geno.codes == MISSING, 0, geno.codes).sum(axis=0, dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / (2.0 * called)


def _check_freq(geno: Genotypes, p) -> np.ndarray:
    p = allele_frequencies(geno) if p is None else np.asarray(p, dtype=float)
    if p.shape != (geno.m,):
        raise DesignError(f"allele frequencies must give one value per SNP ({geno.m}), got shape {p.shape}")
    if np.any(np.isnan(p)) or np.any((p < 0) | (p > 1)):
        raise DesignError("allele frequencies must lie in [0, 1] (a SNP has no calls: run quality_control first)")
    return p


def _missing_indicator(codes: np.ndarray) -> sp.csr_matrix:
    """Mis: 1 where a genotype is missing (sparse, animals x SNPs)."""
    rows, cols = np.nonzero(codes == MISSING)
    return sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=codes.shape)


@njit(cache=True, parallel=True)
def _missing_cross(BT: np.ndarray, rowptr: np.ndarray, cols: np.ndarray, c: np.ndarray, out: np.ndarray) -> None:
    """out[i, :] += sum over the missing SNPs j of animal i (cols[rowptr[i]:rowptr[i+1]], block positions)
    of c_j M0[:, j]; BT is the block of M0 transposed (SNPs x animals, C order: each SNP contiguous)."""
    n = out.shape[0]
    for i in prange(n):
        for k in range(rowptr[i], rowptr[i + 1]):
            j = cols[k]
            cj = c[j]
            for a in range(n):
                out[i, a] += cj * BT[j, a]


def _block_f32(codes: np.ndarray, start: int, stop: int) -> np.ndarray:
    """SNPs start:stop of M0 (0 at missing) as float32, SNPs x animals in Fortran order (each animal's
    SNPs contiguous: what ssyrk takes without a copy)."""
    BT = codes[:, start:stop].T.astype(np.float32)
    BT[BT < 0] = 0.0
    return BT


def centered_crossproduct(geno: Genotypes, p: np.ndarray) -> np.ndarray:
    """Z Z' with Z = K o (M - 1 c'), c = 2p, K the indicator of called genotypes (missing at their mean).

    Z = M0 - K diag(c) with K = 1 1' - Mis, so
    Z Z' = M0 M0' - M0 c 1' - 1 c'M0' + X + X' + K diag(c^2) K' with X = Mis diag(c) M0',
    K diag(c^2) K' = (c'c) 1 1' - 1 (Mis c^2)' - (Mis c^2) 1' + Mis diag(c^2) Mis'.
    One pass over blocks of SNPs: M0 M0' by ssyrk in float32 (exact integers, see the module docstring,
    summed in float64 every EXACT_SNPS_FLOAT32 SNPs), M0 c in float64, X by a parallel kernel over the
    missing genotypes into the same float64 array. Memory: n^2 doubles + n^2 singles + one block.
    """
    codes = geno.codes
    n, m = codes.shape
    c = 2.0 * p
    total = np.zeros((n, n))             # X (full) during the loop, then + lower(M0 M0')
    C = np.zeros((n, n), dtype=np.float32, order="F")
    M0c = np.zeros(n)
    diag = np.zeros(n)                   # diagonal of M0 M0'
    Mis = _missing_indicator(codes)
    done = 0
    for start in range(0, m, BLOCK):
        stop = min(start + BLOCK, m)
        if stop - done > EXACT_SNPS_FLOAT32:
            diag += np.diag(C)
            total += C
            C[:] = 0.0
            done = start
        BT = _block_f32(codes, start, stop)
        blas.ssyrk(1.0, BT, beta=1.0, c=C, trans=1, lower=1, overwrite_c=1)
        M0c += c[start:stop] @ BT.astype(np.float64)
        if Mis.nnz:
            sub = Mis[:, start:stop].tocsr()
            _missing_cross(np.ascontiguousarray(BT), sub.indptr.astype(np.int64), sub.indices.astype(np.int64),
                           c[start:stop].astype(np.float64), total)
    diag += np.diag(C)
    total += C
    del C
    ZZ = symmetric_sum(total)              # lower(M0M0') + its transpose + X + X': the diagonal twice
    ZZ[np.diag_indices(n)] -= diag
    ZZ -= M0c[:, None]
    ZZ -= M0c[None, :]
    ZZ += c @ c
    if Mis.nnz:
        mc2 = Mis @ (c * c)
        ZZ -= mc2[:, None]
        ZZ -= mc2[None, :]
        MisC = Mis @ sp.diags(c)
        S = (MisC @ MisC.T).tocoo()
        ZZ[S.row, S.col] += S.data
    return ZZ


def symmetric_sum(A: np.ndarray, block: int = 2048) -> np.ndarray:
    """A + A' in place, by blocks (no n x n temporary)."""
    n = A.shape[0]
    for i0 in range(0, n, block):
        i1 = min(i0 + block, n)
        A[i0:i1, i0:i1] += A[i0:i1, i0:i1].T.copy()
        for j0 in range(i1, n, block):
            j1 = min(j0 + block, n)
            s = A[i0:i1, j0:j1] + A[j0:j1, i0:i1].T
            A[i0:i1, j0:j1] = s
            A[j0:j1, i0:i1] = s.T
    return A


def symmetrize_lower(A: np.ndarray, block: int = 2048) -> np.ndarray:
    """A with its strict upper triangle overwritten by the lower one, in place (blocks: no n x n temporary)."""
    n = A.shape[0]
    for i0 in range(0, n, block):
        i1 = min(i0 + block, n)
        A[i0:i1, i0:i1] = np.tril(A[i0:i1, i0:i1]) + np.tril(A[i0:i1, i0:i1], -1).T
        A[i0:i1, i1:] = A[i1:, i0:i1].T
    return A


def m0m0t(codes: np.ndarray) -> np.ndarray:
    """M0 M0' (float64) by the same exact float32 blocks (for checks and benchmarks)."""
    n, m = codes.shape
    C = np.zeros((n, n), dtype=np.float32, order="F")
    for start in range(0, m, BLOCK):
        blas.ssyrk(1.0, _block_f32(codes, start, min(start + BLOCK, m)), beta=1.0, c=C, trans=1, lower=1,
                   overwrite_c=1)
    return symmetrize_lower(C.astype(np.float64))


def vanraden(geno: Genotypes, method: int = 1, p=None) -> np.ndarray:
    """VanRaden's G: method 1, Z Z' / (2 sum p q); method 2, (1/m) sum_j z_ij z_kj / (2 p_j q_j).

    p: allele frequencies (default: from the genotyped animals). Missing genotypes count as their mean."""
    p = _check_freq(geno, p)
    pq2 = 2.0 * p * (1.0 - p)
    if method == 1:
        scale = pq2.sum()
        if scale <= 0:
            raise DesignError("every SNP is monomorphic: 2 sum p q = 0 (no genomic relationships)")
        return centered_crossproduct(geno, p) / scale
    if method == 2:
        if np.any(pq2 <= 0):
            raise DesignError(f"{int((pq2 <= 0).sum())} monomorphic SNPs: VanRaden method 2 needs 0 < p < 1 "
                              f"(run quality_control first)")
        G = np.zeros((geno.n, geno.n), order="F")
        w = 1.0 / np.sqrt(pq2)
        for start in range(0, geno.m, BLOCK):
            stop = min(start + BLOCK, geno.m)
            block = geno.codes[:, start:stop].astype(np.float64)
            block -= 2.0 * p[start:stop]
            block[geno.codes[:, start:stop] == MISSING] = 0.0
            block *= w[start:stop]
            blas.dsyrk(1.0, block, beta=1.0, c=G, lower=1, overwrite_c=1)
        G = symmetrize_lower(G)
        return G / geno.m
    raise DesignError(f"VanRaden method must be 1 or 2, got {method!r}")


def blend(G: np.ndarray, A22: np.ndarray | None, weight: float) -> np.ndarray:
    """(1 - weight) G + weight A22 (A22 = I when no pedigree is given)."""
    if not 0.0 <= weight < 1.0:
        raise DesignError(f"blend must lie in [0, 1), got {weight}")
    if weight == 0.0:
        return G
    out = (1.0 - weight) * G
    if A22 is None:
        out[np.diag_indices_from(out)] += weight
    else:
        out += weight * A22
    return out


def tune(G: np.ndarray, A22: np.ndarray) -> tuple[np.ndarray, float, float]:
    """a + b G with mean diagonal and mean of all elements equal to those of A22 (Chen et al. 2011,
    BLUPF90's tunedG 2); returns (tuned G, a, b)."""
    dg, og = np.mean(np.diag(G)), G.mean()
    da, oa = np.mean(np.diag(A22)), A22.mean()
    b = (da - oa) / (dg - og)
    a = oa - b * og
    return a + b * G, float(a), float(b)
