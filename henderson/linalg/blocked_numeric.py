"""Numeric kernels of the block elimination (henderson.linalg.blocked), run per factorization.

With G = B D^-1: D_i^-1 and G per level, S = C22 - G B' (sparse pattern or dense), the two halves
of the block solve, and C^-1 on the pattern of C from S^-1 (C^21 = -S^-1 G, C^11_i = D_i^-1 +
G_i' (S^-1 G)_i).
"""
import numpy as np

from ..jitnotice import njit


@njit(cache=True, inline="always")  # inlined: compiled once, within level_factors
def small_cholesky_inverse(A):
    """(ok, pivot, log|A|, A^-1) for a small symmetric positive definite A (Cholesky, in place copies)."""
    q = A.shape[0]
    L = np.zeros((q, q))
    logdet = 0.0
    for j in range(q):
        s = A[j, j]
        for k in range(j):
            s -= L[j, k] * L[j, k]
        if not s > 0.0:
            return False, j, 0.0, L
        L[j, j] = np.sqrt(s)
        logdet += 2.0 * np.log(L[j, j])
        for i in range(j + 1, q):
            s = A[i, j]
            for k in range(j):
                s -= L[i, k] * L[j, k]
            L[i, j] = s / L[j, j]
    Linv = np.zeros((q, q))
    for c in range(q):
        Linv[c, c] = 1.0 / L[c, c]
        for i in range(c + 1, q):
            s = 0.0
            for k in range(c, i):
                s -= L[i, k] * Linv[k, c]
            Linv[i, c] = s / L[i, i]
    Ainv = np.zeros((q, q))
    for a in range(q):
        for b in range(q):
            s = 0.0
            for k in range(max(a, b), q):
                s += Linv[k, a] * Linv[k, b]
            Ainv[a, b] = s
    return True, -1, logdet, Ainv


@njit(cache=True)
def level_factors(Cx, dpos, Rptr, Bpos):
    """Per level: D_i^-1, the coupling B_i and G_i = B_i D_i^-1, and log|D| = sum_i log|D_i|.

    Returns (bad_level, bad_effect, logdet_D, Dinv, Bv, G); bad_level >= 0 when D_i is not
    positive definite (failing at effect bad_effect).
    """
    m, q, _ = dpos.shape
    nR = Bpos.shape[0]
    Dinv = np.zeros((m, q, q))
    Bv = np.zeros((nR, q))
    G = np.zeros((nR, q))
    logdet = 0.0
    Di = np.zeros((q, q))
    for i in range(m):
        for a in range(q):
            for b in range(q):
                p = dpos[i, a, b]
                Di[a, b] = Cx[p] if p >= 0 else 0.0
        ok, piv, ld, inv = small_cholesky_inverse(Di)
        if not ok:
            return i, piv, 0.0, Dinv, Bv, G
        logdet += ld
        for a in range(q):  # by loops: a checked Dinv[i] = inv takes seconds to compile
            for b in range(q):
                Dinv[i, a, b] = inv[a, b]
        for k in range(Rptr[i], Rptr[i + 1]):
            for a in range(q):
                p = Bpos[k, a]
                Bv[k, a] = Cx[p] if p >= 0 else 0.0
            for a in range(q):
                s = 0.0
                for b in range(q):
                    s += Bv[k, b] * inv[b, a]
                G[k, a] = s
    return -1, -1, logdet, Dinv, Bv, G


@njit(cache=True)
def eliminate(Cx, Bv, G, Rptr, Rrow, Tptr, Tk, Tlev, Sp, Si, src, dst):
    """S = C22 - B D^-1 B' = C22 - G B' on S's sparse pattern (values, Sx)."""
    q = G.shape[1]
    Sx = np.zeros(Si.size)
    for w in range(src.size):
        Sx[dst[w]] += Cx[src[w]]
    n = Sp.size - 1
    pos = np.empty(n, np.int64)
    for j in range(n):
        for p in range(Sp[j], Sp[j + 1]):
            pos[Si[p]] = p
        for t in range(Tptr[j], Tptr[j + 1]):
            i = Tlev[t]
            kj = Tk[t]
            for k in range(Rptr[i], Rptr[i + 1]):
                s = 0.0
                for a in range(q):
                    s += G[k, a] * Bv[kj, a]
                Sx[pos[Rrow[k]]] -= s
    return Sx


@njit(cache=True)
def forward(b1, Dinv, Bv, Rptr, Rrow, n_rest):
    """y1 = D^-1 b1 (per level) and B y1 (n_rest x r): the leading half of the block solve."""
    m, q, r = b1.shape
    y1 = np.zeros((m, q, r))
    By = np.zeros((n_rest, r))
    for i in range(m):
        for a in range(q):
            for c in range(r):
                s = 0.0
                for b in range(q):
                    s += Dinv[i, a, b] * b1[i, b, c]
                y1[i, a, c] = s
        for k in range(Rptr[i], Rptr[i + 1]):
            j = Rrow[k]
            for c in range(r):
                s = 0.0
                for a in range(q):
                    s += Bv[k, a] * y1[i, a, c]
                By[j, c] += s
    return y1, By


