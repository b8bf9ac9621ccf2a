"""Sparse Cholesky factor of a symmetric positive definite C (CHOLMOD through scikit-sparse).

The only module of henderson that imports scikit-sparse. One symbolic analysis (fill-reducing
permutation P and the pattern of L with L L' = P C P') serves every numeric refactorization of a
matrix with the same pattern; the selected inverse C^-1 on the pattern of C comes from the
Takahashi recurrences on L (henderson.linalg.selinv).

CHOLMOD's Factor.L() copies the factor before converting the copy to a simplicial LL' matrix, so
extracting L leaves the supernodal factor (and the speed of later refactorizations) untouched.
"""

import numpy as np
import scipy.sparse as sp
from sksparse import cholmod as _cholmod

from henderson.errors import NotPositiveDefiniteError
from henderson.jitnotice import njit
from henderson.linalg import selinv as _selinv
from henderson.linalg.blas_threads import requested_threads
from henderson.linalg.ordering import dense_columns, dense_last_order

ORDERINGS = ("amd", "metis", "best", "natural", "dense-last")
MODES = ("auto", "supernodal", "simplicial")


def _check_matrix(C):
    """Return C as a square float64 csc_matrix with sorted indices, or raise ValueError."""
    if not sp.issparse(C) or C.format != "csc":
        raise ValueError(f"C must be a scipy.sparse csc matrix, got {type(C).__name__}")
    if C.shape[0] != C.shape[1]:
        raise ValueError(f"C must be square, got shape {C.shape}")
    if not C.has_sorted_indices:
        raise ValueError("C must have sorted indices (call C.sort_indices() first)")
    return C


def amd_permutation(C) -> np.ndarray:
    """CHOLMOD's AMD permutation of the symmetric csc matrix C (with the cheap simplicial analysis)."""
    return np.asarray(_cholmod.analyze(C, mode="simplicial", ordering_method="amd").P(), dtype=np.int64)


@njit(cache=True)
def _symmetric_permutation(Cp, Ci, q, pinv, Mp, Mi, data_map):
    """The pattern of M = C[q][:, q] for a C of symmetric pattern, rows sorted without a sort: columns are
    visited in the new order and each entry (i, j) goes to column pinv[i] of M as row pinv[j] (M's
    transpose, filled row by row, which is M itself), with data_map[p] its position in C."""
    n = q.size
    for j in range(n):
        for p in range(Cp[j], Cp[j + 1]):
            Mp[pinv[Ci[p]] + 1] += 1
    for k in range(n):
        Mp[k + 1] += Mp[k]
    fill = Mp[:-1].copy()
    for k in range(n):
        j = q[k]
        for p in range(Cp[j], Cp[j + 1]):
            c = pinv[Ci[p]]
            w = fill[c]
            Mi[w] = k
            data_map[w] = p
            fill[c] = w + 1


def _permuted(C, q):
    """(C[q][:, q] as a sorted csc matrix, map) with C[q][:, q].data == C.data[map], for C of symmetric
    pattern and values (the MME): an entry of M may take its value from the mirror entry of C. Indices and
    map are int32 when C allows (single-step's 10^8 entries: no float tags, no row and column copies)."""
    n = C.shape[0]
    q = np.asarray(q, dtype=np.int64)
    pinv = np.empty(n, dtype=np.int64)
    pinv[q] = np.arange(n)
    itype = np.int32 if C.nnz < 2**31 - 1 else np.int64
    Mp = np.zeros(n + 1, dtype=np.int64)
    Mi = np.empty(C.nnz, dtype=itype)
    data_map = np.empty(C.nnz, dtype=itype)
    _symmetric_permutation(C.indptr, C.indices, q, pinv, Mp, Mi, data_map)
    M = sp.csc_matrix((np.asarray(C.data, dtype=np.float64)[data_map], Mi, Mp.astype(itype)), shape=C.shape)
    M.has_sorted_indices = True
    return M, data_map


def same_pattern(A, B) -> bool:
    """Whether the csc matrices A and B have the same shape and stored pattern."""
    if A.shape != B.shape or A.nnz != B.nnz:
        return False
    if A.indices is B.indices and A.indptr is B.indptr:
        return True
    return np.array_equal(A.indptr, B.indptr) and np.array_equal(A.indices, B.indices)


