"""Block elimination of a block-diagonal leading part, then a Cholesky factor of the Schur complement.

With the columns of C split into a block-diagonal part D (m diagonal blocks of size q: the levels
of one random term without a relationship matrix) and the rest,

    C = [ D  B' ]      S = C22 - B D^-1 B'      log|C| = sum_i log|D_i| + log|S|
        [ B  C22]

D_i^-1 is a q x q inverse per level; S (the rest: other terms and the fixed effects) is assembled
in one compiled pass over the levels (blocked_numeric) on a pattern found once (blocked_symbolic)
and factored densely by LAPACK (crossed designs) or by CHOLMOD (nested designs, sparse S). This is
the block structure MixedModels.jl exploits for crossed designs: CHOLMOD, left alone, factors the
thousands of one-column leading supernodes one by one (InstEval: 0.089 s per numeric factorization
against 0.039 s blocked, `python -m benchmarks.bench_iteration`).

The selected inverse on the pattern of C follows from S^-1 on the pattern of S, with G = B D^-1:

    C^22 = S^-1      C^21 = -S^-1 G      C^11_i = D_i^-1 + G_i' (S^-1 G)_i

where every entry of S^-1 needed lies on the pattern of S (B_i B_i' is a clique of S).
"""
from __future__ import annotations

import contextlib

import numpy as np
import scipy.linalg.lapack as _lapack
import scipy.sparse as sp

from henderson.errors import NotPositiveDefiniteError
from henderson.linalg.blas_threads import blas_threads, requested_threads
from henderson.linalg.blocked_numeric import (backward, eliminate, eliminate_dense, forward, inverse_blocks,
                                              inverse_blocks_dense, level_factors, symmetrize_upper)
from henderson.linalg.blocked_symbolic import coupling, schur_counts, schur_pattern, transpose, upper_coupling
from henderson.linalg.cholmod import Factor, _check_matrix, same_pattern

MAX_SCHUR_NNZ = 150_000_000  # entries of a sparse Schur complement's pattern beyond which block elimination is refused
MAX_DENSE = 12_000           # columns of the Schur complement up to which it may be stored dense (1.15 GB)
DENSE_ALWAYS = 300           # ... always dense up to this many columns
DENSE_FILL = 0.05            # ... else dense when this share of its entries is in the pattern
ONE_THREAD_UP_TO = 2_000     # dense S up to this many columns: LAPACK on one BLAS thread unless the user asks more


