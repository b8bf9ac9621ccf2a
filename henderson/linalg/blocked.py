"""Block elimination of a block-diagonal leading part, then a sparse Cholesky of the Schur complement.

With the columns of C split into a block-diagonal part D (m diagonal blocks of size q: the levels
of one random term without a relationship matrix) and the rest,

    C = [ D  B' ]      S = C22 - B D^-1 B'      log|C| = sum_i log|D_i| + log|S|
        [ B  C22]

D_i^-1 is a q x q inverse per level, S (the rest: other terms and the fixed effects) is assembled
in one compiled pass over the levels and factored by CHOLMOD (Factor). This is the block
structure lme4's successors (MixedModels.jl) exploit for crossed designs: CHOLMOD, left alone,
factors the thousands of tiny leading columns one supernode at a time, which costs several times
the Schur complement's own factorization (InstEval: 0.15 s against 0.03 s).

The selected inverse on the pattern of C follows from S^-1 on the pattern of S, with G = B D^-1:

    C^22 = S^-1      C^21 = -S^-1 G      C^11_i = D_i^-1 + G_i' (S^-1 G)_i

where every entry of S^-1 needed lies on the pattern of S (B_i B_i' is a clique of S).
"""
from __future__ import annotations

import numpy as np
import scipy.linalg.lapack as _lapack
import scipy.sparse as sp
from numba import njit

from henderson.errors import NotPositiveDefiniteError
from henderson.linalg.cholmod import Factor, _check_matrix
from henderson.sorting import sort_segment

MAX_SCHUR_NNZ = 150_000_000  # entries of a sparse Schur complement's pattern beyond which block elimination is refused
MAX_DENSE = 12_000           # columns of the Schur complement up to which it may be stored dense (1.15 GB)
DENSE_ALWAYS = 300           # ... always dense up to this many columns
DENSE_FILL = 0.05            # ... else dense when this share of its entries is in the pattern


# ----------------------------------------------------------------------------------------------
# symbolic structure (once)

@njit(cache=True)
def _coupling(Cp, Ci, blocks, level_of, effect_of, rest_of):
    """Per level i, the rest rows R_i coupled to its columns and where C's entries of D and B lie.

    Returns (ok, dpos, Rptr, Rrow, Bpos): dpos[i, a, b] = index into C.data of D_i[a, b] (-1 when
    not stored), R_i = Rrow[Rptr[i]:Rptr[i+1]] (indices into the rest, ascending),
    Bpos[k, a] = index of C[rest row Rrow[k], column (i, a)] (-1 when not stored). ok is False when
    a column of the leading part touches another level (D is then not block diagonal).
    """
    m, q = blocks.shape
    n_rest = 0
    for r in range(rest_of.size):
        if rest_of[r] >= 0:
            n_rest += 1
    dpos = -np.ones((m, q, q), np.int64)
    mark = -np.ones(n_rest, np.int64)
    Rptr = np.zeros(m + 1, np.int64)
    # pass 1: count
    for i in range(m):
        cnt = 0
        for a in range(q):
            c = blocks[i, a]
            for p in range(Cp[c], Cp[c + 1]):
                r = Ci[p]
                j = rest_of[r]
                if j >= 0:
                    if mark[j] != i:
                        mark[j] = i
                        cnt += 1
                elif level_of[r] != i:
                    return False, dpos, Rptr, np.empty(0, np.int64), np.empty((0, q), np.int64)
                else:
                    dpos[i, effect_of[r], a] = p
        Rptr[i + 1] = Rptr[i] + cnt
    nR = Rptr[m]
    Rrow = np.empty(nR, np.int64)
    Bpos = -np.ones((nR, q), np.int64)
    mark[:] = -1
    slot = np.empty(n_rest, np.int64)
    # pass 2: fill (rows of R_i in ascending order, each column's entries are sorted)
    for i in range(m):
        k = Rptr[i]
        for a in range(q):
            c = blocks[i, a]
            for p in range(Cp[c], Cp[c + 1]):
                j = rest_of[Ci[p]]
                if j >= 0 and mark[j] != i:
                    mark[j] = i
                    Rrow[k] = j
                    k += 1
        sort_segment(Rrow, Rrow, Rptr[i], Rptr[i + 1], False)
        for k in range(Rptr[i], Rptr[i + 1]):
            slot[Rrow[k]] = k
        for a in range(q):
            c = blocks[i, a]
            for p in range(Cp[c], Cp[c + 1]):
                j = rest_of[Ci[p]]
                if j >= 0:
                    Bpos[slot[j], a] = p
    return True, dpos, Rptr, Rrow, Bpos