class _LPattern:
    """Pattern of L (CSC), its supernodes, and the map from C's entries into L's storage: c_pos[i] is the
    position of C.data[i] for the C given to Factor.analyze (through ``data_map`` when the factor works
    on a permuted copy W of it, W.data = C.data[data_map])."""

    def __init__(self, L, C, perm, data_map=None):
        self.Lp = np.ascontiguousarray(L.indptr)
        self.Li = np.ascontiguousarray(L.indices)
        _selinv.check_factor_layout(self.Lp, self.Li)
        self.sup = _selinv.find_supernodes(self.Lp, self.Li)
        pinv = np.empty_like(perm)
        pinv[perm] = np.arange(perm.size, dtype=perm.dtype)
        self.pinv = pinv
        pos = _selinv.pattern_positions(C.indptr, C.indices, pinv, self.Lp, self.Li)
        if data_map is not None:
            given = np.empty_like(pos)
            given[data_map] = pos
            pos = given
        self.c_pos = pos.astype(np.int32) if self.Li.size < 2**31 else pos   # half the memory (10^8 entries)
        self.diag_pos = self.Lp[:-1]

    def matches(self, L):
        """Whether L has exactly this pattern (it must: the symbolic analysis never changes)."""
        return np.array_equal(L.indptr, self.Lp) and np.array_equal(L.indices, self.Li)


