"""Many independent PCG solves C X = B run side by side: one product C X per round for all the columns.

Each column has its own step lengths (it is r independent CG runs, not block CG), with a diagonal
preconditioner. The columns are the rows' inner dimension (X is size x r, C order), so a product
C X is one pass over the records and one over the pedigree for all the columns
(``mme_matmat``), and the PCG updates are fused numba passes over the n x r arrays: the memory
traffic of a round is a few passes over X, not a few per column.

A column stops moving once ``||b - C x||^2 / ||b||^2 < tol`` (true residual, checked as in
henderson.linalg.pcg), or, with ``energy_tol``, once the estimated error of its quadratic form
``b' C^-1 b`` is below it. PCG on C x = b from x0 raises q(x) = 2 b'x - x'C x = b'x + r'x, a
lower bound of b' C^-1 b, by exactly ``alpha (2 r'd - alpha d'C d)`` per round; its distance to
b' C^-1 b is the energy norm of the error e'C e, estimated from the last increments as a geometric
tail (Hestenes-Stiefel estimate; Strakos & Tichy 2002). The error of q is the square of the
solution's, so a quadratic form needs far fewer rounds than the solution itself.
Columns that stop leave the working arrays (compacted in place once half are done).

The passes are numba's parallel kernels of henderson.linalg.block_kernels, whose results do not
depend on the number of threads; each round runs on numba's threads or on one, whichever the
rounds so far measured faster (ThreadChoice: one thread wins where other processes hold the cores).
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import eigvalsh_tridiagonal

from . import block_kernels as bk
from .pcg import MAX_ITER, RECOMPUTE, TOL

TAIL_ROUNDS = 4          # increments over which the convergence rate of q is estimated
MAX_RATE = 0.995         # cap of that rate in the tail estimate


def mme_matmat(op, X: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """C X for the MMEOperator ``op`` with random terms of one effect each (X: size x r), into ``out``
    if given (C order, the shape of X: no fresh pages to fault in every round). Blocks of several
    columns are split between numba's threads (henderson.linalg.block_kernels)."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    out = np.empty_like(X) if out is None else out
    if X.shape[1] == 1:
        op.data_times(X[:, 0], out[:, 0])
    else:
        bk.wtw_times_columns(op.W.indptr, op.W.indices, op.W.data, X, op.rinv_scale, out,
                             bk.column_groups(X.shape[1]))
    for t, S in zip(op.terms, op.sinv):
        sl = slice(t.offset, t.offset + t.m)
        if t.kinv is None:
            out[sl] += S[0, 0] * X[sl]
        elif hasattr(t.kinv, "apply_add"):
            t.kinv.apply_add(X[sl], S[0, 0], out[sl])
        else:
            out[sl] += S[0, 0] * t.kinv.apply(X[sl])
    return out


def _colsum(A, B):
    return np.einsum("ij,ij->j", A, B)


def _compact(A: np.ndarray, keep: np.ndarray, in_place: bool, width: int | None = None) -> np.ndarray:
    """The columns ``keep`` of A (n x r, C order) as a C-order n x len(keep) array: in A's own memory
    if ``in_place`` (a view of its start; no second array at the peak), else a new array. With
    ``width`` and no columns to keep: an uninitialised n x width view of A's memory."""
    if not in_place:
        return np.ascontiguousarray(A[:, keep])
    flat = A.reshape(-1)
    n, w = A.shape[0], keep.size if width is None else width
    if keep.size:
        bk.compact_columns(flat, A.shape[1], keep)
    return flat[:n * w].reshape(n, w)