class _DenseSchur:
    """S as a dense matrix: LAPACK Cholesky (dpotrf), solves (dpotrs) and inverse (dpotri).

    Up to ONE_THREAD_UP_TO columns the LAPACK calls run on one BLAS thread, or on as many as
    OPENBLAS_NUM_THREADS (OMP_NUM_THREADS) asks: on the 2-core test machine shared with other
    work, OpenBLAS's default two threads made InstEval's fit (S of 1,156 columns) 1.7-4.1 s
    against 0.42 s on one, while on a quiet machine two threads save about 0.014 s per
    factorization and inverse (benchmarks/bench_firstfit.py). Small S need it too: OpenBLAS's dpotri
    on cake's 18-column S took 30 ms per call with two threads on the loaded machine (cake's fit
    113-272 ms against 16 ms). Larger S keep OpenBLAS's own count.
    """

    ordering = "dense"

    def __init__(self, n: int):
        self.n = n
        self.nnz_L = n * (n + 1) // 2
        self.perm = np.arange(n)
        self._Lf = None
        self.threads = requested_threads(1) if n <= ONE_THREAD_UP_TO else None

    def _blas(self):
        """The BLAS thread setting of the LAPACK calls on S (a context manager)."""
        return contextlib.nullcontext() if self.threads is None else blas_threads(self.threads)

    def factor(self, U):
        """Factor S given as U (C order, U[j, k] = S[k, j] for j <= k); raises NotPositiveDefiniteError."""
        self._Lf = None
        with self._blas():
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
        with self._blas():
            x, info = _lapack.dpotrs(self._Lf, b, lower=1)
        if info != 0:
            raise ValueError(f"dpotrs: illegal argument {-info}")
        return x

    def inverse(self):
        """S^-1, dense and symmetric (C order)."""
        with self._blas():
            Zf, info = _lapack.dpotri(self._Lf, lower=1)
        if info != 0:
            raise np.linalg.LinAlgError(f"dpotri failed (info {info})")
        Z = Zf.T   # C order; its upper triangle holds S^-1
        symmetrize_upper(Z)
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
        ok, dpos, Rptr, Rrow, Bpos = coupling(Cp, Ci, blocks, level_of, effect_of, rest_of)
        if not ok:
            return None
        Tptr, Tk, Tlev = transpose(Rptr, Rrow, n2)
        BposT = upper_coupling(Cp, Ci, rest, level_of, effect_of, Tptr, Tk, Tlev, q, Rrow.size)
        struct = dict(dpos=dpos, Rptr=Rptr, Rrow=Rrow, Bpos=Bpos, BposT=BposT, Tptr=Tptr, Tk=Tk, Tlev=Tlev)
        if dense is None:
            dense = n2 <= MAX_DENSE and (
                n2 <= DENSE_ALWAYS
                or not schur_counts(Cp, Ci, rest, rest_of, Rptr, Rrow, Tptr, Tlev, DENSE_FILL * n2 * n2)[1])
        if dense:
            cols = np.repeat(np.arange(n), np.diff(Cp))
            on = (rest_of[Ci] >= 0) & (rest_of[cols] >= 0)
            struct.update(src=np.flatnonzero(on), k22=rest_of[Ci[on]], j22=rest_of[cols[on]])
            return cls(C, blocks, rest, struct, _DenseSchur(n2))
        ok, Sp, Si, src, dst = schur_pattern(Cp, Ci, rest, rest_of, Rptr, Rrow, Tptr, Tlev, max_schur_nnz)
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
        if not same_pattern(C, self._C):
            raise ValueError("C does not have the pattern given to BlockFactor.analyze")
        s = self._s
        self._valid = False
        self._zx = None
        self.n_factorizations += 1
        Cx = np.asarray(C.data, dtype=np.float64)
        lev, eff, ld, Dinv, Bv, G = level_factors(Cx, s["dpos"], s["Rptr"], s["Bpos"])
        if lev >= 0:
            raise self._not_pd(int(self.blocks[lev, eff]), f"diagonal block of level {lev}")
        if self.dense:
            U = eliminate_dense(Cx, Bv, G, s["Rptr"], s["Rrow"], s["Tptr"], s["Tk"], s["Tlev"], s["src"],
                                 s["k22"], s["j22"], self.rest.size)
        else:
            Sx = eliminate(Cx, Bv, G, s["Rptr"], s["Rrow"], s["Tptr"], s["Tk"], s["Tlev"], s["Sp"], s["Si"],
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
        y1, By = forward(np.ascontiguousarray(B2[self.blocks]), Dinv, Bv, s["Rptr"], s["Rrow"], self.rest.size)
        x2 = np.asarray(self.inner.solve(B2[self.rest] - By)).reshape(self.rest.size, -1)
        x1 = backward(y1, np.ascontiguousarray(x2), G, s["Rptr"], s["Rrow"])
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
                X, C11 = inverse_blocks_dense(Z, Dinv, G, s["Rptr"], s["Rrow"], s["Tptr"], s["Tk"], s["Tlev"])
                out[s["src"]] = Z[s["j22"], s["k22"]]
            else:
                Zx = self.inner.selected_inverse().data
                X, C11 = inverse_blocks(Zx, s["Sp"], s["Si"], Dinv, G, s["Rptr"], s["Rrow"], s["Tptr"], s["Tk"],
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