@njit(cache=True)
def backward(y1, x2, G, Rptr, Rrow):
    """x1 = y1 - G' x2 per level (= D^-1 (b1 - B' x2))."""
    m, q, r = y1.shape
    x1 = y1.copy()
    for i in range(m):
        for k in range(Rptr[i], Rptr[i + 1]):
            j = Rrow[k]
            for a in range(q):
                g = G[k, a]
                for c in range(r):
                    x1[i, a, c] -= g * x2[j, c]
    return x1


@njit(cache=True)
def inverse_blocks(Zx, Sp, Si, Dinv, G, Rptr, Rrow, Tptr, Tk, Tlev):
    """X = S^-1 G on the rows R_i of each level, and C^11_i = D_i^-1 + G_i' X_i."""
    m, q, _ = Dinv.shape
    nR = Rrow.size
    X = np.zeros((nR, q))
    n = Sp.size - 1
    pos = np.empty(n, np.int64)
    for j in range(n):
        for p in range(Sp[j], Sp[j + 1]):
            pos[Si[p]] = p
        for t in range(Tptr[j], Tptr[j + 1]):
            i = Tlev[t]
            kj = Tk[t]
            for k in range(Rptr[i], Rptr[i + 1]):
                z = Zx[pos[Rrow[k]]]
                for a in range(q):
                    X[kj, a] += z * G[k, a]
    C11 = Dinv.copy()
    for i in range(m):
        for k in range(Rptr[i], Rptr[i + 1]):
            for a in range(q):
                for b in range(q):
                    C11[i, a, b] += G[k, a] * X[k, b]
    return X, C11


@njit(cache=True)
def eliminate_dense(Cx, Bv, G, Rptr, Rrow, Tptr, Tk, Tlev, src, k22, j22, n):
    """S = C22 - G B' dense: U[j, k] (j <= k) holds S[k, j], so U.T is S's lower triangle in
    Fortran order (what LAPACK's dpotrf(lower) reads). Rows of U are filled one at a time (all the
    levels coupled to rest column j), which keeps the writes in cache."""
    q = G.shape[1]
    U = np.zeros((n, n))
    for w in range(src.size):
        if j22[w] <= k22[w]:
            U[j22[w], k22[w]] += Cx[src[w]]
    for j in range(n):
        row = U[j]
        for t in range(Tptr[j], Tptr[j + 1]):
            i = Tlev[t]
            kj = Tk[t]   # Rrow[kj] == j; R_i ascending, so k >= kj gives rows >= j
            if q == 1:
                bj = Bv[kj, 0]
                for k in range(kj, Rptr[i + 1]):
                    row[Rrow[k]] -= G[k, 0] * bj
            else:
                for k in range(kj, Rptr[i + 1]):
                    s = 0.0
                    for a in range(q):
                        s += G[k, a] * Bv[kj, a]
                    row[Rrow[k]] -= s
    return U


@njit(cache=True)
def symmetrize_upper(Z):
    """Copy the upper triangle of the square Z onto its lower triangle, in cache-sized tiles."""
    n = Z.shape[0]
    T = 64
    for jb in range(0, n, T):
        for kb in range(jb, n, T):
            for j in range(jb, min(jb + T, n)):
                for k in range(max(kb, j + 1), min(kb + T, n)):
                    Z[k, j] = Z[j, k]


@njit(cache=True)
def inverse_blocks_dense(Z, Dinv, G, Rptr, Rrow, Tptr, Tk, Tlev):
    """inverse_blocks with S^-1 dense and symmetric (row j of Z read once per rest column j)."""
    m, q, _ = Dinv.shape
    X = np.zeros((Rrow.size, q))
    n = Z.shape[0]
    acc = np.zeros(q)
    g = G[:, 0].copy()
    for j in range(n):
        row = Z[j]
        for t in range(Tptr[j], Tptr[j + 1]):
            i = Tlev[t]
            if q == 1:   # the common case, kept free of the inner loop over effects
                s = 0.0
                for k in range(Rptr[i], Rptr[i + 1]):
                    s += row[Rrow[k]] * g[k]
                X[Tk[t], 0] = s
                continue
            acc[:] = 0.0
            for k in range(Rptr[i], Rptr[i + 1]):
                z = row[Rrow[k]]
                for a in range(q):
                    acc[a] += z * G[k, a]
            for a in range(q):
                X[Tk[t], a] = acc[a]
    C11 = Dinv.copy()
    for i in range(m):
        for k in range(Rptr[i], Rptr[i + 1]):
            for a in range(q):
                for b in range(q):
                    C11[i, a, b] += G[k, a] * X[k, b]
    return X, C11
