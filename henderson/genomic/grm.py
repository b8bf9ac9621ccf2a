"""Genomic relationship matrices G (VanRaden 2008, methods 1 and 2), blending with A22 and tuning to A22.

Method 1, G = Z Z' / (2 sum_j p_j q_j) with Z = M - 2p (missing genotypes at their mean, Z = 0), is
computed as M0 M0' in single precision plus rank-one and missing-genotype corrections in double
precision (M0 = M with 0 at missing genotypes). M0 M0' is exact in float32: its entries are sums of
products in {0, 1, 2, 4}, so every partial sum, in whatever order BLAS adds (blocked, threaded, fused
multiply-add), is an integer of at most 4 m; float32 holds every integer up to 2^24 exactly, so no
rounding happens while m <= 2^22 (4,194,304 SNPs; beyond, the float32 sum is handed to float64 every
2^22 SNPs). Single precision thus costs no accuracy here and runs about twice as fast as double.
Method 2 scales each column by 1/sqrt(2 p q) and is accumulated in double precision over blocks of SNPs.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import blas

from ..errors import DesignError
from . import grmkernels as kernels
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


def _blocks(codes: np.ndarray, c: np.ndarray, m0c: np.ndarray):
    """(start, T8, B32) over blocks of BLOCK SNPs (see grmkernels.block_transpose; m0c accumulates M0 c).
    The two block buffers are reused: each yielded block is valid until the next one."""
    n, m = codes.shape
    T8 = np.empty((min(BLOCK, m), n), dtype=np.int8)
    B32 = np.empty((min(BLOCK, m), n), dtype=np.float32)
    for start in range(0, m, BLOCK):
        stop = min(start + BLOCK, m)
        t8, b32 = T8[: stop - start], B32[: stop - start]
        kernels.block_transpose(codes, start, stop, c, t8, b32, m0c)
        yield start, t8, b32


def centered_crossproduct(geno: Genotypes, p: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Z Z' / scale with Z = K o (M - 1 c'), c = 2p, K the indicator of called genotypes (missing at
    their mean).

    Z = M0 - K diag(c) with K = 1 1' - Mis, so
    Z Z' = M0 M0' + X + X' + Mis diag(c^2) Mis' - d 1' - 1 d' + (c'c) 1 1',
    X = Mis diag(c) M0', d = M0 c + Mis c^2.
    One pass over blocks of SNPs, each transposed from the int8 codes into int8 and float32 buffers
    (no float copy of the whole matrix): M0 M0' by ssyrk in float32 (exact integers: see the module
    docstring; handed to float64 every EXACT_SNPS_FLOAT32 SNPs), M0 c in float64, and Y with
    Y + Y' = X + X' + Mis diag(c^2) Mis' by a parallel kernel over the missing genotypes (nnz(Mis) n
    multiply-adds, in float64). Then one parallel pass assembles the symmetric result in place.
    Memory: n^2 doubles (the result) + n^2 singles + two blocks (5 BLOCK n bytes).
    """
    codes = geno.codes
    n, m = codes.shape
    c = 2.0 * p
    total = np.zeros((n, n))             # Y during the loop, then the result
    C = np.zeros((n, n), dtype=np.float32, order="F")
    m0c = np.zeros(n)
    indptr, indices = kernels.missing_rows(codes)
    cursor = indptr[:-1].copy()
    done = 0
    for start, T8, B32 in _blocks(codes, c, m0c):
        if start + B32.shape[0] - done > EXACT_SNPS_FLOAT32:
            kernels.flush_lower(total, C)
            done = start
        blas.ssyrk(1.0, B32.T, beta=1.0, c=C, trans=0, lower=1, overwrite_c=1)
        if indices.size:
            kernels.missing_cross(T8, start, indptr, indices, cursor, c, total)
    d = m0c + kernels.missing_squares(indptr, indices, c)
    kernels.assemble(total, C, d, float(c @ c), float(scale))
    return total


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
    for _, _, B32 in _blocks(codes, np.zeros(m), np.zeros(n)):
        blas.ssyrk(1.0, B32.T, beta=1.0, c=C, trans=0, lower=1, overwrite_c=1)
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
        return centered_crossproduct(geno, p, scale)
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