class Factor:
    """Cholesky factor L L' = P C P' with a fixed symbolic analysis and numeric refactorization.

    Build with Factor.analyze(C, ordering); then refactor(C) with new values on the same pattern.
    """

    def __init__(self, chol, C, ordering, outer=None, data_map=None, pattern=None):
        self._chol = chol
        self._C = C  # private working matrix: the analysed pattern, values overwritten on refactor
        self.ordering = ordering
        self.n = C.shape[0]
        # outer: a permutation chosen here (dense-last) and applied before CHOLMOD, whose working matrix
        # is then C[outer][:, outer] with data C.data[data_map]; pattern: the (indptr, indices) given
        self._outer, self._map = outer, data_map
        self._given = pattern if pattern is not None else (C.indptr, C.indices)
        inner = np.array(chol.P(), dtype=np.int64)
        perm = inner if outer is None else outer[inner]
        perm.setflags(write=False)
        self._inner = inner
        self._perm = perm
        self._pattern = None
        self._valid = False
        self._zx = None
        self.n_factorizations = 0

    @classmethod
    def analyze(cls, C, ordering="amd", mode="auto"):
        """Return the symbolic analysis of the pattern of C (values are ignored, zeros count).

        ordering is one of CHOLMOD's "amd", "metis", "best", "natural", or "dense-last" (AMD on the
        sparse columns, the dense ones last: henderson.linalg.ordering); mode is CHOLMOD's "auto",
        "supernodal" or "simplicial".
        """
        C = _check_matrix(C)
        if ordering not in ORDERINGS:
            raise ValueError(f"unknown ordering {ordering!r}; expected one of {ORDERINGS}")
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
        itype = np.int32 if C.nnz < 2**31 - 1 else np.int64
        work = sp.csc_matrix(
            (
                np.array(C.data, dtype=np.float64),
                np.array(C.indices, dtype=itype),
                np.array(C.indptr, dtype=itype),
            ),
            shape=C.shape,
        )
        work.has_sorted_indices = True
        if ordering != "dense-last" or dense_columns(work).size == 0:   # no dense columns: AMD itself
            method = "amd" if ordering == "dense-last" else ordering
            return cls(_cholmod.analyze(work, mode=mode, ordering_method=method), work, ordering)
        outer = dense_last_order(work, amd_permutation)
        M, data_map = _permuted(work, outer)
        chol = _cholmod.analyze(M, mode=mode, ordering_method="natural")
        return cls(chol, M, ordering, outer=outer, data_map=data_map, pattern=(work.indptr, work.indices))

    @property
    def perm(self):
        """Fill-reducing permutation: row k of P C P' is row perm[k] of C."""
        return self._perm

    @property
    def nnz_L(self):
        """Number of stored entries of L (including zeros kept by supernodal amalgamation)."""
        return int(self._l_pattern().Li.size)

    def refactor(self, C):
        """Overwrite the numeric factor with that of C (same pattern as analysed; no re-analysis).

        Raises NotPositiveDefiniteError naming the failing column of C when C is not positive
        definite.
        """
        C = _check_matrix(C)
        indptr, indices = self._given
        if C.shape != self._C.shape or not (C.indptr is indptr and C.indices is indices or (
                np.array_equal(C.indptr, indptr) and np.array_equal(C.indices, indices))):
            raise ValueError("C does not have the pattern given to Factor.analyze")
        self._C.data[:] = C.data if self._map is None else np.asarray(C.data)[self._map]
        self._valid = False
        self._zx = None
        self.n_factorizations += 1
        try:
            self._chol.cholesky_inplace(self._C)
        except _cholmod.CholmodNotPositiveDefiniteError as e:
            raise self._not_pd(int(e.column) if e.column is not None else -1) from None
        # A simplicial factor is LDL' and does not fail on an indefinite C: check its pivots. D holds
        # the pivots (L_jj^2 for LL'), so log|C| = sum log D comes with the check.
        d = self._chol.D()
        bad = np.flatnonzero(~(d > 0))
        if bad.size:
            raise self._not_pd(int(bad[0]))
        self._logdet = float(np.log(d).sum())
        self._valid = True
        return self

    def _not_pd(self, k):
        """Return the NotPositiveDefiniteError for a failure at pivot k of P C P'."""
        col = int(self._perm[k]) if 0 <= k < self.n else k
        err = NotPositiveDefiniteError(
            f"C is not positive definite: the Cholesky factorization failed at column {col} "
            f"of C (pivot {k} in the fill-reducing order)"
        )
        err.column = col
        return err

    def _require_numeric(self):
        if not self._valid:
            raise RuntimeError("no valid numeric factorization: call refactor(C) first")

    def solve(self, b):
        """Return C^-1 b for a dense 1-D or 2-D b (same shape as b)."""
        self._require_numeric()
        b = np.asarray(b, dtype=np.float64)
        if b.ndim not in (1, 2) or b.shape[0] != self.n:
            raise ValueError(f"b must have {self.n} rows and 1 or 2 dimensions, got {b.shape}")
        if self._outer is None:
            return np.asarray(self._chol.solve_A(b)).reshape(b.shape)
        x = np.asarray(self._chol.solve_A(b[self._outer])).reshape(b.shape)
        out = np.empty_like(x)
        out[self._outer] = x
        return out

    def logdet(self):
        """Return log|C| = 2 sum log L_jj."""
        self._require_numeric()
        return self._logdet

    def _extract_L(self):
        """Return L (CSC) of the current factor, from a copy of the CHOLMOD factor."""
        return self._chol.L()

    def _l_pattern(self, L=None):
        if self._pattern is None:
            self._require_numeric()
            L = self._extract_L() if L is None else L
            self._pattern = _LPattern(L, self._C, self._inner, self._map)
        return self._pattern

    def selected_inverse_on_L(self):
        """Return (Lp, Li, Zx): Z = (P C P')^-1 on the pattern of L, with values aligned to L."""
        self._require_numeric()
        if self._zx is None:
            L = self._extract_L()
            pat = self._l_pattern(L)
            if not pat.matches(L):
                raise RuntimeError("the pattern of L changed between factorizations")
            Lx = np.ascontiguousarray(L.data, dtype=np.float64)
            del L
            # dpotri on a wide last supernode: one BLAS thread unless the user asks more (OPENBLAS_NUM_THREADS):
            # on the shared 2-core machine OpenBLAS's two threads made it 1.8x slower, not faster (load 5)
            self._zx = _selinv.selected_inverse_values(pat.Lp, pat.Li, Lx, pat.sup, dense_threads=requested_threads(1))
        pat = self._pattern
        return pat.Lp, pat.Li, self._zx

    def selected_inverse(self):
        """Return S = C^-1 on the pattern of C: same indptr/indices as C, S[i, j] = (C^-1)[i, j]."""
        _, _, zx = self.selected_inverse_on_L()
        indptr, indices = self._given
        return sp.csc_matrix((zx[self._pattern.c_pos], indices.copy(), indptr.copy()), shape=self._C.shape)

    def diag_inverse(self):
        """Return the diagonal of C^-1 (from the selected inverse)."""
        Lp, _, zx = self.selected_inverse_on_L()
        d = np.empty(self.n)
        d[self._perm] = zx[Lp[:-1]]
        return d