@njit(cache=True)
def _transpose(Rptr, Rrow, n_rest):
    """For each rest index j, the entries k (into Rrow) with Rrow[k] = j, and their levels."""
    m = Rptr.size - 1
    Tptr = np.zeros(n_rest + 1, np.int64)
    for k in range(Rrow.size):
        Tptr[Rrow[k] + 1] += 1
    for j in range(n_rest):
        Tptr[j + 1] += Tptr[j]
    fill = Tptr[:-1].copy()
    Tk = np.empty(Rrow.size, np.int64)
    Tlev = np.empty(Rrow.size, np.int64)
    for i in range(m):
        for k in range(Rptr[i], Rptr[i + 1]):
            j = Rrow[k]
            Tk[fill[j]] = k
            Tlev[fill[j]] = i
            fill[j] += 1
    return Tptr, Tk, Tlev


@njit(cache=True)
def _upper_coupling(Cp, Ci, rest_cols, level_of, effect_of, Tptr, Tk, Tlev, q, nR):
    """BposT[k, a] = index into C.data of C[column (i, a), rest Rrow[k]] (the upper triangle's copy)."""
    BposT = -np.ones((nR, q), np.int64)
    m = 0
    for t in range(Tlev.size):
        if Tlev[t] + 1 > m:
            m = Tlev[t] + 1
    slot = -np.ones(max(m, 1), np.int64)
    for j in range(rest_cols.size):
        c = rest_cols[j]
        for t in range(Tptr[j], Tptr[j + 1]):
            slot[Tlev[t]] = Tk[t]
        for p in range(Cp[c], Cp[c + 1]):
            i = level_of[Ci[p]]
            if i >= 0:
                BposT[slot[i], effect_of[Ci[p]]] = p
        for t in range(Tptr[j], Tptr[j + 1]):
            slot[Tlev[t]] = -1
    return BposT


@njit(cache=True)
def _schur_counts(Cp, Ci, rest_cols, rest_of, Rptr, Rrow, Tptr, Tlev, limit):
    """Column pointers of the pattern of S = pattern(C22) + union_i R_i x R_i (both triangles), and
    whether they are complete: counting stops at the first column that takes the total past
    ``limit``."""
    n = rest_cols.size
    mark = -np.ones(n, np.int64)
    Sp = np.zeros(n + 1, np.int64)
    for j in range(n):
        cnt = 0
        c = rest_cols[j]
        for p in range(Cp[c], Cp[c + 1]):
            k = rest_of[Ci[p]]
            if k >= 0 and mark[k] != j:
                mark[k] = j
                cnt += 1
        for t in range(Tptr[j], Tptr[j + 1]):
            i = Tlev[t]
            for kk in range(Rptr[i], Rptr[i + 1]):
                k = Rrow[kk]
                if mark[k] != j:
                    mark[k] = j
                    cnt += 1
        Sp[j + 1] = Sp[j] + cnt
        if Sp[j + 1] > limit:
            return Sp, False
    return Sp, True


@njit(cache=True)
def _schur_pattern(Cp, Ci, rest_cols, rest_of, Rptr, Rrow, Tptr, Tlev, limit):
    """CSC pattern of S = pattern(C22) + union_i R_i x R_i, and where C22's entries go in it.

    Returns (ok, Sp, Si, src, dst) with S.data[dst] = C.data[src] placing C22; ok is False (and
    the arrays empty) when the pattern would exceed ``limit`` entries.
    """
    Sp, complete = _schur_counts(Cp, Ci, rest_cols, rest_of, Rptr, Rrow, Tptr, Tlev, limit)
    n = rest_cols.size
    mark = -np.ones(n, np.int64)
    if not complete:
        e = np.empty(0, np.int64)
        return False, Sp, e, e, e
    Si = np.empty(Sp[n], np.int64)
    mark[:] = -1
    n22 = 0
    for j in range(n):
        w = Sp[j]
        c = rest_cols[j]
        for p in range(Cp[c], Cp[c + 1]):
            k = rest_of[Ci[p]]
            if k >= 0:
                n22 += 1
                if mark[k] != j:
                    mark[k] = j
                    Si[w] = k
                    w += 1
        for t in range(Tptr[j], Tptr[j + 1]):
            i = Tlev[t]
            for kk in range(Rptr[i], Rptr[i + 1]):
                k = Rrow[kk]
                if mark[k] != j:
                    mark[k] = j
                    Si[w] = k
                    w += 1
        sort_segment(Si, Si, Sp[j], Sp[j + 1], False)
    src = np.empty(n22, np.int64)
    dst = np.empty(n22, np.int64)
    pos = np.empty(n, np.int64)
    w = 0
    for j in range(n):
        for p in range(Sp[j], Sp[j + 1]):
            pos[Si[p]] = p
        c = rest_cols[j]
        for p in range(Cp[c], Cp[c + 1]):
            k = rest_of[Ci[p]]
            if k >= 0:
                src[w] = p
                dst[w] = pos[k]
                w += 1
    return True, Sp, Si, src, dst


