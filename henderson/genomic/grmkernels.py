"""Parallel kernels of VanRaden's G (henderson.genomic.grm): blocks of SNPs transposed from the int8
genotypes, the missing-genotype cross products, and the final symmetric assembly, all in place.

Layout: ``codes`` is animals x SNPs (C order, int8, -1 missing). A block of b SNPs is turned into
``T8`` (b x n int8, each SNP's animals contiguous) and ``B32`` (the same with 0 at missing, float32),
whose transpose (n x b, Fortran order) ssyrk takes without a copy.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from ..jitnotice import njit

TILE = 64  # animals (and SNPs) per tile: a tile of T8 rows stays in cache while it is reused


@njit(cache=True, parallel=True)
def block_transpose(codes, start, stop, c, T8, B32, m0c):
    """T8[j, a] = codes[a, start + j]; B32[j, a] = max(T8[j, a], 0) as float32; m0c[a] += sum over the
    block of c[start + j] B32[j, a] (float64). Parallel over tiles of animals (each owns its m0c)."""
    n = codes.shape[0]
    b = stop - start
    for t in prange((n + TILE - 1) // TILE):
        a0 = t * TILE
        a1 = min(a0 + TILE, n)
        for j0 in range(0, b, TILE):
            j1 = min(j0 + TILE, b)
            for a in range(a0, a1):
                acc = 0.0
                for j in range(j0, j1):
                    v = codes[a, start + j]
                    T8[j, a] = v
                    x = v if v > 0 else 0
                    B32[j, a] = x
                    acc += c[start + j] * x
                m0c[a] += acc


@njit(cache=True, parallel=True)
def missing_rows(codes):
    """(indptr, indices): the missing genotypes by animal (CSR pattern); indices[indptr[i]:indptr[i+1]]
    are the SNPs (increasing) where animal i has no call."""
    n, m = codes.shape
    counts = np.zeros(n, np.int64)
    for i in prange(n):
        k = 0
        for j in range(m):
            if codes[i, j] < 0:
                k += 1
        counts[i] = k
    indptr = np.zeros(n + 1, np.int64)
    indptr[1:] = np.cumsum(counts)
    indices = np.empty(indptr[n], np.int64)
    for i in prange(n):
        k = indptr[i]
        for j in range(m):
            if codes[i, j] < 0:
                indices[k] = j
                k += 1
    return indptr, indices


@njit(cache=True, parallel=True, fastmath=True, error_model="numpy")
def missing_cross(T8, start, indptr, indices, cursor, c, out):
    """out[i, a] += sum over the SNPs j of the block where animal i is missing of c_j w_aj, with
    w_aj = M0[a, j] where animal a has a call and c_j / 2 where it has none; ``cursor[i]`` (the first
    entry of animal i not yet used) is moved past the block. Summed over all blocks, out = Y with
    Y + Y' = X + X' + Mis diag(c^2) Mis' (X = Mis diag(c) M0'; see grm.centered_crossproduct).
    Parallel over tiles of TILE animals a: the tile's w (b x TILE doubles) stays in cache for every i,
    whose missing SNPs are taken four at a time (fewer passes over its TILE sums)."""
    b, n = T8.shape
    stop = start + b
    hi = np.empty(n, np.int64)
    for i in prange(n):
        k = cursor[i]
        e = indptr[i + 1]
        while k < e and indices[k] < stop:
            k += 1
        hi[i] = k
    for t in prange((n + TILE - 1) // TILE):
        a0 = t * TILE
        w = min(TILE, n - a0)
        W = np.zeros((b, TILE))
        for r in range(b):
            half = 0.5 * c[start + r]
            for a in range(w):
                v = T8[r, a0 + a]
                W[r, a] = np.float64(v) if v >= 0 else half
        acc = np.empty(TILE)
        for i in range(n):
            k = cursor[i]
            if k == hi[i]:
                continue
            for a in range(TILE):
                acc[a] = 0.0
            while k + 3 < hi[i]:
                j1, j2, j3, j4 = indices[k], indices[k + 1], indices[k + 2], indices[k + 3]
                c1, c2, c3, c4 = c[j1], c[j2], c[j3], c[j4]
                r1, r2, r3, r4 = j1 - start, j2 - start, j3 - start, j4 - start
                for a in range(TILE):
                    acc[a] += c1 * W[r1, a] + c2 * W[r2, a] + c3 * W[r3, a] + c4 * W[r4, a]
                k += 4
            while k < hi[i]:
                j1 = indices[k]
                c1 = c[j1]
                r1 = j1 - start
                for a in range(TILE):
                    acc[a] += c1 * W[r1, a]
                k += 1
            for a in range(w):
                out[i, a0 + a] += acc[a]
    for i in prange(n):
        cursor[i] = hi[i]


@njit(cache=True)
def missing_squares(indptr, indices, c):
    """(Mis c^2)_i = sum of c_j^2 over the SNPs j where animal i has no call."""
    n = indptr.size - 1
    out = np.zeros(n)
    for i in range(n):
        for k in range(indptr[i], indptr[i + 1]):
            out[i] += c[indices[k]] ** 2
    return out


@njit(cache=True, parallel=True)
def flush_lower(total, C):
    """total[i, k] += C[i, k] for i > k and C[i, i] / 2 on the diagonal (so that total + total' gets C
    once), then C = 0: the float32 sum handed to float64 before it could leave the exact range."""
    n = total.shape[0]
    for k in prange(n):
        total[k, k] += 0.5 * C[k, k]
        C[k, k] = 0.0
        for i in range(k + 1, n):
            total[i, k] += C[i, k]
            C[i, k] = 0.0


@njit(cache=True, parallel=True)
def assemble(total, C, d, cc, scale):
    """total <- (C + total + total' - d 1' - 1 d' + cc) / scale, symmetric, in place; C holds the
    lower triangle (with the diagonal) of the float32 product, its upper triangle is ignored. Parallel
    over pairs of tiles (i tile >= k tile), each pair of entries (i, k), (k, i) written by one thread."""
    n = total.shape[0]
    nt = (n + TILE - 1) // TILE
    for q in prange(nt * (nt + 1) // 2):
        ti = int((np.sqrt(8.0 * q + 1.0) - 1.0) / 2.0)
        while ti * (ti + 1) // 2 > q:
            ti -= 1
        while (ti + 1) * (ti + 2) // 2 <= q:
            ti += 1
        tk = q - ti * (ti + 1) // 2
        for i in range(ti * TILE, min(ti * TILE + TILE, n)):
            for k in range(tk * TILE, min(tk * TILE + TILE, i + 1)):
                v = (C[i, k] + total[i, k] + total[k, i] - d[i] - d[k] + cc) / scale
                total[i, k] = v
                total[k, i] = v
