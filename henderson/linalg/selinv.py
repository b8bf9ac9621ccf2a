"""Selected inversion: Z = C^-1 on the pattern of the Cholesky factor L (Takahashi recurrences).

With L L' = P C P' and Z = (P C P')^-1, the identity Z L = L^-T (upper triangular) gives, for a
supernode S (columns with one shared row structure R below them, all in the pattern of L):

    Z_RS = -Z_RR L_RS L_SS^-1
    Z_SS = L_SS^-T L_SS^-1 - Z_RS' L_RS L_SS^-1

Z_RR only involves columns after S and lies on the pattern of L (R is a clique of the filled
graph), so sweeping supernodes from last to first yields Z on the whole pattern of L at a cost of
the same order as the numeric factorization. The kernels take L in CSC form (sorted rows, the
diagonal first in each column) and return Z's values aligned with L's storage.
"""

import contextlib

import numpy as np
import scipy.linalg.lapack as _lapack

from ..jitnotice import njit
from .blas_threads import blas_threads

_BLAS_MIN_WORK = 4096  # r * r * ns above which a dense product goes to BLAS
_BLAS_GATHER_WORK = 2048  # r * r * ns above which Z[R, R] is gathered for a BLAS product


@njit(cache=True)
def find_supernodes(Lp, Li):
    """Return the first column of each supernode (and n at the end) of the pattern (Lp, Li).

    Column j+1 joins j's supernode when struct(L[:, j+1]) = struct(L[:, j]) minus {j}.
    """
    n = Lp.size - 1
    sup = np.empty(n + 1, np.int64)
    nsup = 0
    for j in range(n):
        joined = False
        if j > 0:
            pa, pb = Lp[j - 1], Lp[j]
            cnt = pb - pa
            if cnt >= 2 and Li[pa + 1] == j and Lp[j + 1] - pb == cnt - 1:
                joined = True
                for q in range(cnt - 1):
                    if Li[pa + 1 + q] != Li[pb + q]:
                        joined = False
                        break
        if not joined:
            sup[nsup] = j
            nsup += 1
    sup[nsup] = n
    return sup[: nsup + 1].copy()


@njit(cache=True)
def _lower_inverse(A):
    """Return A^-1 for a dense lower-triangular A (column by column forward substitution)."""
    m = A.shape[0]
    X = np.zeros((m, m))
    x = np.empty(m)
    for c in range(m):
        x[c] = 1.0 / A[c, c]
        X[c, c] = x[c]
        for i in range(c + 1, m):
            s = 0.0
            for k in range(c, i):
                s += A[i, k] * x[k]
            x[i] = -s / A[i, i]
            X[i, c] = x[i]
    return X


@njit(cache=True)
def _matmul(A, B):
    """Return A @ B; loops for small products, BLAS for large ones."""
    m, k = A.shape
    p = B.shape[1]
    if m * k * p >= _BLAS_MIN_WORK:
        return np.dot(A, B)
    out = np.zeros((m, p))
    for i in range(m):
        for t in range(k):
            a = A[i, t]
            if a != 0.0:
                for j in range(p):
                    out[i, j] += a * B[t, j]
    return out


@njit(cache=True)
def _copy(dst, src, sign):
    """dst[:, :] = sign * src, by loops (numba's checked slice assignment costs seconds to compile)."""
    for i in range(src.shape[0]):
        for j in range(src.shape[1]):
            dst[i, j] = sign * src[i, j]


@njit(cache=True)
def _row_offsets(Lp, Li, b0, rows, ia, off):
    """Set off[x] = position of row rows[x] in column b0 of L (relative to Lp[b0]), x >= ia.

    rows[ia:] is sorted and a subset of the column's rows: a galloping merge, so a long
    ancestor column costs about log of the gaps rather than its whole length.
    """
    q = Lp[b0]
    qend = Lp[b0 + 1]
    for x in range(ia, rows.size):
        a = rows[x]
        if Li[q] < a:
            step = 1
            while q + step < qend and Li[q + step] < a:
                q += step
                step *= 2
            lo = q + 1
            hi = min(q + step, qend)
            while lo < hi:
                mid = (lo + hi) // 2
                if Li[mid] < a:
                    lo = mid + 1
                else:
                    hi = mid
            q = lo
        if q == qend or Li[q] != a:
            raise ValueError("pattern of L is not closed under fill")
        off[x] = q - Lp[b0]