# ----------------------------------------------------------------------------------------------
# numeric kernels (per factorization)

@njit(cache=True)
def _small_cholesky_inverse(A):
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
def _level_factors(Cx, dpos, Rptr, Bpos):
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
        ok, piv, ld, inv = _small_cholesky_inverse(Di)
        if not ok:
            return i, piv, 0.0, Dinv, Bv, G
        logdet += ld
        Dinv[i] = inv
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
def _eliminate(Cx, Bv, G, Rptr, Rrow, Tptr, Tk, Tlev, Sp, Si, src, dst):
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
def _forward(b1, Dinv, Bv, Rptr, Rrow, n_rest):
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
def _backward(y1, x2, G, Rptr, Rrow):
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
def _inverse_blocks(Zx, Sp, Si, Dinv, G, Rptr, Rrow, Tptr, Tk, Tlev):
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
def _eliminate_dense(Cx, Bv, G, Rptr, Rrow, Tptr, Tk, Tlev, src, k22, j22, n):
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
def _symmetrize_upper(Z):
    """Copy the upper triangle of the square Z onto its lower triangle, in cache-sized tiles."""
    n = Z.shape[0]
    T = 64
    for jb in range(0, n, T):
        for kb in range(jb, n, T):
            for j in range(jb, min(jb + T, n)):
                for k in range(max(kb, j + 1), min(kb + T, n)):
                    Z[k, j] = Z[j, k]


@njit(cache=True)
def _inverse_blocks_dense(Z, Dinv, G, Rptr, Rrow, Tptr, Tk, Tlev):
    """_inverse_blocks with S^-1 dense and symmetric (row j of Z read once per rest column j)."""
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
            X[Tk[t]] = acc
    C11 = Dinv.copy()
    for i in range(m):
        for k in range(Rptr[i], Rptr[i + 1]):
            for a in range(q):
                for b in range(q):
                    C11[i, a, b] += G[k, a] * X[k, b]
    return X, C11


# ----------------------------------------------------------------------------------------------

class _DenseSchur:
    """S as a dense matrix: LAPACK Cholesky (dpotrf), solves (dpotrs) and inverse (dpotri)."""

    ordering = "dense"

    def __init__(self, n: int):
        self.n = n
        self.nnz_L = n * (n + 1) // 2
        self.perm = np.arange(n)
        self._Lf = None

    def factor(self, U):
        """Factor S given as U (C order, U[j, k] = S[k, j] for j <= k); raises NotPositiveDefiniteError."""
        self._Lf = None
        Lf, info = _lapack.dpotrf(U.T, lower=1, clean=0, overwrite_a=1)
        if info > 0:
            err = NotPositiveDefiniteError(f"Schur complement not positive definite at column {info - 1}")
            err.column = info - 1
            raise err
        if info < 0:
            raise ValueError(f"dpotrf: illegal argument {-info}")
        self._Lf = Lf

    def logdet(self) -> float:
        return float(2.0 * np.log(np.diagonal(self._Lf)).sum())

    def solve(self, b):
        x, info = _lapack.dpotrs(self._Lf, b, lower=1)
        if info != 0:
            raise ValueError(f"dpotrs: illegal argument {-info}")
        return x

    def inverse(self):
        """S^-1, dense and symmetric (C order)."""
        Zf, info = _lapack.dpotri(self._Lf, lower=1)
        if info != 0:
            raise np.linalg.LinAlgError(f"dpotri failed (info {info})")
        Z = Zf.T   # C order; its upper triangle holds S^-1
        _symmetrize_upper(Z)
        return Z


