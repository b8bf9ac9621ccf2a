"""The boundary finish of multi-trait models: REML over the Cholesky factors of every covariance block,
the residual R0 included (no profiled sigma2, which a multi-trait R does not have).

    Sigma_k = L_k L_k' + eps I,   R0 = L_0 L_0' + eps I,   L lower triangular, diagonals >= 0

with eps = RIDGE times R0's largest variance at the start, so that every Sigma_k stays invertible for
the MME. The gradient in L is dl/dL = 2 G L (lower triangle), G the symmetric matrix of dl/dSigma
(G[a, a] the score of the variance, G[a, b] half the score of the covariance); each evaluation is one
factorization and one selected inversion (derivatives.score). L-BFGS-B minimizes -l from the factors
of the AI/EM iterate, with the diagonals bounded at 0: a correlation of +-1 or a zero variance in a
traits x traits block is an ordinary bound there, where Newton steps in the covariance elements
never settle. L-BFGS-B stops in its line search near such a face (its curvature pairs are noise there),
so projected Newton steps (polish.py, with FactorSpace's gradient and Hessian) finish and judge by
their decrement.
"""
from __future__ import annotations

import numpy as np

from ..errors import NotPositiveDefiniteError
from .cholesky import MAX_ITER, NOISE, RIDGE, SNAP, Finish
from .derivatives import derivatives, score
from .objective import Objective
from .polish import polish

RESTARTS = 10    # L-BFGS-B runs restarted from where the last stopped in its line search
SWITCH = 1e-4   # a block whose smallest eigenvalue is below this fraction of its largest goes to the finish
FD_STEP = 1e-3  # differences over a block near a face: this times the block's largest diagonal of L
TOL = 1e-6      # converged when the Newton decrement g' H^+ g (twice the log-likelihood still to gain) is below
AIM = 1e-7      # this; the Newton steps go on to AIM while they lower -l, which near a face is good to ~5e-8
                # only (its differences give the gradient to ~1e-4), so AIM is not always verifiable


def _blocks(vm) -> list[tuple[slice, int, list]]:
    """(positions in theta, q, lower-triangle pairs) of every term and of R0."""
    out = [(vm.term_slice(k), t.q, t.pairs()) for k, t in enumerate(vm.terms)]
    res = vm.residual
    pos = res.factor_order()   # R0's traits reordered so that its held zeros are zeros of L0 (residual.traits)
    return out + [(vm.residual_slice, res.t, [(max(pos[a], pos[b]), min(pos[a], pos[b])) for a, b in res.cov.pairs()])]


def near_boundary(vm, theta: np.ndarray, level: float = SWITCH) -> bool:
    """Whether a q >= 2 block (a term's Sigma or R0) has an eigenvalue below ``level`` of its largest."""
    theta = np.asarray(theta, dtype=float)
    for sl, q, pairs in _blocks(vm):
        if q < 2:
            continue
        S = np.zeros((q, q))
        for v, (a, b) in zip(theta[sl], pairs):
            S[a, b] = S[b, a] = v
        w = np.linalg.eigvalsh(S)
        if w[0] < level * w[-1]:
            return True
    return False


