"""Preconditioned conjugate gradients for a symmetric positive definite C given as x -> C x.

Convergence as BLUPF90's PCG solvers (conv_crit): the squared relative residual

    ||b - C x||^2 / ||b||^2 < tol      (default 1e-12)

recorded every round. The residual is recomputed from C x every ``recompute`` rounds and when the
recurrence first meets the criterion (PCG restarts from x if the true residual does not), so the
last recorded criterion is that of the returned x and not of a drifting recurrence.

With a deflation ``subspace`` (henderson.linalg.deflation) PCG iterates on (P C) x~ = P b and returns
x = Q b + P' x~. Its residual P b - P C x~ is the true residual b - C x of that x, so the criterion
stays BLUPF90's, ||b - C x||^2 / ||b||^2 with b the original right-hand side, round by round.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from ..jitnotice import njit
from .deflation import Deflation

log = logging.getLogger("henderson")

TOL = 1e-12          # BLUPF90's default conv_crit
MAX_ITER = 5000
RECOMPUTE = 50       # rounds between true residuals b - C x


@njit(cache=True)
def _step(x, r, d, Cd, alpha):
    """x += alpha d; r -= alpha C d; return r'r (one pass over the vectors)."""
    rr = 0.0
    for i in range(x.shape[0]):
        x[i] += alpha * d[i]
        r[i] -= alpha * Cd[i]
        rr += r[i] * r[i]
    return rr


@njit(cache=True)
def _direction(d, z, beta):
    """d = z + beta d."""
    for i in range(d.shape[0]):
        d[i] = z[i] + beta * d[i]


@dataclass(frozen=True)
class PCGResult:
    """x, rounds done, whether the criterion was met, and the criterion per round (round 0: the start)."""

    x: np.ndarray = field(repr=False)
    n_iter: int
    converged: bool
    criterion: np.ndarray = field(repr=False)
    seconds: float


def pcg(matvec, b: np.ndarray, precond, x0: np.ndarray | None = None, tol: float = TOL,
        max_iter: int = MAX_ITER, progress_every: int = 0, recompute: int = RECOMPUTE,
        subspace: np.ndarray | None = None) -> PCGResult:
    """Solve C x = b by PCG with ``precond(r)`` = M^-1 r; stop when ||b - C x||^2 / ||b||^2 < tol.

    ``progress_every`` > 0 logs a line (henderson logger, INFO) every that many rounds. ``subspace``:
    a group per equation (henderson.linalg.deflation.mme_subspace; -1: none) whose indicators are
    solved exactly (deflated PCG, module docstring); None or no group: plain PCG.
    """
    t0 = time.perf_counter()
    b = np.asarray(b, dtype=np.float64)
    bb = float(b @ b)
    if bb == 0.0:
        return PCGResult(np.zeros_like(b), 0, True, np.zeros(1), time.perf_counter() - t0)
    system, bt = matvec, b
    defl = None
    if subspace is not None and np.max(subspace, initial=-1) >= 0:
        defl = Deflation(lambda V, out: _columns(matvec, V, out), subspace)
        system, bt = (lambda v: defl.project(matvec(v))), defl.project(b)
    x = np.zeros_like(b) if x0 is None else np.array(x0, dtype=np.float64)
    r = bt - system(x) if x0 is not None else bt.copy()
    crit = [float(r @ r) / bb]
    z = precond(r)
    d = z.copy()
    rz = float(r @ z)
    k = 0
    while k < max_iter:
        if crit[-1] < tol:
            if k % recompute == 0:
                break
            r = bt - system(x)  # the recurrence says converged: check the true residual
            crit[-1] = float(r @ r) / bb
            if crit[-1] < tol:
                break
            z = precond(r)
            d = z.copy()        # restart from x with the true residual
            rz = float(r @ z)
        k += 1
        Cd = system(d)
        alpha = rz / float(d @ Cd)
        rr = _step(x, r, d, Cd, alpha)
        if k % recompute == 0:
            r = bt - system(x)
            rr = float(r @ r)
        crit.append(rr / bb)
        if progress_every and k % progress_every == 0:
            log.info("PCG round %d: ||r||^2/||b||^2 = %.3e (%.1f s)", k, crit[-1], time.perf_counter() - t0)
        z = precond(r)
        rz_new = float(r @ z)
        _direction(d, z, rz_new / rz)
        rz = rz_new
    if defl is not None:
        x = defl.solution(x, b)
    return PCGResult(x, k, crit[-1] < tol, np.array(crit), time.perf_counter() - t0)


def _columns(matvec, V: np.ndarray, out: np.ndarray) -> np.ndarray:
    """C V column by column into ``out`` (the few columns of a deflation subspace, once)."""
    for c in range(V.shape[1]):
        out[:, c] = matvec(np.ascontiguousarray(V[:, c]))
    return out
