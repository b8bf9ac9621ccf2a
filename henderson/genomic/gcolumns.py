"""Columns of VanRaden's G for a few animals, its diagonal and the sum of its elements, from the genotypes
without the n x n G (what APY needs: G[:, core], diag G and 1'G1 for tuning).

Method 1, G = Z Z' / (2 sum p q) with Z = M0 - 1 c' + Y (c = 2p, M0 = M with 0 at missing genotypes,
Y = c_j at the missing genotypes: missing count as their mean), so for rows a and columns b

    Z_a Z_b' = M0_a M0_b' - s_a 1' - 1 s_b' + (c'c) 1 1' + M0_a Y_b' + Y_a M0_b' - y_a 1' - 1 y_b' + Y_a Y_b'

with s = M0 c and y = Y c. M0_a M0_b' is a float32 product (exact: integer sums below 2^24, see
henderson.genomic.grm), the rest in double precision with Y sparse: the cost of the missing genotypes
is nnz(Y) times the number of columns (plus nnz(Y_b) times the rows). Method 2 scales each SNP by
1/sqrt(2 p q) and is a double-precision product.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..errors import DesignError
from .genotypes import MISSING, Genotypes
from .grm import EXACT_SNPS_FLOAT32, _check_freq

ROWS = 2048   # animals converted to floating point at a time


def _weights(p: np.ndarray, method: int) -> tuple[np.ndarray | None, float]:
    """(per-SNP weights of Z'Z or None, the divisor of G) of VanRaden's method 1 or 2."""
    pq2 = 2.0 * p * (1.0 - p)
    if method == 1:
        if pq2.sum() <= 0:
            raise DesignError("every SNP is monomorphic: 2 sum p q = 0 (no genomic relationships)")
        return None, float(pq2.sum())
    if method == 2:
        if np.any(pq2 <= 0):
            raise DesignError(f"{int((pq2 <= 0).sum())} monomorphic SNPs: VanRaden method 2 needs 0 < p < 1 "
                              f"(run quality_control first)")
        return 1.0 / pq2, float(p.size)
    raise DesignError(f"VanRaden method must be 1 or 2, got {method!r}")


def _centered(codes: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Z rows in double precision: M - c, 0 at missing genotypes."""
    Z = codes.astype(np.float64) - c
    Z[codes == MISSING] = 0.0
    return Z


def diagonal_and_sum(geno: Genotypes, p, method: int = 1) -> tuple[np.ndarray, float]:
    """(diag G, 1'G1) in one pass over blocks of animals."""
    p = _check_freq(geno, p)
    w, scale = _weights(p, method)
    c = 2.0 * p
    diag = np.empty(geno.n)
    colsum = np.zeros(geno.m)
    for r0 in range(0, geno.n, ROWS):
        Z = _centered(geno.codes[r0:r0 + ROWS], c)
        colsum += Z.sum(axis=0)
        Z *= Z
        diag[r0:r0 + ROWS] = Z.sum(axis=1) if w is None else Z @ w
    total = colsum @ colsum if w is None else (colsum * colsum) @ w
    return diag / scale, float(total) / scale


def _missing_y(codes: np.ndarray, c: np.ndarray) -> sp.csr_matrix:
    """Y: c_j at the missing genotypes (sparse, animals x SNPs), built over blocks of animals."""
    rows, cols = [], []
    for r0 in range(0, codes.shape[0], ROWS):
        r, k = np.nonzero(codes[r0:r0 + ROWS] == MISSING)
        rows.append(r + r0)
        cols.append(k)
    r, k = np.concatenate(rows), np.concatenate(cols)
    return sp.csr_matrix((c[k], (r, k)), shape=codes.shape)


def _m0_f32(codes: np.ndarray) -> np.ndarray:
    """M0 (0 at missing) as float32."""
    B = codes.astype(np.float32)
    B[B < 0] = 0.0
    return B


def _m0_times(codes: np.ndarray, rows: np.ndarray, c: np.ndarray, block: int = 256) -> np.ndarray:
    """M0[rows] c in double precision, a few rows at a time (no double copy of the rows)."""
    out = np.empty(rows.size)
    for r0 in range(0, rows.size, block):
        B = codes[rows[r0:r0 + block]].astype(np.float64)
        B[B < 0] = 0.0
        out[r0:r0 + block] = B @ c
    return out


def columns(geno: Genotypes, cols: np.ndarray, p, method: int = 1, rows: np.ndarray | None = None) -> np.ndarray:
    """G[rows, cols] (rows default: every animal, in genotype order) from the genotypes, one block of
    ROWS animals at a time: memory len(rows) x len(cols) doubles plus the float32 genotypes of ``cols``."""
    p = _check_freq(geno, p)
    w, scale = _weights(p, method)
    rows = np.arange(geno.n) if rows is None else np.asarray(rows)
    cols = np.asarray(cols)
    out = np.empty((rows.size, cols.size))
    if w is not None:
        Zb = _centered(geno.codes[cols], 2.0 * p) * w
        for r0 in range(0, rows.size, ROWS):
            out[r0:r0 + ROWS] = _centered(geno.codes[rows[r0:r0 + ROWS]], 2.0 * p) @ Zb.T
        out /= scale
        return out
    c = 2.0 * p
    Y = _missing_y(geno.codes, c)
    Yb = Y[cols]
    chunks = [slice(s, min(s + EXACT_SNPS_FLOAT32, geno.m)) for s in range(0, geno.m, EXACT_SNPS_FLOAT32)]
    Bb = [_m0_f32(geno.codes[cols, ch]) for ch in chunks]
    const = (Yb @ c) + _m0_times(geno.codes, cols, c)   # y_b + s_b
    cc = float(c @ c)
    for r0 in range(0, rows.size, ROWS):
        r = rows[r0:r0 + ROWS]
        T = np.zeros((r.size, cols.size))
        sa = _m0_times(geno.codes, r, c)
        for B, ch in zip(Bb, chunks):
            A = _m0_f32(geno.codes[r, ch])
            T += A @ B.T                     # float32 product, exact integers
            if Yb.nnz:
                T += (Yb[:, ch] @ A.T.astype(np.float64)).T
        Ya = Y[r]
        if Ya.nnz:
            T += _sparse_times_t(Ya, Bb, chunks)
            T += (Ya @ Yb.T).toarray()
            sa += Ya @ c
        T -= sa[:, None]
        T -= const[None, :]
        T += cc
        out[r0:r0 + r.size] = T / scale
    return out


def _sparse_times_t(Ya: sp.csr_matrix, Bb: list, chunks: list, block: int = 4096) -> np.ndarray:
    """Ya M0_b' in double precision, over blocks of SNPs (no double copy of the whole M0_b)."""
    out = np.zeros((Ya.shape[0], Bb[0].shape[0]))
    for B, ch in zip(Bb, chunks):
        for s in range(0, B.shape[1], block):
            sub = Ya[:, ch.start + s:ch.start + s + block]
            if sub.nnz:
                out += sub @ B[:, s:s + block].T.astype(np.float64)
    return out