class FactorSpace:
    """theta <-> the stacked lower triangles x of the L_k, and -l(x) with its gradient."""

    def __init__(self, obj: Objective, theta: np.ndarray):
        self.obj, self.blocks = obj, _blocks(obj.vm)
        theta = np.asarray(theta, dtype=float)
        self.eps = RIDGE * float(np.max(np.diag(self._matrix(theta, self.blocks[-1]))))
        self.diagonal = np.concatenate([[a == b for a, b in pairs] for _, _, pairs in self.blocks])
        # L0[a, b] = 0 for traits never recorded on the same row holds R0[a, b] = 0 (residual.traits.factor_order)
        self.held = np.zeros(len(self.diagonal), dtype=bool)
        self.held[len(self.diagonal) - len(self.blocks[-1][2]) + obj.vm.residual.fixed] = True
        self.last = None

    @staticmethod
    def _matrix(v: np.ndarray, block) -> np.ndarray:
        sl, q, pairs = block
        S = np.zeros((q, q))
        for x, (a, b) in zip(v[sl], pairs):
            S[a, b] = S[b, a] = x
        return S

    def start(self, theta: np.ndarray) -> np.ndarray:
        """x of the factors of theta's blocks less eps I (eigenvalues raised to 1e-12 of the largest first)."""
        out = []
        for block in self.blocks:
            S = self._matrix(theta, block) - self.eps * np.eye(block[1])
            w, V = np.linalg.eigh(S)
            S = (V * np.maximum(w, 1e-12 * max(w[-1], 1e-300))) @ V.T
            L = np.linalg.cholesky(0.5 * (S + S.T))
            out.append([L[a, b] for a, b in block[2]])
        return np.where(self.held, 0.0, np.concatenate(out))

    def factors(self, x: np.ndarray) -> list[np.ndarray]:
        out, pos = [], 0
        for _, q, pairs in self.blocks:
            L = np.zeros((q, q))
            for v, (a, b) in zip(x[pos:pos + len(pairs)], pairs):
                L[a, b] = v
            out.append(L)
            pos += len(pairs)
        return out

    def theta(self, x: np.ndarray) -> np.ndarray:
        theta = np.empty(self.obj.vm.n_params)
        for (sl, q, pairs), L in zip(self.blocks, self.factors(x)):
            S = L @ L.T + self.eps * np.eye(q)
            theta[sl] = [S[a, b] for a, b in pairs]
        return theta

    def free_gradient(self, x: np.ndarray) -> np.ndarray:
        """The accurate gradient (gradient) with 0 for diagonals held at 0 by a gradient pushing down and
        for the coordinates held (R0's zeros of traits never recorded together)."""
        g = self.gradient(x)
        return np.where((self.diagonal & (x <= 0) & (g > 0)) | self.held, 0.0, g)

    def gradient(self, x: np.ndarray) -> np.ndarray:
        """-dl/dx, accurate near a face: the score's chain rule (evaluate), except over the coordinates of
        a block near a face (near_face), where it is lost to cancellation, by differences of -l with a step
        of FD_STEP times the block's largest diagonal (central; one-sided, second order, for a diagonal
        within a step of 0). -l is good to ~1e-7 there, so the differences are good to ~1e-4."""
        g = self.evaluate(x)[1].copy()
        largest = _block_largest(self, x)
        for i in np.flatnonzero(self.near_face(x)):
            e = np.zeros(len(x))
            e[i] = h = FD_STEP * largest[i]
            if self.diagonal[i] and x[i] < h:
                g[i] = (-3.0 * self.value(x) + 4.0 * self.value(x + e) - self.value(x + 2.0 * e)) / (2.0 * h)
            else:
                g[i] = (self.value(x + e) - self.value(x - e)) / (2.0 * h)
        return g

    def value(self, x: np.ndarray) -> float:
        """-l(x) alone (one factorization); +inf where the MME cannot be factored."""
        try:
            return -self.obj.at(self.theta(x)).loglik
        except NotPositiveDefiniteError:
            return np.inf

    def near_face(self, x: np.ndarray) -> np.ndarray:
        """Every coordinate of a block whose factor has a diagonal below SNAP of its largest (Sigma nearly
        singular). Its score is m Sigma^-1 - Sigma^-1 (T + S) Sigma^-1, two terms of order 1/eps that
        cancel, with T from a selected inverse of MME whose condition is ~1/eps: the chain-rule gradient
        of such a block is off by ~1e-1 at its optimum (central differences of -l: ~1e-3), so it is taken
        by differences there (gradient)."""
        out = []
        for (_, _, pairs), L in zip(self.blocks, self.factors(x)):
            small = np.diag(L) < SNAP * max(float(np.max(np.diag(L))), 1e-300)
            out += [bool(small.any())] * len(pairs)
        return np.array(out)

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        """dtheta/dx: column (a, b) of block k holds Sigma_k's elements of E L_k' + L_k E', E = e_a e_b'."""
        J = np.zeros((self.obj.vm.n_params, len(x)))
        col = 0
        for (sl, q, pairs), L in zip(self.blocks, self.factors(x)):
            for a, b in pairs:
                E = np.zeros((q, q))
                E[a, b] = 1.0
                D = E @ L.T + L @ E.T
                J[sl, col] = [D[c, d] for c, d in pairs]
                col += 1
        return J

    def hessian(self, x: np.ndarray) -> np.ndarray:
        """The Hessian of -l(x) for polish.py: J' AI J (one AI evaluation) plus, for a block near a face,
        the score term along d2Sigma/dL dL', 2 M[a, c] between L[a, b] and L[c, b], M = -dl/dSigma on the
        block's near-null space N (null_curvature); elsewhere that term is left out (it vanishes at an
        interior optimum, and at a face the score is N (.) N' by the optimality conditions). Without it,
        a rotation of the range of a rank-deficient Sigma into N, whose curvature it is, overshoots."""
        self.evaluate(x)
        J = self.jacobian(x)
        H = J.T @ derivatives(self.obj, self.last[3]).ai @ J
        face, pos = self.near_face(x), 0
        for block, L in zip(self.blocks, self.factors(x)):
            pairs = block[2]
            if face[pos]:
                M = self.null_curvature(x, block, L)
                for i, (a, b) in enumerate(pairs):
                    for j, (c, d) in enumerate(pairs):
                        if b == d:
                            H[pos + i, pos + j] += 2.0 * M[a, c]
            pos += len(pairs)
        return H

    def null_curvature(self, x: np.ndarray, block, L: np.ndarray) -> np.ndarray:
        """N D N', D the positive part of -dl/dSigma over N (the eigenvectors of L L' below SNAP^2 of its
        largest eigenvalue), by one-sided differences of -l along Sigma + s n n' (the score itself is lost
        to cancellation there, see near_face)."""
        sl, q, pairs = block
        w, V = np.linalg.eigh(L @ L.T)
        N = V[:, w < SNAP * SNAP * w[-1]]
        s = FD_STEP * w[-1]
        theta, f0 = self.theta(x), self.value(x)

        def slope(n):
            def f(t):
                th = theta.copy()
                th[sl] += [t * n[a] * n[b] for a, b in pairs]
                try:
                    return -self.obj.at(th).loglik
                except NotPositiveDefiniteError:
                    return np.inf
            return (-3.0 * f0 + 4.0 * f(s) - f(2.0 * s)) / (2.0 * s)
        k = N.shape[1]
        D = np.zeros((k, k))
        for i in range(k):
            D[i, i] = slope(N[:, i])
        for i in range(k):
            for j in range(i):
                D[i, j] = D[j, i] = 0.5 * (slope(N[:, i] + N[:, j]) - D[i, i] - D[j, j])
        e, U = np.linalg.eigh(D)
        return N @ ((U * np.maximum(e, 0.0)) @ U.T) @ N.T

    def evaluate(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """(-l(x), -dl/dx); +inf where the MME cannot be factored."""
        x = np.asarray(x, dtype=float)
        if self.last is not None and np.array_equal(self.last[0], x):
            return self.last[1], self.last[2]
        try:
            state = self.obj.at(self.theta(x))
        except NotPositiveDefiniteError:
            return np.inf, np.zeros_like(x)
        g = score(self.obj, state)
        grads = []
        for (sl, q, pairs), L in zip(self.blocks, self.factors(x)):
            G = np.zeros((q, q))
            for s, (a, b) in zip(g[sl], pairs):
                G[a, b] = G[b, a] = s if a == b else 0.5 * s
            D = 2.0 * G @ L
            grads.append([-D[a, b] for a, b in pairs])
        self.last = (x.copy(), -state.loglik, np.concatenate(grads), state)
        return self.last[1], self.last[2]


def _minimize(space: FactorSpace, x0: np.ndarray, fixed: np.ndarray, max_iter: int, log):
    """L-BFGS-B from x0 with the coordinates in ``fixed`` held, restarted (fresh curvature pairs) while it
    stops in its line search; (x, iterations, result)."""
    from scipy import optimize
    bounds = [(v, v) if f else ((0.0, None) if d else (None, None)) for v, f, d in zip(x0, fixed, space.diagonal)]
    scale = max(1.0, abs(space.evaluate(x0)[0]) / max(space.obj.pattern.n, 1))
    x, n_iter, res = x0, 0, None
    for _ in range(RESTARTS):
        res = optimize.minimize(space.evaluate, x, jac=True, method="L-BFGS-B", bounds=bounds, callback=log,
                                options=dict(maxiter=max(max_iter - n_iter, 1), ftol=1e-15, gtol=1e-7 * scale,
                                             maxcor=20))
        moved = not np.array_equal(res.x, x)
        x, n_iter = res.x, n_iter + int(res.nit)
        if res.success or not moved or n_iter >= max_iter:
            break
    return x, n_iter, res


def finish(obj: Objective, theta: np.ndarray, max_iter: int = MAX_ITER, callback=None) -> Finish:
    """L-BFGS-B over the factors from ``theta`` (module docstring); diagonals that end below SNAP of their
    block's largest are then tried on 0 (the others re-optimized) and freed again from there when that is
    no worse, as cholesky.finish does (the criterion is flat near a face, and L-BFGS-B stops inside, its
    curvature pairs noise). Projected Newton steps (polish.py: the accurate gradient, the Hessian J' AI J,
    flat directions and diagonals held at 0 left out) then finish (to AIM) and judge: converged when
    their decrement is below TOL. ``callback(dict(loglik, theta, projected_gradient))`` after every iteration
    (the gradient there by the chain rule, without the coordinates of blocks near a face)."""
    space = FactorSpace(obj, theta)

    def log(x):
        if callback is not None:
            value, g = space.evaluate(x)
            g = np.abs(np.where(space.near_face(x) | (space.diagonal & (x <= 0) & (g > 0)), 0.0, g))
            callback(dict(loglik=-value, theta=space.theta(x), projected_gradient=float(np.max(g, initial=0.0))))

    none = space.held   # no coordinate held but those never estimated
    x, n_iter, res = _minimize(space, space.start(theta), none, max_iter, log)
    small = space.diagonal & (x > 0) & (x < SNAP * _block_largest(space, x))
    if small.any() and n_iter < max_iter:
        xs, it, _ = _minimize(space, np.where(small, 0.0, x), small | none, max_iter - n_iter, log)
        n_iter += it
        if space.evaluate(xs)[0] <= space.evaluate(x)[0] + NOISE * max(abs(space.evaluate(x)[0]), 1.0):
            x, it, res = _minimize(space, xs, none, max(max_iter - n_iter, 1), log)
            n_iter += it
    x, decrement, steps = polish(space, x, AIM, log)
    state = obj.at(space.theta(x))
    return Finish(state=state, factors=space.factors(x), converged=bool(decrement <= TOL), n_iter=n_iter + steps,
                  projected_gradient=float(np.max(np.abs(space.free_gradient(x)), initial=0.0)),
                  decrement=decrement,
                  message=f"{res.message}; then {steps} projected Newton step(s), decrement {decrement:.3g}",
                  scale=space.eps / RIDGE)


def _block_largest(space: FactorSpace, x: np.ndarray) -> np.ndarray:
    """Per coordinate: the largest diagonal of its block's factor."""
    out, pos = [], 0
    for (_, _, pairs), L in zip(space.blocks, space.factors(x)):
        out += [float(np.max(np.diag(L)))] * len(pairs)
        pos += len(pairs)
    return np.array(out)
