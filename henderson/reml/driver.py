"""REML / ML iterations: EM steps to start, then AI (Newton with the average information)
with step-halving, an active set for variances at zero, and EM as the fallback.

Converged when both the change in log-likelihood and the Newton decrement
score' AI^-1 score (over the free parameters) are below ``tol``.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import ConvergenceWarning
from ..linalg import Factor
from .derivatives import Derivatives, derivatives, em_update
from .objective import Objective, State

BOUNDARY = 1e-8      # a variance at BOUNDARY * sigma2 is on the boundary (reported as 0)
MAX_HALVINGS = 12


@dataclass(frozen=True)
class Options:
    algorithm: str = "ai"
    max_iter: int = 200
    tol: float | None = None   # default 1e-8 for AI, 1e-11 for EM (EM's small steps understate the distance)
    em_start: int = 1
    callback: object = None


@dataclass
class Trace:
    """The iteration log and the final state of a REML/ML run."""

    state: State
    deriv: Derivatives
    converged: bool
    rows: list = field(default_factory=list)
    boundary: np.ndarray | None = None
    criteria: dict = field(default_factory=dict)


def _single_variances(obj: Objective) -> np.ndarray:
    """Positions in theta of variances of 1x1 terms (those that may sit at zero)."""
    out, pos = [], 0
    for t in obj.vm.terms:
        if t.q == 1:
            out.append(pos)
        pos += t.n_params
    return np.array(out, dtype=np.int64)


def _ols(X, y) -> np.ndarray:
    """Least-squares b of y on X (full column rank after aliased columns were dropped), sparse."""
    XtX = sp.csc_matrix(X.T @ X)
    XtX = XtX + sp.identity(XtX.shape[0], format="csc") * (1e-10 * XtX.diagonal().max())
    XtX.sort_indices()
    f = Factor.analyze(XtX)
    f.refactor(XtX)
    return f.solve(X.T @ y)


def start_values(obj: Objective) -> np.ndarray:
    """Half the OLS residual variance for sigma2; the other half shared by the terms, scaled by each effect's size."""
    pat = obj.pattern
    X = pat.W[:, :pat.p]
    if pat.p:
        r = pat.y - X @ _ols(X, pat.y)
    else:
        r = pat.y
    v = float(r @ r) / max(pat.n - pat.p, 1)
    share = 0.5 * v / max(len(obj.vm.terms), 1)
    sigmas = []
    for k, t in enumerate(obj.vm.terms):
        Z = pat.W[:, pat.term_slice(k)]
        scale = np.asarray(Z.multiply(Z).sum(axis=0)).ravel().reshape(t.q, t.m).sum(axis=1) / pat.n
        sigmas.append(np.diag(share / np.maximum(scale, 1e-12)))
    return obj.vm.pack(sigmas, 0.5 * v)


def _project(obj: Objective, theta: np.ndarray, single: np.ndarray) -> np.ndarray:
    """Put variances of 1x1 terms that are below twice the boundary value on the boundary value."""
    theta = theta.copy()
    floor = BOUNDARY * theta[-1]
    if len(single):
        theta[single] = np.where(theta[single] <= 2 * floor, floor, theta[single])
    return theta


def _at_boundary(theta, d: Derivatives, single) -> np.ndarray:
    """Active set: 1x1 variances at the floor whose score pushes further down."""
    active = np.zeros(len(theta), dtype=bool)
    if len(single):
        floor = BOUNDARY * theta[-1] * (1 + 1e-6)
        active[single] = (theta[single] <= floor) & (d.score[single] <= 0)
    return active


def _newton(d: Derivatives, free: np.ndarray) -> tuple[np.ndarray, float]:
    """Newton step AI^-1 score on the free parameters, and the Newton decrement."""
    step = np.zeros_like(d.score)
    if not free.any():
        return step, 0.0
    A = d.ai[np.ix_(free, free)]
    g = d.score[free]
    try:
        s = np.linalg.solve(A, g)
    except np.linalg.LinAlgError:
        s = np.linalg.lstsq(A, g, rcond=None)[0]
    step[free] = s
    return step, float(g @ s)