@njit(cache=True)
def _group_end(rows, ia, last):
    """Return the end of the run rows[ia:ie] of rows below `last` (one ancestor supernode)."""
    ie = ia
    while ie < rows.size and rows[ie] < last:
        ie += 1
    return ie


@njit(cache=True)
def _gather_zrr(Lp, Li, zx, col2sup, sup, p0, ns, r, off):
    """Return the dense symmetric block Z[R, R] of the already computed part of Z."""
    Zrr = np.empty((r, r))
    rows = Li[p0 + ns : p0 + ns + r]
    ia = 0
    while ia < r:
        b0 = rows[ia]
        ie = _group_end(rows, ia, sup[col2sup[b0] + 1])
        _row_offsets(Lp, Li, b0, rows, ia, off)
        for y in range(ia, ie):
            base = Lp[rows[y]] - (rows[y] - b0)
            zcol = zx[base:]
            zrow = Zrr[y]
            for x in range(y, r):
                v = zcol[off[x]]
                Zrr[x, y] = v
                zrow[x] = v
        ia = ie
    return Zrr


@njit(cache=True, fastmath=True)
def _zrr_times(Lp, Li, zx, col2sup, sup, rows, YT, WT, off, col):
    """Set WT = YT Z[R, R] (ns x r) reading the lower triangle of Z[R, R] straight from zx.

    Each column y of Z[R, R] (rows x >= y) is gathered once into col and used twice, as
    column and as row of the symmetric block.
    """
    ns, r = YT.shape
    WT[:, :] = 0.0
    ia = 0
    while ia < r:
        b0 = rows[ia]
        ie = _group_end(rows, ia, sup[col2sup[b0] + 1])
        _row_offsets(Lp, Li, b0, rows, ia, off)
        for y in range(ia, ie):
            base = Lp[rows[y]] - (rows[y] - b0)
            zcol = zx[base:]
            for x in range(y, r):
                col[x] = zcol[off[x]]
            for c in range(ns):
                yrow = YT[c]
                wrow = WT[c]
                yc = yrow[y]
                acc = col[y] * yc
                for x in range(y + 1, r):
                    wrow[x] += col[x] * yc
                    acc += col[x] * yrow[x]
                wrow[y] += acc
        ia = ie


@njit(cache=True, inline="always", fastmath=True)  # inlined: compiled once, within _sweep
def _small_step(Lp, Li, Lx, zx, col2sup, sup, s, off, wk, blas_work):
    """Overwrite zx on supernode s's columns with Z[:, S] (one dense step, work arrays in wk)."""
    f, l = sup[s], sup[s + 1]
    ns = l - f
    p0 = Lp[f]
    r = Lp[f + 1] - p0 - ns
    Lss, Linv, YT, WT, col = wk
    Lss = Lss[: ns * ns].reshape((ns, ns))
    Linv = Linv[: ns * ns].reshape((ns, ns))
    YT = YT[: ns * r].reshape((ns, r))
    WT = WT[: ns * r].reshape((ns, r))
    for c in range(ns):
        pc = Lp[f + c] - c
        for a in range(c, ns):
            Lss[a, c] = Lx[pc + a]
    # Linv = L_SS^-1 (lower), column by column
    for c in range(ns):
        for i in range(c):
            Linv[i, c] = 0.0
        Linv[c, c] = 1.0 / Lss[c, c]
        for i in range(c + 1, ns):
            t = 0.0
            for k in range(c, i):
                t += Lss[i, k] * Linv[k, c]
            Linv[i, c] = -t / Lss[i, i]
    if r > 0:
        # YT = (L_RS L_SS^-1)' : YT[c, :] = sum_{k >= c} Linv[k, c] L_RS[:, k]'
        YT[:, :] = 0.0
        for k in range(ns):
            q = Lp[f + k] + ns - k
            lrs = Lx[q : q + r]
            for c in range(k + 1):
                lk = Linv[k, c]
                yc = YT[c]
                for i in range(r):
                    yc[i] += lk * lrs[i]
        rows = Li[p0 + ns : p0 + ns + r]
        if r * r * ns >= blas_work:
            Zrr = _gather_zrr(Lp, Li, zx, col2sup, sup, p0, ns, r, off)
            _copy(WT, np.dot(YT, Zrr), 1.0)
        else:
            _zrr_times(Lp, Li, zx, col2sup, sup, rows, YT, WT, off, col)
    # Z_SS = Linv' Linv + Y' W (lower triangle), Z_RS = -W
    for c in range(ns):
        pc = Lp[f + c] - c
        wc = WT[c]
        for a in range(c, ns):
            t = 0.0
            for k in range(a, ns):
                t += Linv[k, a] * Linv[k, c]
            ya = YT[a]
            for i in range(r):
                t += ya[i] * wc[i]
            zx[pc + a] = t
        zc = zx[pc + ns : pc + ns + r]
        for i in range(r):
            zc[i] = -wc[i]