def _tail(hist: np.ndarray) -> np.ndarray:
    """Estimated e'C e left after the last of ``hist`` (rounds x columns) increments of q: a geometric
    tail inc rho / (1 - rho), rho the mean rate of decrease over the rounds held."""
    last, first = hist[-1], hist[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(first > 0, (np.maximum(last, 0) / first) ** (1.0 / (hist.shape[0] - 1)), 1.0)
    rho = np.minimum(np.nan_to_num(rho, nan=1.0), MAX_RATE)
    return np.maximum(last, 0) * rho / (1.0 - rho)


class BlockResult:
    """X (size x r), ``rounds``, ``converged`` per column, ``q`` = 2 b'x - x'C x per column,
    ``energy_error``: the estimated b'C^-1 b - q per column when it stopped (inf: not converged), and
    ``column_rounds``: the round at which each column stopped."""

    def __init__(self, X, rounds, converged, q, energy_error, column_rounds, ritz_min=None):
        self.X, self.rounds, self.converged, self.q = X, rounds, converged, q
        self.energy_error, self.column_rounds, self.ritz_min = energy_error, column_rounds, ritz_min


def _ritz_min(lanczos) -> float | None:
    """Smallest eigenvalue of the Lanczos tridiagonal of a PCG run from its (alpha_j, beta_j):
    diagonal 1/alpha_j + beta_{j-1}/alpha_{j-1}, off-diagonal sqrt(beta_j)/alpha_j."""
    if len(lanczos) < 2:
        return None
    a = np.array([x[0] for x in lanczos])
    b = np.array([x[1] for x in lanczos])
    diag = 1.0 / a
    diag[1:] += b[:-1] / a[:-1]
    off = np.sqrt(b[:-1]) / a[:-1]
    return float(eigvalsh_tridiagonal(diag, off, select="i", select_range=(0, 0))[0])


class Workspace:
    """Memory for the working arrays (C D, R, D) of pcg_block kept from one solve to the next: a solve
    of n x r takes views of the first n r entries, so that the pages are not faulted in anew (at 1M
    animals and 31 columns, 0.1 s a fresh array)."""

    def __init__(self):
        self._buffers: list[np.ndarray] = []

    def arrays(self, n: int, r: int, count: int = 3, first: int = 0) -> list[np.ndarray]:
        """``count`` C-order n x r views (uninitialised) of buffers first, first + 1, ... (pcg_block
        takes 0-2; a caller may keep its right-hand sides in 3)."""
        while len(self._buffers) < first + count:
            self._buffers.append(np.empty(0))
        for i in range(first, first + count):
            if self._buffers[i].size < n * r:
                self._buffers[i] = np.empty(n * r)
        return [self._buffers[i][:n * r].reshape(n, r) for i in range(first, first + count)]


def pcg_block(matmat, B: np.ndarray, dinv: np.ndarray, X0: np.ndarray | None = None, tol: float = TOL,
              energy_tol=None, max_iter: int = MAX_ITER, recompute: int = RECOMPUTE,
              overwrite: bool = False, lambda_min: float | None = None,
              workspace: Workspace | None = None) -> BlockResult:
    """Solve C x_j = b_j for every column by PCG with the diagonal preconditioner ``dinv`` (= diag(M)^-1),
    ``matmat(V, out)`` writing C V into ``out`` and returning it, from ``X0`` (zero if None). A column stops at
    ``||r||^2/||b||^2 < tol`` (a number or one per column)
    or, if ``energy_tol`` is given (a function of the current q of all r columns returning a threshold,
    a number or one per column), once the estimated error of its q is below that threshold (after
    TAIL_ROUNDS rounds at least). ``overwrite``: X0 (C order, float64) holds the solutions on return
    (one n x r array less). ``lambda_min``: a lower bound mu of the smallest eigenvalue of M^-1 C, making
    the error estimate the Gauss-Radau upper bound e'C e <= g_k r'M^-1 r, g_0 = 1 / mu,
    g_{k+1} = (g_k - alpha_k) / (mu (g_k - alpha_k) + beta_{k+1}) (Meurant & Tichy 2019; from the
    coefficients alone), else the geometric tail.
    The smallest Ritz value of the first column's Lanczos tridiagonal (from its PCG coefficients),
    an estimate of that eigenvalue from above, is returned as ``ritz_min``. ``workspace``: a
    :class:`Workspace` whose memory holds the working arrays (else they are allocated)."""
    B = np.ascontiguousarray(B, dtype=np.float64)
    dinv = np.ascontiguousarray(dinv, dtype=np.float64)
    r = B.shape[1]
    if X0 is None:
        Xfull = np.zeros_like(B)
    elif overwrite and X0.dtype == np.float64 and X0.flags.c_contiguous:
        Xfull = X0
    else:
        Xfull = np.array(X0, dtype=np.float64, order="C")
    bb = _colsum(B, B)
    bb = np.where(bb > 0, bb, 1.0)
    tols = np.broadcast_to(np.asarray(tol, dtype=np.float64), (r,))
    qfull, errfull, kfull = np.zeros(r), np.full(r, np.inf), np.zeros(r, dtype=np.int64)
    X, Bw, cols = Xfull, B, np.arange(r)
    CD, R, D = (workspace or Workspace()).arrays(*B.shape)
    if X0 is None:
        R[:] = B
        q = np.zeros(r)
    else:
        q = bk.residual(B, matmat(X, CD), X, dinv, R)[2]
    rr, rz = bk.start_direction(R, dinv, D)
    active = rr / bb >= tols
    errfull[~active], qfull[~active] = 0.0, q[~active]
    hist = np.zeros((0, r))
    radau = np.full(r, 1.0 / lambda_min) if lambda_min else None
    lanczos = []          # (alpha, beta) of the first column while it moves
    k = 0
    threads = bk.thread_choice(r).begin()
    try:
        while k < max_iter and active.any():
            threads.start()
            width = R.shape[1]
            k += 1
            CD = matmat(D, CD)
            dcd = bk.curvature(D, CD)
            alpha = np.where(active & (dcd > 0), rz / np.where(dcd > 0, dcd, 1.0), 0.0)
            rd, rr, rz_new = bk.step(X, R, D, CD, alpha, dinv)
            inc = alpha * (2.0 * rd - alpha * dcd)
            q = q + inc
            hist = np.vstack([hist, inc[None, :]])[-TAIL_ROUNDS:]
            first = cols[0] == 0 and active[0] and alpha[0] > 0
            crit = rr / bb[cols]
            if k % recompute == 0 or (active & (crit < tols[cols])).any():
                # the recurrence says converged (or drifts): the true residual
                rr, rz_new, q = bk.residual(Bw, matmat(X, CD), X, dinv, R)
                crit = rr / bb[cols]
            est = np.where(crit < tols[cols], 0.0, np.inf)
            if radau is not None:
                step_beta = np.where(rz > 0, rz_new / np.where(rz > 0, rz, 1.0), 0.0)
                gap = radau - alpha
                radau = np.where(alpha > 0, gap / np.where(lambda_min * gap + step_beta > 0,
                                                          lambda_min * gap + step_beta, 1.0), radau)
            if energy_tol is not None and (lambda_min or hist.shape[0] == TAIL_ROUNDS):
                qall = qfull.copy()
                qall[cols] = q
                bound = np.where(radau > 0, radau, 1.0 / lambda_min) * rz_new if lambda_min else None
                est = np.minimum(est, bound if lambda_min else _tail(hist))
                limit = np.broadcast_to(np.asarray(energy_tol(qall), dtype=np.float64), (r,))[cols]
                newly = active & ((crit < tols[cols]) | (est < limit))
            else:
                newly = active & (crit < tols[cols])
            qfull[cols[newly]], errfull[cols[newly]], kfull[cols[newly]] = q[newly], est[newly], k
            active &= ~newly
            beta = np.where(active & (rz > 0), rz_new / np.where(rz > 0, rz, 1.0), 0.0)
            if first:
                lanczos.append((alpha[0], beta[0]))
            bk.direction(D, R, dinv, beta)
            rz = rz_new
            if active.any() and active.sum() <= 0.5 * active.size:   # drop the columns that stopped
                if X is not Xfull:
                    Xfull[:, cols[~active]] = X[:, ~active]
                keep = np.flatnonzero(active)
                X, Bw = (_compact(A, keep, A is not Xfull and A is not B) for A in (X, Bw))
                R, D, CD = _compact(R, keep, True), _compact(D, keep, True), _compact(CD, keep[:0], True, keep.size)
                q, rz, hist, cols = q[active], rz[active], hist[:, active], cols[active]
                radau = None if radau is None else radau[active]
                active = np.ones(cols.size, dtype=bool)
            threads.stop(width * R.shape[0])
    finally:
        threads.restore()
    if X is not Xfull:                # else the columns are in place: no strided copy of all of them
        Xfull[:, cols] = X
    qfull[cols[active]], kfull[cols[active]] = q[active], k
    return BlockResult(Xfull, k, np.isfinite(errfull), qfull, errfull, kfull, _ritz_min(lanczos))


def pcg_columns(matmat, B: np.ndarray, dinv: np.ndarray, X0: np.ndarray | None = None, tol: float = TOL,
                max_iter: int = MAX_ITER, recompute: int = RECOMPUTE):
    """pcg_block with the residual criterion only: (X, rounds, converged per column)."""
    res = pcg_block(matmat, B, dinv, X0, tol, None, max_iter, recompute)
    return res.X, res.rounds, res.converged
