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
from scipy.linalg import blas

from ..errors import DesignError
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


def _syrk_f32(codes: np.ndarray, start: int, stop: int, C: np.ndarray) -> None:
    """C += M0 M0' over SNPs start:stop (lower triangle), exact integers in float32."""
    block = codes[:, start:stop].astype(np.float32)
    block[block < 0] = 0.0
    blas.ssyrk(1.0, block, beta=1.0, c=C, lower=1, overwrite_c=1)


def _m0m0t(codes: np.ndarray) -> np.ndarray:
    """M0 M0' (float64, full symmetric) by exact single-precision blocks."""
    n, m = codes.shape
    total = np.zeros((n, n), dtype=np.float64)
    C = np.zeros((n, n), dtype=np.float32, order="F")
    done = 0
    for start in range(0, m, BLOCK):
        stop = min(start + BLOCK, m)
        if stop - done > EXACT_SNPS_FLOAT32:
            total += C
            C[:] = 0.0
            done = start
        _syrk_f32(codes, start, stop, C)
    total += C
    del C
    lower = np.tril(total, -1)
    total += lower.T
    return total


def _missing_indicator(codes: np.ndarray) -> sp.csr_matrix:
    rows, cols = np.nonzero(codes == MISSING)
    return sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=codes.shape)


def centered_crossproduct(geno: Genotypes, p: np.ndarray) -> np.ndarray:
    """Z Z' with Z = K o (M - 1 c'), c = 2p, K the indicator of called genotypes (missing at their mean).

    Z = M0 - K diag(c) with K = 1 1' - Mis, so
    Z Z' = M0 M0' - M0 c 1' - 1 c'M0' + Mis diag(c) M0' + M0 diag(c) Mis' + K diag(c^2) K'.
    """
    codes = geno.codes
    c = 2.0 * p
    ZZ = _m0m0t(codes)
    M0c = np.zeros(geno.n)
    for start in range(0, geno.m, BLOCK):
        block = codes[:, start:start + BLOCK].astype(np.float64)
        block[block < 0] = 0.0
        M0c += block @ c[start:start + BLOCK]
    ZZ -= M0c[:, None]
    ZZ -= M0c[None, :]
    ZZ += c @ c
    Mis = _missing_indicator(codes)
    if Mis.nnz:
        MisC = Mis @ sp.diags(c)                          # n x m sparse
        cross = np.zeros((geno.n, geno.n))
        for start in range(0, geno.m, BLOCK):
            block = codes[:, start:start + BLOCK].astype(np.float64)
            block[block < 0] = 0.0
            cross += (MisC[:, start:start + BLOCK] @ block.T)
        ZZ += cross + cross.T
        mc2 = Mis @ (c * c)
        ZZ -= mc2[:, None]
        ZZ -= mc2[None, :]
        ZZ += (MisC @ MisC.T).toarray()
    return ZZ


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
        G = np.tril(G) + np.tril(G, -1).T
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