@njit(cache=True)
def _chunk(Lb, Zrr, c0, c1):
    """Return (Z[Sc, Sc], -Z[Rc, Sc]) for the columns Sc = c0:c1 of a dense trapezoid Lb.

    Lb[a, c] = L[a, c] for the local rows a >= c; Rc = c1: are the rows below the chunk and
    Zrr = Z[Rc, Rc] (full, symmetric).
    """
    bc = c1 - c0
    rc = Lb.shape[0] - c1
    Lss = np.zeros((bc, bc))
    Lrs = np.empty((rc, bc))
    for c in range(bc):
        for a in range(c, bc):
            Lss[a, c] = Lb[c0 + a, c0 + c]
        for i in range(rc):
            Lrs[i, c] = Lb[c1 + i, c0 + c]
    Linv = _lower_inverse(Lss)
    Zss = _matmul(np.ascontiguousarray(Linv.T), Linv)
    Zrs = np.zeros((rc, bc))
    if rc > 0:
        Y = _matmul(Lrs, Linv)
        Zrs = _matmul(Zrr, Y)  # = -Z[Rc, Sc]
        ZY = _matmul(np.ascontiguousarray(Zrs.T), Y)
        for i in range(bc):
            for j in range(bc):
                Zss[i, j] += ZY[i, j]
    return Zss, Zrs


@njit(cache=True, inline="always")  # inlined: compiled once, within _sweep
def _supernode_step(Lp, Li, Lx, zx, col2sup, sup, s, off, max_cols):
    """Overwrite zx on supernode s's columns with Z[:, S] (rows S and R) from Z[R, R] and L.

    A supernode wider than max_cols is done in chunks of columns from last to first inside one
    dense (ns + r)^2 block, so each chunk's triangular work stays small and Z[R, R] is gathered
    from zx only once.
    """
    f, l = sup[s], sup[s + 1]
    ns = l - f
    p0 = Lp[f]
    r = Lp[f + 1] - p0 - ns
    m = ns + r
    Lb = np.zeros((m, ns))
    for c in range(ns):
        pc = Lp[f + c] - c
        for a in range(c, m):
            Lb[a, c] = Lx[pc + a]
    Zrr = _gather_zrr(Lp, Li, zx, col2sup, sup, p0, ns, r, off)
    if ns <= max_cols:
        Zb = np.empty((m, ns))
        Zss, Zrs = _chunk(Lb, Zrr, ns - ns, ns)  # an int64 first column: one compiled _chunk
        _copy(Zb[:ns, :], Zss, 1.0)
        _copy(Zb[ns:, :], Zrs, -1.0)
    else:
        Zb = np.empty((m, m))
        _copy(Zb[ns:, ns:], Zrr, 1.0)
        c1 = ns
        while c1 > 0:
            c0 = max(0, c1 - max_cols)
            Zss, Zrs = _chunk(Lb, np.ascontiguousarray(Zb[c1:, c1:]), c0, c1)
            _copy(Zb[c0:c1, c0:c1], Zss, 1.0)
            _copy(Zb[c1:, c0:c1], Zrs, -1.0)
            _copy(Zb[c0:c1, c1:], Zrs.T, -1.0)
            c1 = c0
    for c in range(ns):
        pc = Lp[f + c] - c
        for a in range(c, m):
            zx[pc + a] = Zb[a, c]


