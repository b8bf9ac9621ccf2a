"""The boundary finish of multi-trait models: REML over the Cholesky factors of every covariance block,
the residual R0 included (no profiled sigma2, which a multi-trait R does not have).

    Sigma_k = L_k L_k' + eps I,   R0 = L_0 L_0' + eps I,   L lower triangular, diagonals >= 0

with eps = RIDGE times R0's largest variance at the start, so that every Sigma_k stays invertible for
the MME. The gradient in L is dl/dL = 2 G L (lower triangle), G the symmetric matrix of dl/dSigma
(G[a, a] the score of the variance, G[a, b] half the score of the covariance); each evaluation is one
factorization and one selected inversion (derivatives.score). L-BFGS-B minimizes -l from the factors
of the AI/EM iterate, with the diagonals bounded at 0: a correlation of +-1 or a zero variance in a
traits x traits block is an ordinary bound there, where Newton steps in the covariance elements
never settle.
"""
from __future__ import annotations

import numpy as np

from ..errors import NotPositiveDefiniteError
from .cholesky import MAX_DECREMENT, MAX_ITER, NOISE, RIDGE, SNAP, Finish
from .derivatives import score
from .objective import Objective

RESTARTS = 10    # L-BFGS-B runs restarted from where the last stopped in its line search
SWITCH = 1e-4   # a block whose smallest eigenvalue is below this fraction of its largest goes to the finish


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
        """The gradient with 0 for diagonals held at 0 by a gradient pushing down."""
        g = self.evaluate(x)[1]
        return np.where(self.diagonal & (x <= 0) & (g > 0), 0.0, g)

    def near_face(self, x: np.ndarray) -> np.ndarray:
        """Every coordinate of a block whose factor has a diagonal below SNAP of its largest (Sigma nearly
        singular). Near the face L[a, a] = 0 the criterion goes as log(L[a, a]^2 + eps), flat at 0 and steep
        at sqrt(eps), and the range of the nearly singular Sigma (the other rows of L) sits in a ridge about
        sqrt(eps) wide: the gradient of such a block is large at its optimum to the accuracy of the
        criterion and says nothing of the distance to it (cholesky.Profiled.near_face leaves out the
        pairs of small diagonals; there sigma2 is profiled and the ridge is not crossed)."""
        out = []
        for (_, _, pairs), L in zip(self.blocks, self.factors(x)):
            small = np.diag(L) < SNAP * max(float(np.max(np.diag(L))), 1e-300)
            out += [bool(small.any())] * len(pairs)
        return np.array(out)

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
    stops in its line search; (x, decrement g' H^-1 g over the free coordinates, iterations, result)."""
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
    g = np.where(fixed | space.near_face(x), 0.0, space.free_gradient(x))
    return x, float(g @ res.hess_inv.matvec(g)), n_iter, res


def finish(obj: Objective, theta: np.ndarray, max_iter: int = MAX_ITER, callback=None) -> Finish:
    """L-BFGS-B over the factors from ``theta`` (module docstring); diagonals that end below SNAP of their
    block's largest are then tried on 0 (the others re-optimized) and freed again from there when that is
    no worse, as cholesky.finish does (the criterion is flat near a face, and L-BFGS-B stops inside).
    ``callback(dict(loglik, theta, projected_gradient))`` after every iteration."""
    space = FactorSpace(obj, theta)

    def projected(x):
        return float(np.max(np.abs(np.where(space.near_face(x), 0.0, space.free_gradient(x))), initial=0.0))

    def log(x):
        if callback is not None:
            value, _ = space.evaluate(x)
            callback(dict(loglik=-value, theta=space.theta(x), projected_gradient=projected(x)))

    none = space.held   # no coordinate held but those never estimated
    x, decrement, n_iter, res = _minimize(space, space.start(theta), none, max_iter, log)
    small = space.diagonal & (x > 0) & (x < SNAP * _block_largest(space, x))
    if small.any() and n_iter < max_iter:
        xs, _, it, _ = _minimize(space, np.where(small, 0.0, x), small | none, max_iter - n_iter, log)
        n_iter += it
        if space.evaluate(xs)[0] <= space.evaluate(x)[0] + NOISE * max(abs(space.evaluate(x)[0]), 1.0):
            x, decrement, it, res = _minimize(space, xs, none, max(max_iter - n_iter, 1), log)
            n_iter += it
    converged = bool(res.success or decrement <= MAX_DECREMENT)   # as cholesky.finish: the gradient near a face
    # is good to ~1e-2 only (the MME's condition there is ~1e8), so g' H^-1 g below 1e-3 is the optimum
    state = obj.at(space.theta(x))
    return Finish(state=state, factors=space.factors(x), converged=converged, n_iter=n_iter,
                  projected_gradient=projected(x), decrement=decrement, message=str(res.message))


def _block_largest(space: FactorSpace, x: np.ndarray) -> np.ndarray:
    """Per coordinate: the largest diagonal of its block's factor."""
    out, pos = [], 0
    for (_, _, pairs), L in zip(space.blocks, space.factors(x)):
        out += [float(np.max(np.diag(L)))] * len(pairs)
        pos += len(pairs)
    return np.array(out)
