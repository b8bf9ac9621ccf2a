"""A projected Newton finish over the relative Cholesky factors, for where L-BFGS-B stalls on a flat face.

Near a face of the PSD cone (a block of rank q - 1 or less) the profiled criterion d(t) of cholesky.py
is accurate to about 1e-9 of itself, and L-BFGS-B, whose curvature pairs there are noise, can end in
its line search with the criterion creeping by that much per step and its own inverse Hessian
predicting a gain it cannot make. This finish takes Newton steps with the exact gradient of d(t)
and a Gauss-Newton Hessian from the average information, and judges convergence by their decrement.

With u = (t, sigma2), theta(u) the covariance elements of Sigma_k = sigma2 (T_k T_k' + RIDGE I) and
sigma2, J = dtheta/du (through VarianceModel.pack, which is linear) and AI the average information
over theta at sigma2 = sigma2_hat(t),

    H_uv = 2 J_u' AI J_v,   plus g_i / sigma2 at (t_i, sigma2)   (d2theta/dt_i dsigma2 = J_i / sigma2)

with g the exact gradient of d (the score term there equals g_i / sigma2 exactly); the Hessian of the
profiled criterion is its Schur complement on sigma2. The score terms along d2theta/dt dt' are left
out: at a face the score over theta is 1/RIDGE times larger than its projection on J and their sum
loses every digit, and what they add is positive semi-definite there (the pull onto the face).

A coordinate that only moves the null part of a T_k (its column of T_k is zero) has dtheta/dt = 0,
so its eigenvalue in H is 0: eigenvalues below EIG_FLOOR of the largest are left out of the step,
which thereby stays on the face (a projected step). Diagonals at 0 whose gradient pushes down are
held; a step is halved until d decreases, its diagonals projected on >= 0. Converged when the Newton
decrement g' H^+ g over the free coordinates is below the caller's tolerance.

The steps (polish) take any such criterion with a hessian(t): factors.FactorSpace runs them over the
factors of every multi-trait block, R0's included (no sigma2 to profile: J' AI J and its own terms).
"""
from __future__ import annotations

import numpy as np

from .derivatives import derivatives

EIG_FLOOR = 1e-9   # eigenvalues of the profiled Hessian below this times the largest count as flat
MAX_STEPS = 20
MAX_HALVINGS = 20


def jacobian(prof, t: np.ndarray, s2: float) -> np.ndarray:
    """dtheta/du at u = (t, s2): r x (len(t) + 1), the sigma2 column last."""
    vm = prof.obj.vm
    factors = prof.factors(t)
    zeros = [np.zeros_like(T) for T in factors]
    cols = []
    for k, (rows, columns) in enumerate(prof.index):
        T = factors[k]
        for a, b in zip(rows, columns):
            E = np.zeros_like(T)
            E[a, b] = 1.0
            mats = list(zeros)
            mats[k] = s2 * (E @ T.T + T @ E.T)
            cols.append(vm.pack(mats, 0.0))
    cols.append(vm.pack([T @ T.T + prof.ridge * np.eye(len(T)) for T in factors], 1.0))
    return np.column_stack(cols)


def profiled_hessian(prof, t: np.ndarray) -> np.ndarray:
    """The Gauss-Newton Hessian of the profiled criterion d(t) (module docstring): one AI evaluation."""
    obj = prof.obj
    _, g = prof.evaluate(t)
    s2 = prof.last[3]
    J = jacobian(prof, t, s2)
    H = 2.0 * J.T @ derivatives(obj, obj.at(prof.theta(t))).ai @ J
    n = len(t)
    H[:n, n] += g / s2
    H[n, :n] += g / s2
    return H[:n, :n] - np.outer(H[:n, n], H[n, :n]) / H[n, n]


def newton_step(H: np.ndarray, g: np.ndarray, free: np.ndarray) -> tuple[np.ndarray, float]:
    """(step, decrement): -H^+ g over the free coordinates, eigenvalues below EIG_FLOOR of the largest
    (and negative ones) left out; decrement = g' H^+ g."""
    step = np.zeros_like(g)
    if not free.any():
        return step, 0.0
    w, V = np.linalg.eigh(H[np.ix_(free, free)])
    keep = w > EIG_FLOOR * max(w[-1], 0.0)
    if not keep.any():
        return step, 0.0
    proj = V[:, keep].T @ g[free]
    step[free] = -V[:, keep] @ (proj / w[keep])
    return step, float(proj @ (proj / w[keep]))


def polish(space, t: np.ndarray, tol: float, log=None) -> tuple[np.ndarray, float, int]:
    """Projected Newton from t until the decrement is below ``tol`` or no step lowers the criterion
    (MAX_STEPS at most); returns (t, the decrement at t, Newton steps taken). ``log(t)`` after every step.

    ``space`` is a criterion over stacked Cholesky factors with diagonals >= 0: cholesky.Profiled (d(t),
    Hessian profiled_hessian) or factors.FactorSpace (-l over the factors of every block, R0's included);
    it gives evaluate(t) -> (value, gradient), free_gradient(t), hessian(t), the mask ``diagonal`` and the
    mask ``held`` (coordinates fixed where they are: R0's zeros of sex-limited traits)."""
    steps = 0
    while True:
        value, _ = space.evaluate(t)
        g = space.free_gradient(t)
        free = ~(space.diagonal & (t <= 0) & (g == 0)) & ~space.held
        step, decrement = newton_step(space.hessian(t), g, free)
        if decrement <= tol or steps >= MAX_STEPS:
            return t, decrement, steps
        lam = 1.0
        for _ in range(MAX_HALVINGS):
            cand = t + lam * step
            cand = np.where(space.diagonal, np.maximum(cand, 0.0), cand)
            if space.evaluate(cand)[0] < value:
                break
            lam *= 0.5
        else:
            return t, decrement, steps
        t, steps = cand, steps + 1
        if log is not None:
            log(t)