@njit(cache=True, inline="always")  # inlined: compiled within each sweep
def _workspace(Lp, sup, s_top, max_cols):
    """(col2sup, off, wk) for a sweep over supernodes below s_top: column -> supernode, row offsets,
    and the work arrays of _small_step sized for the widest step that is not chunked."""
    n = Lp.size - 1
    nsup = sup.size - 1
    col2sup = np.empty(n, np.int64)
    for s in range(nsup):
        for j in range(sup[s], sup[s + 1]):
            col2sup[j] = s
    off = np.empty(n, np.uint64)
    ns_max, nr_max = 1, 1
    for s in range(s_top):
        ns = sup[s + 1] - sup[s]
        if ns <= max_cols:
            ns_max = max(ns_max, ns)
            nr_max = max(nr_max, ns * (Lp[sup[s] + 1] - Lp[sup[s]] - ns))
    wk = (np.empty(ns_max * ns_max), np.empty(ns_max * ns_max), np.empty(nr_max),
          np.empty(nr_max), np.empty(n))
    return col2sup, off, wk


@njit(cache=True, fastmath=True)  # as _small_step, compiled inside it
def _sweep(Lp, Li, Lx, sup, zx, s_top, max_cols, blas_work):
    """Fill zx with Z[:, S] for the supernodes S = s_top - 1, ..., 0 (those above are done)."""
    col2sup, off, wk = _workspace(Lp, sup, s_top, max_cols)
    for s in range(s_top - 1, -1, -1):
        if sup[s + 1] - sup[s] <= max_cols:
            _small_step(Lp, Li, Lx, zx, col2sup, sup, s, off, wk, blas_work)
        else:
            _supernode_step(Lp, Li, Lx, zx, col2sup, sup, s, off, max_cols)


@njit(cache=True, fastmath=True)
def _sweep_narrow(Lp, Li, Lx, sup, zx, s_top, max_cols, blas_work):
    """_sweep when no supernode below s_top is wider than max_cols, the common case: a kernel without
    the chunked step, so that a model that needs none does not wait for its compilation."""
    col2sup, off, wk = _workspace(Lp, sup, s_top, max_cols)
    for s in range(s_top - 1, -1, -1):
        _small_step(Lp, Li, Lx, zx, col2sup, sup, s, off, wk, blas_work)


def _run_sweep(Lp, Li, Lx, sup, zx, s_top, max_cols, blas_work):
    """_sweep, or _sweep_narrow when every supernode below s_top has at most max_cols columns."""
    widest = int(np.diff(sup[: s_top + 1]).max(initial=0))
    kernel = _sweep if widest > max_cols else _sweep_narrow
    kernel(Lp, Li, Lx, sup, zx, s_top, max_cols, blas_work)


def takahashi(Lp, Li, Lx, sup, max_cols=256, blas_work=_BLAS_GATHER_WORK):
    """Return Z = (L L')^-1 on the pattern of L, as values aligned with Lx.

    sup holds the supernode boundaries from find_supernodes(Lp, Li); max_cols is the widest
    supernode done in one dense step (wider ones go in column chunks); blas_work is the
    r * r * ns above which Z[R, R] is gathered dense for one BLAS product. A Python function: each
    compiled kernel re-optimizes the code of the kernels it calls, so the entry points are the sweeps.
    """
    zx = np.zeros(Lx.size)
    _run_sweep(Lp, Li, Lx, sup, zx, sup.size - 1, max_cols, blas_work)
    return zx