def _ai_step(obj, state, d, single, free):
    """Try theta + lambda * step for lambda = 1, 1/2, ...; None when every try fails."""
    step, _ = _newton(d, free)
    lam, kind = 1.0, "AI"
    for _ in range(MAX_HALVINGS):
        cand = _project(obj, state.theta + lam * step, single)
        if obj.vm.is_admissible(cand):
            new = obj.at(cand)
            if new.loglik >= state.loglik - 1e-10 * max(1.0, abs(state.loglik)):
                return new, kind
        lam *= 0.5
        kind = "AI-halved"
    return None, None


def _em_step(obj, state, d, single) -> State:
    """EM update; a 1x1 variance that EM brings near zero jumps to the boundary when that is better.

    EM approaches a zero variance only geometrically; the jump makes it reach the
    boundary, where the active set holds it.
    """
    cand = _project(obj, em_update(obj, state, d), single)
    new = obj.at(cand)
    near = single[cand[single] < 1e-3 * cand[-1]] if len(single) else single
    if len(near):
        jump = cand.copy()
        jump[near] = BOUNDARY * jump[-1]
        other = obj.at(jump)
        if other.loglik > new.loglik:
            return other
        obj.at(cand)  # leave the factor at the accepted theta
    return new


def run(obj: Objective, theta0=None, options: Options = Options()) -> Trace:
    """Iterate from theta0 (default start_values) until convergence or options.max_iter."""
    tol = options.tol if options.tol is not None else (1e-11 if options.algorithm == "em" else 1e-8)
    single = _single_variances(obj)
    theta = _project(obj, np.asarray(theta0 if theta0 is not None else start_values(obj), float), single)
    t0 = time.perf_counter()
    state = obj.at(theta)
    d = derivatives(obj, state)
    rows, converged, change, decrement = [], False, np.inf, np.inf
    for it in range(1, options.max_iter + 1):
        active = _at_boundary(state.theta, d, single)
        free = ~active
        use_em = options.algorithm == "em" or it <= options.em_start
        new, kind = (None, None) if use_em else _ai_step(obj, state, d, single, free)
        if new is None:
            new = _em_step(obj, state, d, single)
            kind = "EM" if use_em else "EM-fallback"
        change = new.loglik - state.loglik
        state = new
        d = derivatives(obj, state)
        free = ~_at_boundary(state.theta, d, single)
        _, decrement = _newton(d, free)
        secs = time.perf_counter() - t0
        t0 = time.perf_counter()
        rows.append(dict(iteration=it, step=kind, loglik=state.loglik, change=change,
                         newton_decrement=decrement, seconds=secs,
                         **{f"theta{i}": v for i, v in enumerate(state.theta)}))
        if options.callback is not None:
            options.callback(rows[-1])
        if abs(change) < tol * max(1.0, abs(state.loglik)) and decrement < tol:
            converged = True
            break
    if not converged:
        warnings.warn(f"{options.algorithm.upper()} iterations did not converge in {options.max_iter} "
                      f"iterations: last change in log-likelihood {change:.3g}, Newton decrement "
                      f"{decrement:.3g} (tolerance {tol:g})", ConvergenceWarning, stacklevel=3)
    boundary = np.zeros(len(state.theta), dtype=bool)
    if len(single):
        boundary[single] = state.theta[single] <= BOUNDARY * state.theta[-1] * (1 + 1e-6)
    return Trace(state=state, deriv=d, converged=converged, rows=rows, boundary=boundary,
                 criteria=dict(change=change, newton_decrement=decrement, tol=tol))


def iterations_frame(trace: Trace, names: list[str]) -> pd.DataFrame:
    """The iteration log with parameter columns named by ``names``."""
    df = pd.DataFrame(trace.rows)
    return df.rename(columns={f"theta{i}": n for i, n in enumerate(names)})
