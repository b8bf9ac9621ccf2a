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

import numpy as np
from numba import njit

_BLAS_MIN_WORK = 4096  # r * r * ns above which a dense product goes to BLAS


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
def _gather_zrr(Lp, Li, zx, col2sup, sup, p0, ns, r, off):
    """Return the dense symmetric block Z[R, R] of the already computed part of Z."""
    Zrr = np.empty((r, r))
    base_r = p0 + ns
    ia = 0
    while ia < r:
        b0 = Li[base_r + ia]
        last = sup[col2sup[b0] + 1]
        ie = ia
        while ie < r and Li[base_r + ie] < last:
            ie += 1
        q = Lp[b0]
        qend = Lp[b0 + 1]
        for x in range(ia, r):
            a = Li[base_r + x]
            while q < qend and Li[q] < a:
                q += 1
            if q == qend or Li[q] != a:
                raise ValueError("pattern of L is not closed under fill")
            off[x] = q - Lp[b0]
        for y in range(ia, ie):
            base = Lp[Li[base_r + y]] - (Li[base_r + y] - b0)
            for x in range(y, r):
                v = zx[base + off[x]]
                Zrr[x, y] = v
                Zrr[y, x] = v
        ia = ie
    return Zrr


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
        Zss += _matmul(np.ascontiguousarray(Zrs.T), Y)
    return Zss, Zrs


@njit(cache=True)
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
        Zss, Zrs = _chunk(Lb, Zrr, 0, ns)
        Zb[:ns, :] = Zss
        Zb[ns:, :] = -Zrs
    else:
        Zb = np.empty((m, m))
        Zb[ns:, ns:] = Zrr
        c1 = ns
        while c1 > 0:
            c0 = max(0, c1 - max_cols)
            Zss, Zrs = _chunk(Lb, np.ascontiguousarray(Zb[c1:, c1:]), c0, c1)
            Zb[c0:c1, c0:c1] = Zss
            Zb[c1:, c0:c1] = -Zrs
            Zb[c0:c1, c1:] = -Zrs.T
            c1 = c0
    for c in range(ns):
        pc = Lp[f + c] - c
        for a in range(c, m):
            zx[pc + a] = Zb[a, c]


@njit(cache=True)
def takahashi(Lp, Li, Lx, sup, max_cols=256):
    """Return Z = (L L')^-1 on the pattern of L, as values aligned with Lx.

    sup holds the supernode boundaries from find_supernodes(Lp, Li); max_cols is the widest
    column chunk handled by one dense triangular step.
    """
    n = Lp.size - 1
    zx = np.zeros(Lx.size)
    nsup = sup.size - 1
    col2sup = np.empty(n, np.int64)
    for s in range(nsup):
        for j in range(sup[s], sup[s + 1]):
            col2sup[j] = s
    off = np.empty(n, np.int64)
    for s in range(nsup - 1, -1, -1):
        _supernode_step(Lp, Li, Lx, zx, col2sup, sup, s, off, max_cols)
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