@njit(cache=True)
def _last_block(Lp, Lx, f):
    """Return U with U.T = L[f:, f:] (the last supernode, lower; Fortran order for LAPACK). Only the
    upper triangle of U is written: LAPACK's lower-triangle routines read nothing else."""
    n = Lp.size - 1
    U = np.empty((n - f, n - f))
    for c in range(n - f):
        col = Lx[Lp[f + c] : Lp[f + c + 1]]
        row = U[c]
        for a in range(col.size):
            row[c + a] = col[a]
    return U


@njit(cache=True)
def _store_last_block(Lp, zx, f, ZT):
    """Copy the upper triangle of ZT = Z[f:, f:]' into zx on the last supernode's columns."""
    n = Lp.size - 1
    for c in range(n - f):
        col = zx[Lp[f + c] : Lp[f + c + 1]]
        row = ZT[c]
        for a in range(col.size):
            col[a] = row[c + a]


def selected_inverse_values(Lp, Li, Lx, sup, max_cols=256, dense_threads=None):
    """Return Z = (L L')^-1 on the pattern of L, as values aligned with Lx.

    As takahashi(Lp, Li, Lx, sup, max_cols), but a last supernode wider than max_cols (a dense
    block with nothing below it: Z there is (L_SS L_SS')^-1) goes to LAPACK's dpotri, with
    ``dense_threads`` BLAS threads (None: OpenBLAS's own count); the sweep over the other supernodes
    runs on one BLAS thread (henderson.linalg.blas_threads: OpenBLAS's threads on its many mid-sized
    products spin against each other). The dense block of single-step's
    genotyped animals is that last supernode: dpotri does its 2 n^3 / 3 flops at the BLAS rate.
    """
    f = int(sup[-2])
    if Lp.size - 1 - f <= max_cols:
        with blas_threads(1):
            return takahashi(Lp, Li, Lx, sup, max_cols)
    U = _last_block(Lp, Lx, f)
    with contextlib.nullcontext() if dense_threads is None else blas_threads(dense_threads):
        Z, info = _lapack.dpotri(U.T, lower=1, overwrite_c=1)
    del U
    if info != 0:
        raise ValueError(f"dpotri failed on the last supernode (info = {info})")
    zx = np.zeros(Lx.size)
    _store_last_block(Lp, zx, f, Z.T)
    del Z
    with blas_threads(1):
        _run_sweep(Lp, Li, Lx, sup, zx, sup.size - 2, max_cols, _BLAS_GATHER_WORK)
    return zx


@njit(cache=True)
def pattern_positions(Cp, Ci, pinv, Lp, Li):
    """Return, for each stored entry (i, j) of C, its position in L's storage.

    The entry maps to (max, min) of (pinv[i], pinv[j]), i.e. the lower triangle of P C P'.
    """
    n = Cp.size - 1
    pos = np.empty(Ci.size, np.int64)
    for j in range(n):
        pj = pinv[j]
        for q in range(Cp[j], Cp[j + 1]):
            pi = pinv[Ci[q]]
            row, col = (pi, pj) if pi >= pj else (pj, pi)
            lo, hi = Lp[col], Lp[col + 1]
            while lo < hi:
                mid = (lo + hi) // 2
                if Li[mid] < row:
                    lo = mid + 1
                else:
                    hi = mid
            if lo == Lp[col + 1] or Li[lo] != row:
                raise ValueError("an entry of C is missing from the pattern of L")
            pos[q] = lo
    return pos


def check_factor_layout(Lp, Li):
    """Raise ValueError unless every column of L has sorted rows with the diagonal first."""
    n = Lp.size - 1
    if not np.array_equal(Li[Lp[:-1]], np.arange(n, dtype=Li.dtype)):
        raise ValueError("L does not store its diagonal first in every column")
    d = np.diff(Li)
    starts = np.zeros(Li.size, dtype=bool)
    starts[Lp[1:-1]] = True
    if np.any((d <= 0) & ~starts[1:]):
        raise ValueError("L's row indices are not sorted within columns")
