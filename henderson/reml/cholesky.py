"""REML / ML over lme4's parameters: the relative Cholesky factors T_k, sigma2 profiled out,
diagonals T_k[j, j] >= 0; the finish for optima on the boundary of the positive semi-definite cone.

In the covariance elements the boundary of the PSD cone (a correlation of +-1, a zero variance in
a q >= 2 block) is where Sigma_k stops being invertible, and Newton steps there never settle.
Over T_k it is the face T_k[j, j] = 0, an ordinary bound. The MME need Sigma_k^-1, so

    Sigma_k = sigma2 (T_k T_k' + RIDGE I),   RIDGE = 1e-8

(the floor of 1x1 variances, driver.BOUNDARY): every eigenvalue stays at least 1e-8 sigma2, so the
MME stay well conditioned even when two diagonals of T_k are 0, and the criterion differs from
lme4's at the same T_k by about 1e-8 times its derivative in the smallest eigenvalue.

At fixed T = (T_k), with the MME at sigma2 = 1 (Sigma_1k = T_k T_k' + RIDGE I), N = n - p (REML)
or n (ML):

    sigma2_hat = y'P_1 y / N
    d(T)       = d_1 + N log sigma2_hat + N - y'P_1 y          (the profiled criterion)
    dd/dT_k    = 2 [m_k Sigma_1k^-1 - Sigma_1k^-1 (T_k1 + S_k / sigma2_hat) Sigma_1k^-1] T_k  (lower triangle)

with T_k1 and S_k the trace and BLUP blocks of derivatives.py at sigma2 = 1 (scaling Sigma and
sigma2 together by c scales the traces by c, leaves the BLUPs alone, and moves the criterion by
N log c + y'P_1 y (1/c - 1); sigma2_hat is where that is least, so its derivative drops out).

Near a face T_k[j, j] = 0 the criterion is flat (even in T_k[j, j] when column j holds only the
diagonal), so L-BFGS-B stops a little inside; diagonals below SNAP are then put on the face and
the others re-optimized, and the result is kept when it is no worse within the accuracy of the
criterion there (NOISE), as bobyqa ends on its bounds. When L-BFGS-B still stops in its line search
with its own predicted gain above MAX_DECREMENT (its curvature pairs are noise on a flat face),
projected Newton steps with an AI-based Hessian (polish.py) finish and judge convergence instead.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .derivatives import quadratic_blocks, trace_blocks
from .objective import Objective, State
from .polish import polish, profiled_hessian

RIDGE = 1e-8          # Sigma_k = sigma2 (T T' + RIDGE I); = driver.BOUNDARY
SINGULAR = 1e-4       # lme4's isSingular: a relative Cholesky diagonal below this
SNAP = 1e-2           # diagonals below this are tried on the face T[j, j] = 0
MAX_ITER = 500        # L-BFGS-B iterations in all (the driver passes Options.iterations)
RESTARTS = 3          # L-BFGS-B runs restarted from where the last stopped in its line search
GTOL = 1e-7           # projected gradient, relative to max(1, |criterion| / N)
MAX_DECREMENT = 1e-3  # a stop in the line search (the criterion no longer decreases to its accuracy) counts
                      # as converged when g' H^-1 g is below this (the gradient near a face is good to ~1e-2)
NOISE = 5e-10         # relative accuracy of the criterion near the boundary (the MME there have condition ~1e8)


@dataclass(frozen=True)
class Finish:
    """Outcome of the Cholesky finish: the state at the optimum, its factors and how it stopped."""

    state: State
    factors: list
    converged: bool
    n_iter: int
    projected_gradient: float
    decrement: float      # g' H^-1 g over the free coordinates (L-BFGS-B's inverse Hessian, or polish.py's)
    message: str
    scale: float | None = None   # Sigma_k = scale (T_k T_k' + RIDGE I) at the end (boundary_flags); None: sigma2


class Profiled:
    """The profiled criterion d(t) and its gradient over the stacked lower triangles t of the T_k."""

    def __init__(self, obj: Objective):
        self.obj = obj
        self.N = obj.pattern.n - obj.n_fixed
        self.ridge = RIDGE
        self.index = [np.tril_indices(t.q) for t in obj.vm.terms]
        self.sizes = [t.n_params for t in obj.vm.terms]
        self.diagonal = np.concatenate([r == c for r, c in self.index]) if self.index else np.zeros(0, bool)
        self.held = np.zeros(len(self.diagonal), bool)   # polish.py: no coordinate fixed here
        self.last = None   # (t, value, gradient, sigma2_hat)

    def factors(self, t: np.ndarray) -> list[np.ndarray]:
        """t -> [T_k] (rows of the lower triangle in covariance.TermCovariance.pairs() order)."""
        out, pos = [], 0
        for term, (r, c), size in zip(self.obj.vm.terms, self.index, self.sizes):
            T = np.zeros((term.q, term.q))
            T[r, c] = t[pos:pos + size]
            out.append(T)
            pos += size
        return out

    def stack(self, factors) -> np.ndarray:
        return np.concatenate([T[r, c] for T, (r, c) in zip(factors, self.index)]) if factors else np.zeros(0)

    def bounds(self) -> list[tuple]:
        """(0, None) for diagonals, (None, None) for the rest."""
        return [(0.0, None) if d else (None, None) for d in self.diagonal]

    def evaluate(self, t: np.ndarray) -> tuple[float, np.ndarray]:
        """(d(t), dd/dt)."""
        t = np.asarray(t, dtype=float)
        if self.last is not None and np.array_equal(self.last[0], t):
            return self.last[1], self.last[2]
        obj, N = self.obj, self.N
        factors = self.factors(t)
        state = obj.at(obj.vm.from_cholesky(factors, 1.0, RIDGE))
        s2 = state.yPy / N
        value = state.deviance + N * np.log(s2) + N - state.yPy
        grads = []
        if factors:
            Ttr, S = trace_blocks(obj, state), quadratic_blocks(obj, state)
            sinv = state.params.sinv
            for term, T, Tk, Sk, Si, (r, c) in zip(obj.vm.terms, factors, Ttr, S, sinv, self.index):
                D = 2.0 * (term.m * Si - Si @ (Tk + Sk / s2) @ Si) @ T
                grads.append(D[r, c])
        grad = np.concatenate(grads) if grads else np.zeros(0)
        self.last = (t.copy(), float(value), grad, s2)
        return float(value), grad

    def theta(self, t: np.ndarray) -> np.ndarray:
        """Covariance-element theta at t with sigma2 = sigma2_hat(t)."""
        self.evaluate(t)
        return self.obj.vm.from_cholesky(self.factors(t), self.last[3], RIDGE)

    def near_face(self, t: np.ndarray) -> np.ndarray:
        """Coordinates in the near-null part of a T_k: T[i, j] with T[i, i] and T[j, j] below SNAP. The
        criterion is flat along them to its accuracy, so the decrement of L-BFGS-B leaves them out."""
        out = []
        for T, (r, c) in zip(self.factors(t), self.index):
            small = np.diag(T) < SNAP
            out.append(small[r] & small[c])
        return np.concatenate(out) if out else np.zeros(0, bool)

    def free_gradient(self, t: np.ndarray) -> np.ndarray:
        """The gradient with 0 for diagonals held at 0 by a gradient pushing down."""
        _, g = self.evaluate(t)
        return np.where(self.diagonal & (t <= 0) & (g > 0), 0.0, g)

    def hessian(self, t: np.ndarray) -> np.ndarray:
        """The Gauss-Newton Hessian of d(t) (polish.profiled_hessian)."""
        return profiled_hessian(self, t)


def _minimize(prof: Profiled, t0: np.ndarray, fixed: np.ndarray, max_iter: int, gtol: float, log):
    """L-BFGS-B from t0 with the coordinates in ``fixed`` held at their values, restarted (fresh
    curvature pairs) while it stops in its line search, at most ``max_iter`` iterations in all;
    returns (t, decrement, iterations, message)."""
    from scipy import optimize  # here: importing scipy.optimize costs ~0.2 s, and most fits never get here
    bounds = [(x, x) if f else b for x, f, b in zip(t0, fixed, prof.bounds())]
    t, n_iter, decrement, message = t0, 0, np.inf, ""
    for _ in range(RESTARTS):
        if n_iter >= max_iter:
            break
        res = optimize.minimize(prof.evaluate, t, jac=True, method="L-BFGS-B", bounds=bounds, callback=log,
                       options=dict(maxiter=max_iter - n_iter, ftol=1e-15, gtol=gtol, maxcor=20))
        moved = not np.array_equal(res.x, t)
        t, n_iter, message = res.x, n_iter + int(res.nit), str(res.message)
        g = np.where(fixed | prof.near_face(t), 0.0, prof.free_gradient(t))
        decrement = float(g @ res.hess_inv.matvec(g))
        if res.success or decrement <= MAX_DECREMENT or not moved:
            break
    return t, decrement, n_iter, message


def finish(obj: Objective, theta: np.ndarray, max_iter: int = MAX_ITER, callback=None) -> Finish:
    """Minimize the profiled criterion over T from the factors of ``theta`` by L-BFGS-B (diagonals >= 0,
    exact gradient; at most ``max_iter`` iterations), try small diagonals on their face, and return
    the state at the optimum (sigma2 = sigma2_hat). ``callback(dict(loglik, theta, projected_gradient))``
    after every iteration."""
    prof = Profiled(obj)
    t0 = prof.stack(obj.vm.relative_cholesky(theta, RIDGE))
    gtol = GTOL * max(1.0, abs(prof.evaluate(t0)[0]) / max(prof.N, 1))

    def log(t):
        if callback is not None:
            value = prof.evaluate(t)[0]
            callback(dict(loglik=-0.5 * value, theta=prof.theta(t),
                          projected_gradient=float(np.max(np.abs(prof.free_gradient(t)), initial=0.0))))

    none = np.zeros(len(t0), bool)
    t, decrement, n_iter, message = _minimize(prof, t0, none, max_iter, gtol, log)
    small = prof.diagonal & (t > 0) & (t < SNAP)
    if small.any() and n_iter < max_iter:
        snapped = np.where(small, 0.0, t)
        ts, _, it_s, _ = _minimize(prof, snapped, small, max_iter - n_iter, gtol, log)
        n_iter += it_s
        best = prof.evaluate(t)[0]
        if prof.evaluate(ts)[0] <= best + NOISE * max(abs(best), 1.0) and n_iter < max_iter:
            # the face is as good: free the snapped diagonals again from there (they stay at 0 if it is a bound)
            t, decrement, it_f, message = _minimize(prof, ts, none, max_iter - n_iter, gtol, log)
            n_iter += it_f
    if not (decrement <= MAX_DECREMENT or "CONVERGENCE" in message):
        # stopped in its line search on a flat face: projected Newton steps (polish.py) judge and finish
        t, decrement, steps = polish(prof, t, MAX_DECREMENT, log)
        n_iter += steps
        message += f"; then {steps} projected Newton step(s), decrement {decrement:.3g}"
    g = prof.free_gradient(t)
    converged = decrement <= MAX_DECREMENT or "CONVERGENCE" in message
    state = obj.at(prof.theta(t))
    return Finish(state=state, factors=prof.factors(t), converged=bool(converged), n_iter=n_iter,
                  projected_gradient=float(np.max(np.abs(g), initial=0.0)), decrement=decrement, message=message)


@dataclass(frozen=True)
class Flags:
    """Per element of theta: on the boundary, estimated as zero, without a standard error; and
    whether the fit is singular (lme4's isSingular)."""

    boundary: np.ndarray
    zero: np.ndarray
    no_se: np.ndarray
    singular: bool


def boundary_flags(vm, theta: np.ndarray, scale: float | None = None) -> Flags:
    """Read the boundary off the relative Cholesky factors T_k of theta (Sigma_k = s (T_k T_k' + RIDGE I),
    s = ``scale`` or else sigma2; a 1x1 variance at driver.BOUNDARY sigma2 has T = 0). A multi-trait fit
    finished over its factors (factors.py: Sigma_k = L_k L_k' + eps I) passes s = eps / RIDGE, so that
    T_k = L_k / sqrt(s): its ridge, not R0[0, 0], is what a block at 0 sits on.

    A diagonal T_k[j, j] below SINGULAR puts Sigma_k on the boundary of the PSD cone (lme4's
    isSingular). When row j of T_k is about that diagonal alone (Sigma_k[j, j] below 2 RIDGE sigma2),
    effect j has variance zero: its variance and covariances are on the boundary and reported as
    0. Otherwise effect j is a linear combination of the earlier ones (a correlation of +-1 for
    q = 2): its covariances with them are on the boundary, and no element of the block gets a
    standard error.
    """
    theta = np.asarray(theta, dtype=float)
    r = len(theta)
    boundary, zero, no_se = np.zeros(r, bool), np.zeros(r, bool), np.zeros(r, bool)
    singular = False
    for term, off, T in zip(vm.terms, vm.offsets(), vm.relative_cholesky(theta, RIDGE, scale)):
        for j in np.flatnonzero(np.diag(T) < SINGULAR):
            singular = True
            mine = [off + i for i in term.cov.involving(j)]
            if float(T[j] @ T[j]) <= RIDGE and term.cov.kind in ("us", "diag"):
                boundary[mine] = zero[mine] = True
            else:
                boundary[[off + i for i in term.cov.with_earlier(j)]] = True
                no_se[off:off + term.n_params] = True
    return Flags(boundary=boundary, zero=zero, no_se=no_se | boundary, singular=singular)