class BlockFactor:
    """Factor of C by eliminating a block-diagonal leading part, then the Schur complement S.

    S is factored densely by LAPACK when it is small or dense enough (crossed designs: every
    level of the leading term couples many columns of the rest), otherwise by CHOLMOD on its
    sparse pattern (nested designs). Same interface as Factor: analyze once, refactor(C) per set
    of values, solve, logdet, selected_inverse (C^-1 on the pattern of C), diag_inverse.
    """

    def __init__(self, C, blocks, rest, struct, inner):
        self._C = C
        self.blocks = blocks          # (m, q) columns of C of the leading part, level by effect
        self.rest = rest              # columns of C in the Schur complement, ascending
        self._s = struct
        self.inner = inner            # _DenseSchur or Factor of S
        self.dense = isinstance(inner, _DenseSchur)
        self.n = C.shape[0]
        self.ordering = "block+" + inner.ordering
        self.n_factorizations = 0
        self._valid = False
        self._num = None
        self._zx = None

    @classmethod
    def analyze(cls, C, blocks, ordering="amd", max_schur_nnz=MAX_SCHUR_NNZ, dense=None):
        """Symbolic analysis for leading columns ``blocks`` ((m, q) ints: level i, effect a).

        ``dense``: True/False forces the Schur complement's storage; None chooses dense when it has
        at most DENSE_ALWAYS columns or DENSE_FILL of its entries in the pattern (and at most
        MAX_DENSE columns), else CHOLMOD with ``ordering``. Returns None when D is not block
        diagonal on those columns or a sparse Schur complement's pattern would exceed
        ``max_schur_nnz`` entries (then factor C as a whole instead).
        """
        C = _check_matrix(C)
        n = C.shape[0]
        blocks = np.ascontiguousarray(blocks, dtype=np.int64)
        if blocks.ndim != 2 or blocks.size == 0 or blocks.size >= n:
            raise ValueError("blocks must be a non-empty (m, q) array of columns, leaving some columns")
        level_of = -np.ones(n, np.int64)
        effect_of = -np.ones(n, np.int64)
        m, q = blocks.shape
        level_of[blocks] = np.arange(m)[:, None]
        effect_of[blocks] = np.arange(q)[None, :]
        if np.count_nonzero(level_of >= 0) != blocks.size:
            raise ValueError("blocks repeats a column")
        rest = np.flatnonzero(level_of < 0)
        n2 = rest.size
        rest_of = -np.ones(n, np.int64)
        rest_of[rest] = np.arange(n2)
        Cp = C.indptr.astype(np.int64)
        Ci = C.indices.astype(np.int64)
        ok, dpos, Rptr, Rrow, Bpos = _coupling(Cp, Ci, blocks, level_of, effect_of, rest_of)
        if not ok:
            return None
        Tptr, Tk, Tlev = _transpose(Rptr, Rrow, n2)
        BposT = _upper_coupling(Cp, Ci, rest, level_of, effect_of, Tptr, Tk, Tlev, q, Rrow.size)
        struct = dict(dpos=dpos, Rptr=Rptr, Rrow=Rrow, Bpos=Bpos, BposT=BposT, Tptr=Tptr, Tk=Tk, Tlev=Tlev)
        if dense is None:
            dense = n2 <= MAX_DENSE and (
                n2 <= DENSE_ALWAYS
                or not _schur_counts(Cp, Ci, rest, rest_of, Rptr, Rrow, Tptr, Tlev, DENSE_FILL * n2 * n2)[1])
        if dense:
            cols = np.repeat(np.arange(n), np.diff(Cp))
            on = (rest_of[Ci] >= 0) & (rest_of[cols] >= 0)
            struct.update(src=np.flatnonzero(on), k22=rest_of[Ci[on]], j22=rest_of[cols[on]])
            return cls(C, blocks, rest, struct, _DenseSchur(n2))
        ok, Sp, Si, src, dst = _schur_pattern(Cp, Ci, rest, rest_of, Rptr, Rrow, Tptr, Tlev, max_schur_nnz)
        if not ok:
            return None
        itype = np.int32 if Si.size < 2**31 - 1 else np.int64
        S = sp.csc_matrix((np.zeros(Si.size), Si.astype(itype), Sp.astype(itype)), shape=(n2, n2))
        S.has_sorted_indices = True
        struct.update(Sp=Sp, Si=Si, src=src, dst=dst, S=S)
        return cls(C, blocks, rest, struct, Factor.analyze(S, ordering=ordering))

    @property
    def nnz_L(self) -> int:
        """Stored entries of the factor: the D blocks, B, and the Schur complement's L."""
        m, q = self.blocks.shape
        return int(m * q * (q + 1) // 2 + self._s["Rrow"].size * q + self.inner.nnz_L)

    @property
    def perm(self) -> np.ndarray:
        """Elimination order: the leading blocks level by level, then the rest in the inner order."""
        return np.concatenate([self.blocks.ravel(), self.rest[self.inner.perm]])

    def _not_pd(self, col: int, where: str):
        err = NotPositiveDefiniteError(
            f"C is not positive definite: the Cholesky factorization failed at column {col} of C ({where})")
        err.column = col
        return err

    def refactor(self, C):
        """Numeric factorization of C (same pattern as analysed)."""
        C = _check_matrix(C)
        W = self._C
        if C.shape != W.shape or C.nnz != W.nnz or not (
                (C.indices is W.indices and C.indptr is W.indptr)
                or (np.array_equal(C.indptr, W.indptr) and np.array_equal(C.indices, W.indices))):
            raise ValueError("C does not have the pattern given to BlockFactor.analyze")
        s = self._s
        self._valid = False
        self._zx = None
        self.n_factorizations += 1
        Cx = np.asarray(C.data, dtype=np.float64)
        lev, eff, ld, Dinv, Bv, G = _level_factors(Cx, s["dpos"], s["Rptr"], s["Bpos"])
        if lev >= 0:
            raise self._not_pd(int(self.blocks[lev, eff]), f"diagonal block of level {lev}")
        if self.dense:
            U = _eliminate_dense(Cx, Bv, G, s["Rptr"], s["Rrow"], s["Tptr"], s["Tk"], s["Tlev"], s["src"],
                                 s["k22"], s["j22"], self.rest.size)
        else:
            Sx = _eliminate(Cx, Bv, G, s["Rptr"], s["Rrow"], s["Tptr"], s["Tk"], s["Tlev"], s["Sp"], s["Si"],
                            s["src"], s["dst"])
        try:
            if self.dense:
                self.inner.factor(U)
            else:
                s["S"].data[:] = Sx
                self.inner.refactor(s["S"])
        except NotPositiveDefiniteError as e:
            col = int(self.rest[e.column]) if 0 <= e.column < self.rest.size else e.column
            raise self._not_pd(col, "Schur complement") from None
        self._num = (ld, Dinv, Bv, G)
        self._valid = True
        return self

    def _require_numeric(self):
        if not self._valid:
            raise RuntimeError("no valid numeric factorization: call refactor(C) first")

    def logdet(self) -> float:
        """log|C| = sum_i log|D_i| + log|S|."""
        self._require_numeric()
        return float(self._num[0] + self.inner.logdet())

    def solve(self, b):
        """C^-1 b for a dense 1-D or 2-D b."""
        self._require_numeric()
        b = np.asarray(b, dtype=np.float64)
        if b.ndim not in (1, 2) or b.shape[0] != self.n:
            raise ValueError(f"b must have {self.n} rows and 1 or 2 dimensions, got {b.shape}")
        B2 = b.reshape(self.n, -1)
        _, Dinv, Bv, G = self._num
        s = self._s
        y1, By = _forward(np.ascontiguousarray(B2[self.blocks]), Dinv, Bv, s["Rptr"], s["Rrow"], self.rest.size)
        x2 = np.asarray(self.inner.solve(B2[self.rest] - By)).reshape(self.rest.size, -1)
        x1 = _backward(y1, np.ascontiguousarray(x2), G, s["Rptr"], s["Rrow"])
        x = np.empty_like(B2)
        x[self.blocks] = x1
        x[self.rest] = x2
        return x.reshape(b.shape)

    def selected_inverse(self):
        """C^-1 on the pattern of C (same indptr/indices as C)."""
        self._require_numeric()
        if self._zx is None:
            s = self._s
            _, Dinv, _, G = self._num
            out = np.zeros(self._C.nnz)
            if self.dense:
                Z = self.inner.inverse()
                X, C11 = _inverse_blocks_dense(Z, Dinv, G, s["Rptr"], s["Rrow"], s["Tptr"], s["Tk"], s["Tlev"])
                out[s["src"]] = Z[s["j22"], s["k22"]]
            else:
                Zx = self.inner.selected_inverse().data
                X, C11 = _inverse_blocks(Zx, s["Sp"], s["Si"], Dinv, G, s["Rptr"], s["Rrow"], s["Tptr"], s["Tk"],
                                         s["Tlev"])
                out[s["src"]] = Zx[s["dst"]]
            for pos in (s["Bpos"], s["BposT"]):
                hit = pos >= 0
                out[pos[hit]] = -X[hit]
            hit = s["dpos"] >= 0
            out[s["dpos"][hit]] = C11[hit]
            self._zx = out
        W = self._C
        return sp.csc_matrix((self._zx.copy(), W.indices.copy(), W.indptr.copy()), shape=W.shape)

    def diag_inverse(self):
        """The diagonal of C^-1."""
        return self.selected_inverse().diagonal()
