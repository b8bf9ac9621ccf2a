"""Symbolic structure of the block elimination (henderson.linalg.blocked), computed once per pattern.

The leading part of C is block diagonal (level i of one random term: q columns); R_i are the rest
columns coupled to level i (rows of B = C21 in that level's columns), T the transpose of that map.
The Schur complement S = C22 - B D^-1 B' has the pattern of C22 plus the cliques R_i x R_i.
"""
import numpy as np

from henderson.sorting import sort_segment

from ..jitnotice import njit


@njit(cache=True)
def coupling(Cp, Ci, blocks, level_of, effect_of, rest_of):
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
    dpos = np.full((m, q, q), -1, np.int64)
    mark = np.full(n_rest, -1, np.int64)
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
    Bpos = np.full((nR, q), -1, np.int64)
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
def transpose(Rptr, Rrow, n_rest):
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
def upper_coupling(Cp, Ci, rest_cols, level_of, effect_of, Tptr, Tk, Tlev, q, nR):
    """BposT[k, a] = index into C.data of C[column (i, a), rest Rrow[k]] (the upper triangle's copy)."""
    BposT = np.full((nR, q), -1, np.int64)
    m = 0
    for t in range(Tlev.size):
        if Tlev[t] + 1 > m:
            m = Tlev[t] + 1
    slot = np.full(max(m, 1), -1, np.int64)
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
def _schur_column(j, Cp, Ci, rest_cols, rest_of, Rptr, Rrow, Tptr, Tlev, mark, out, w):
    """Rows of column j of S's pattern not yet marked for j: marked, and written to out[w:] when out
    is non-empty; returns the new w (w + the number found)."""
    write = out.size > 0
    c = rest_cols[j]
    for p in range(Cp[c], Cp[c + 1]):
        k = rest_of[Ci[p]]
        if k >= 0 and mark[k] != j:
            mark[k] = j
            if write:
                out[w] = k
            w += 1
    for t in range(Tptr[j], Tptr[j + 1]):
        i = Tlev[t]
        for kk in range(Rptr[i], Rptr[i + 1]):
            k = Rrow[kk]
            if mark[k] != j:
                mark[k] = j
                if write:
                    out[w] = k
                w += 1
    return w


@njit(cache=True)
def schur_counts(Cp, Ci, rest_cols, rest_of, Rptr, Rrow, Tptr, Tlev, limit):
    """Column pointers of the pattern of S = pattern(C22) + union_i R_i x R_i (both triangles), and
    whether they are complete: counting stops at the first column that takes the total past
    ``limit``."""
    n = rest_cols.size
    mark = np.full(n, -1, np.int64)
    Sp = np.zeros(n + 1, np.int64)
    none = np.empty(0, np.int64)
    for j in range(n):
        Sp[j + 1] = _schur_column(j, Cp, Ci, rest_cols, rest_of, Rptr, Rrow, Tptr, Tlev, mark, none, Sp[j])
        if Sp[j + 1] > limit:
            return Sp, False
    return Sp, True


@njit(cache=True)
def schur_pattern(Cp, Ci, rest_cols, rest_of, Rptr, Rrow, Tptr, Tlev, limit):
    """CSC pattern of S = pattern(C22) + union_i R_i x R_i, and where C22's entries go in it.

    Returns (ok, Sp, Si, src, dst) with S.data[dst] = C.data[src] placing C22; ok is False (and
    the arrays empty) when the pattern would exceed ``limit`` entries.
    """
    Sp, complete = schur_counts(Cp, Ci, rest_cols, rest_of, Rptr, Rrow, Tptr, Tlev, limit)
    n = rest_cols.size
    if not complete:
        e = np.empty(0, np.int64)
        return False, Sp, e, e, e
    Si = np.empty(Sp[n], np.int64)
    mark = np.full(n, -1, np.int64)
    for j in range(n):
        _schur_column(j, Cp, Ci, rest_cols, rest_of, Rptr, Rrow, Tptr, Tlev, mark, Si, Sp[j])
        sort_segment(Si, Si, Sp[j], Sp[j + 1], False)
    n22 = 0
    for c in rest_cols:
        for p in range(Cp[c], Cp[c + 1]):
            if rest_of[Ci[p]] >= 0:
                n22 += 1
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
