"""REML / ML iterations: EM steps to start (when the start values are rough), then AI (Newton
with the average information) with step-halving, an active set for variances at zero, and EM as
the fallback; a finish over lme4's relative Cholesky factors (cholesky.py) when a covariance
block of q >= 2 effects nears the boundary of the positive semi-definite cone.

Converged when the Newton decrement score' AI^-1 score (over the free parameters; about twice the
log-likelihood still to gain) is below ``tol`` and the last change in log-likelihood below
``tol_change`` times n (per record; Objective.loglik_unit); after the Cholesky finish, when
L-BFGS-B stops with a projected gradient (or a predicted gain) at the accuracy of the criterion.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import ConvergenceWarning, NotPositiveDefiniteError
from ..linalg import Factor
from ..options import Options
from . import cholesky
from . import factors as trait_factors
from .derivatives import Derivatives, derivatives, em_update
from .objective import Objective, State

BOUNDARY = 1e-8      # a variance at BOUNDARY * sigma2 is on the boundary (reported as 0)
MAX_HALVINGS = 12
MAX_LOG_DECREASE = 5.0  # a step lowers a positive scalar by at most exp(-5) (zero is reached by the boundary candidate)
SWITCH = 1e-2        # a q >= 2 block whose relative Cholesky diagonal falls below this goes to the Cholesky finish
EM_SWITCH, EM_PATIENCE = 0.1, 50  # EM, which approaches such a block only geometrically: below 0.1 after 50 steps


@dataclass
class Trace:
    """The iteration log and the final state of a REML/ML run."""

    state: State
    deriv: Derivatives
    converged: bool
    rows: list = field(default_factory=list)
    boundary: np.ndarray | None = None   # per parameter: on the boundary of the parameter space
    criteria: dict = field(default_factory=dict)
    zero: np.ndarray | None = None       # per parameter: estimated as 0 (a zero variance and its covariances)
    no_se: np.ndarray | None = None      # per parameter: no standard error (boundary, or a rank-deficient block)
    singular: bool = False               # lme4's isSingular: a relative Cholesky diagonal below 1e-4


def ols(X, y) -> np.ndarray:
    """Least-squares b of y on X (full column rank after aliased columns were dropped), sparse:
    normal equations of the columns scaled to unit length, with a ridge of 1e-10 of that unit
    diagonal (so columns of any scale, 1e-9 or 1e9, are treated alike)."""
    d = np.sqrt(np.asarray(X.multiply(X).sum(axis=0)).ravel())
    d[d == 0] = 1.0
    Xs = sp.csc_matrix(X @ sp.diags(1.0 / d))
    XtX = sp.csc_matrix(Xs.T @ Xs) + sp.identity(X.shape[1], format="csc") * 1e-10
    XtX.sort_indices()
    f = Factor.analyze(XtX)
    f.refactor(XtX)
    return f.solve(Xs.T @ y) / d


def _one_way(Z: sp.csc_matrix, r: np.ndarray):
    """ANOVA of r on the levels of Z (a random intercept's indicator columns):
    (sigma2_between, sigma2_within, level sums, level counts), or None when there are too few
    records per level to tell the two apart."""
    n = r.size
    ng = np.asarray(Z.sum(axis=0)).ravel()
    G = int(np.count_nonzero(ng))
    if G < 2 or n - G < max(G, 2):
        return None
    sums = np.asarray(Z.T @ r).ravel()
    fitted = float(sums @ (sums / np.maximum(ng, 1)))
    within = (float(r @ r) - fitted) / (n - G)
    between = (fitted - float(r.sum()) ** 2 / n) / (G - 1)
    n0 = (n - float(ng @ ng) / n) / (G - 1)
    return (between - within) / n0, within, sums, ng


def _moment_start(pat, terms, r, v):
    """Moment estimates for the random intercepts ``terms`` (indices) by two backfitting sweeps:
    each term's one-way ANOVA on the residual with the other terms' shrunken level means removed.
    Returns ({term: variance}, within-level residual variance of the last sweep) or None."""
    est, u, within, levels = {}, {}, None, {}
    r = r.copy()
    for _ in range(2):
        for k in terms:
            Z = pat.W[:, pat.term_slice(k)]
            if k in u:
                r += Z @ u[k]
            res = _one_way(Z, r)
            if res is None:
                return None
            s2k, within, sums, ng = res
            levels[k] = int(np.count_nonzero(ng))
            s2k = min(max(s2k, 0.01 * v), v)
            est[k] = s2k
            u[k] = sums / (ng + within / s2k)
            r -= Z @ u[k]
    # the last one-way's within mean square, on the degrees of freedom of all the terms (crossed)
    df_last = pat.n - levels[terms[-1]]
    df_all = pat.n - pat.p - sum(g - 1 for g in levels.values())
    if df_all > 0:
        within *= df_last / df_all
    return est, within


def start_values(obj: Objective) -> np.ndarray:
    """Start values (see _start)."""
    return _start(obj)[0]


def _start(obj: Objective) -> tuple[np.ndarray, bool]:
    """Start values from the OLS residual variance v and moment estimates.

    Random intercepts without a relationship matrix get moment estimates (one-way ANOVA on the OLS
    residuals with the other intercepts' shrunken level means removed, two sweeps), and sigma2 the
    within-level variance left; for crossed and nested intercepts this starts AI-REML within a few
    per cent of the optimum (InstEval: 0.1057, 0.2631, 1.411 against 0.1056, 0.2623, 1.385). The other
    terms (slopes, relationship matrices) share half of the variance not so explained, scaled by
    each effect's size, and sigma2 gets the other half.
    """
    pat = obj.pattern
    X = pat.W[:, :pat.p]
    if pat.p:
        r = pat.yc - X @ ols(X, pat.yc)
    else:
        r = pat.yc
    v = float(r @ r) / max(pat.n - pat.p, 1)
    intercepts = [k for k, t in enumerate(obj.vm.terms)
                  if t.q == 1 and t.Kinv is None and np.all(pat.W[:, pat.term_slice(k)].data == 1.0)]
    found = _moment_start(pat, intercepts, r, v) if intercepts else None
    moments, within = found if found is not None else ({}, None)
    others = len(obj.vm.terms) - len(moments)
    rest = max(v - sum(moments.values()), 0.2 * v)
    share = 0.5 * rest / max(others, 1)
    sigmas = []
    for k, t in enumerate(obj.vm.terms):
        if k in moments:
            sigmas.append(np.array([[moments[k]]]))
            continue
        Z = pat.W[:, pat.term_slice(k)]
        scale = np.asarray(Z.multiply(Z).sum(axis=0)).ravel().reshape(t.q, t.m).sum(axis=1) / pat.n
        sigmas.append(np.diag(share / np.maximum(scale, 1e-12)))
    if others:
        s2 = 0.5 * rest
    elif within is None:   # no random terms
        s2 = v
    else:
        s2 = min(max(within, 0.05 * v), v)
    extra = obj.vm.residual.start(r) if obj.vm.residual.structured else None
    return obj.vm.pack(sigmas, s2, extra), others == 0


def _bounded(obj: Objective) -> np.ndarray:
    """Positions of the scalars that may sit on their floor: 1x1 variances, and the residual variance of a
    model with random terms (an animal model can have its optimum at sigma2 = 0, e.g. Mrode's Example 3.1)."""
    single = obj.vm.single_variances()
    if not obj.vm.terms:
        return single
    return np.append(single, obj.vm.residual_slice.start).astype(np.int64)


def _floors(obj: Objective, theta: np.ndarray, bounded: np.ndarray) -> np.ndarray:
    """The boundary value of each bounded scalar: BOUNDARY sigma2 for a 1x1 variance, and BOUNDARY times
    the largest variance of the random terms for sigma2 (the scale the MME then work at)."""
    s2 = obj.vm.sigma2(theta)
    floors = np.full(len(bounded), BOUNDARY * s2)
    res = bounded == obj.vm.residual_slice.start
    if res.any():
        sigmas, _ = obj.vm.unpack(theta)
        floors[res] = BOUNDARY * max(max(float(np.max(np.diag(S))) for S in sigmas), 0.0)
    return floors


def _project(obj: Objective, theta: np.ndarray, bounded: np.ndarray) -> np.ndarray:
    """Put bounded scalars that are below twice their boundary value on the boundary value."""
    theta = theta.copy()
    if len(bounded):
        floor = _floors(obj, theta, bounded)
        theta[bounded] = np.where(theta[bounded] <= 2 * floor, floor, theta[bounded])
    return theta


def _on_floor(obj: Objective, theta: np.ndarray, bounded: np.ndarray) -> np.ndarray:
    """Which bounded scalars sit on their boundary value."""
    return theta[bounded] <= _floors(obj, theta, bounded) * (1 + 1e-6)


def _at_boundary(obj: Objective, state: State, d: Derivatives, bounded) -> np.ndarray:
    """Active set: bounded scalars at their floor whose score pushes further down."""
    theta = state.theta
    active = np.zeros(len(theta), dtype=bool)
    if len(bounded):
        active[bounded] = _on_floor(obj, theta, bounded) & (d.score[bounded] <= 0)
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


def _candidate(theta, step, lam, positive):
    """theta + lam * step, except that a positive scalar (a 1x1 variance or sigma2) that the step
    lowers moves multiplicatively, v exp(lam * step / v): the Newton step taken in log v.

    Far above the optimum a variance's likelihood is far from quadratic in v and the plain step
    overshoots towards zero (InstEval: from 0.44 to 1e-8, optimum 0.106); in log v it does not,
    and near the optimum both steps agree to second order, so convergence stays quadratic.
    """
    cand = theta + lam * step
    v = theta[positive]
    x = lam * step[positive] / v
    down = x < 0   # exp only where the step lowers v (a large positive x would overflow, unused)
    cand[positive[down]] = v[down] * np.exp(np.maximum(x[down], -MAX_LOG_DECREASE))
    return cand


def _fisher_z_step(obj, theta, cand):
    """A structured residual's correlation parameters, each in an interval (lo, hi), moved on the
    Fisher-z scale z = atanh((2 x - lo - hi) / (hi - lo)) by the same first-order step: a correlation
    going to +-1 approaches it geometrically instead of halving the whole step (the two agree to
    second order near an interior optimum)."""
    res = obj.vm.residual
    if not res.structured or not res.n_cor:
        return cand
    pos = obj.vm.residual_slice.start + 1 + np.arange(res.n_cor)
    lo, hi = np.array(res.correlation.interval()).T
    x, dx = theta[pos], cand[pos] - theta[pos]
    u = (2 * x - lo - hi) / (hi - lo)
    z = np.arctanh(np.clip(u, -1 + 1e-15, 1 - 1e-15)) + 2 * dx / ((hi - lo) * np.maximum(1 - u * u, 1e-300))
    out = cand.copy()
    out[pos] = lo + (hi - lo) * (np.tanh(z) + 1) / 2
    return out


def _try(obj, theta):
    """The state at a trial theta, or None when theta is not admissible or C(theta) cannot be
    factored (numerically not positive definite: a trial step to extreme variances)."""
    if not obj.vm.is_admissible(theta):
        return None
    try:
        return obj.at(theta)
    except NotPositiveDefiniteError:
        return None


def _ai_step(obj, state, d, bounded, free):
    """Try lambda = 1, 1/2, ... of the Newton step; None when every try fails.

    When the plain step would take a 1x1 variance below zero, the point with those variances on the
    boundary is tried as well and the better of the two kept (so zero variances are reached in one
    step, as a projected Newton method would).
    """
    step, _ = _newton(d, free)
    positive = obj.vm.positive_scalars()
    lam, kind = 1.0, "AI"
    for _ in range(MAX_HALVINGS):
        cand = _project(obj, _fisher_z_step(obj, state.theta, _candidate(state.theta, step, lam, positive)), bounded)
        best = _try(obj, cand)
        if best is not None:
            below = state.theta[bounded] + lam * step[bounded] <= 0
            if below.any():
                edge = cand.copy()
                edge[bounded[below]] = _floors(obj, edge, bounded)[below]
                other = _try(obj, edge)
                if other is not None and other.loglik > best.loglik:
                    best = other
            if best.loglik >= state.loglik - 1e-10 * obj.loglik_unit:
                return best, kind
        lam *= 0.5
        kind = "AI-halved"
    return None, None


def _em_step(obj, state, d, bounded) -> State:
    """EM update; a 1x1 variance that EM brings near zero jumps to the boundary when that is better.

    EM approaches a zero variance only geometrically; the jump makes it reach the
    boundary, where the active set holds it.
    """
    cand = _project(obj, em_update(obj, state, d), bounded)
    new = obj.at(cand)
    floors = _floors(obj, cand, bounded)
    near = cand[bounded] < 1e-3 * floors / BOUNDARY   # below 1e-3 of the scale its floor is relative to
    if near.any():
        jump = cand.copy()
        jump[bounded[near]] = floors[near]
        other = obj.at(jump)
        if other.loglik > new.loglik:
            return other
    return new


def _near_psd_boundary(obj: Objective, theta: np.ndarray, level: float = SWITCH) -> bool:
    """Whether a q >= 2 block's relative Cholesky factor has a diagonal below ``level`` (at SWITCH,
    Sigma_k has an eigenvalue below about 1e-4 sigma2); multi-trait: a block's eigenvalues, R0's included
    (factors.near_boundary at level^2)."""
    if getattr(obj.vm.residual, "multitrait", False):
        return trait_factors.near_boundary(obj.vm, theta, level * level)
    factors = obj.vm.relative_cholesky(theta)
    return any(t.q >= 2 and np.diag(T).min() < level for t, T in zip(obj.vm.terms, factors))


def _switch(obj: Objective, theta: np.ndarray, kind: str, it: int, em: bool) -> bool:
    """Whether to leave AI/EM for the Cholesky finish: AI failed (EM fallback) or a block nears the PSD
    boundary, where AI steps do not settle; for EM, a block still near it after EM_PATIENCE steps."""
    if em:
        return it >= EM_PATIENCE and _near_psd_boundary(obj, theta, EM_SWITCH)
    return kind == "EM-fallback" or _near_psd_boundary(obj, theta)


def _row(it, kind, state_loglik, change, decrement, theta, t0, **extra) -> dict:
    return dict(iteration=it, step=kind, loglik=state_loglik, change=change, newton_decrement=decrement,
                seconds=time.perf_counter() - t0, **extra, **{f"theta{i}": v for i, v in enumerate(theta)})


def run(obj: Objective, theta0=None, options: Options | None = None) -> Trace:
    """Iterate from theta0 (default start_values) until convergence or options.iterations (default
    Options()); when a q >= 2 covariance block nears the PSD boundary, finish over the Cholesky factors instead."""
    options = Options() if options is None else options
    em = options.algorithm == "em"
    tol, tol_change = options.decrement_tol, options.change_tol
    bounded = _bounded(obj)
    if theta0 is None:
        theta0, moment_start = _start(obj)
    else:
        moment_start = False
    em_start = options.em_start if options.em_start is not None else (0 if moment_start else 1)
    theta = _project(obj, np.asarray(theta0, float), bounded)
    t0 = time.perf_counter()
    rows, converged, change, decrement, switch = [], False, np.inf, np.inf, False
    # the finish works over relative Cholesky factors of unstructured blocks; a model with a structured
    # term (diag, cs, ar1) stays with AI/EM (those keep their own parameters inside their family)
    # the Cholesky finish (relative Cholesky factors of unstructured blocks and sigma2) does not carry a
    # structured residual's parameters: such models stay with AI
    blocks = any(t.q >= 2 for t in obj.vm.terms) and not obj.vm.structured() and not obj.vm.residual.structured
    multitrait = getattr(obj.vm.residual, "multitrait", False) and not obj.vm.structured()   # reml.factors' finish
    held = np.zeros(obj.vm.n_params, dtype=bool)
    held[obj.vm.fixed()] = True    # never co-recorded traits' residual covariances: 0, not estimated
    if held.any():
        theta = theta.copy()
        theta[held] = 0.0
        multitrait = multitrait and obj.vm.residual.factor_order() is not None
    blocks = blocks or multitrait
    state = obj.at(theta)
    d = derivatives(obj, state)
    for it in range(1, options.iterations + 1):
        active = _at_boundary(obj, state, d, bounded) | held
        free = ~active
        use_em = em or it <= em_start
        new, kind = (None, None) if use_em else _ai_step(obj, state, d, bounded, free)
        if new is None:
            new = _em_step(obj, state, d, bounded)
            kind = "EM" if use_em else "EM-fallback"
        change = new.loglik - state.loglik
        state = new
        d = derivatives(obj, state)
        free = ~(_at_boundary(obj, state, d, bounded) | held)
        _, decrement = _newton(d, free)
        rows.append(_row(it, kind, state.loglik, change, decrement, state.theta, t0))
        t0 = time.perf_counter()
        if options.callback is not None:
            options.callback(rows[-1])
        if abs(change) < tol_change * obj.loglik_unit and decrement < tol:
            converged = True
            break
        if blocks and _switch(obj, state.theta, kind, it, em):
            switch = True
            break
    criteria = dict(change=change, newton_decrement=decrement, tol=tol, tol_change=tol_change)
    scale = None   # boundary_flags' scale: sigma2, or the ridge's scale of the multi-trait finish
    if switch:
        state, converged, extra, scale = _finish(obj, state, rows, options)
        d = derivatives(obj, state)
        criteria.update(extra)
    if not converged:
        warnings.warn(_not_converged(options, criteria), ConvergenceWarning, stacklevel=3)
    _warn_residual_boundary(obj, state.theta)
    flags = cholesky.boundary_flags(obj.vm, state.theta, scale)
    res = obj.vm.residual_slice.start
    if obj.vm.terms and _on_floor(obj, state.theta, np.array([res]))[0]:   # sigma2 = 0 (reported as 0)
        flags.boundary[res] = flags.zero[res] = flags.no_se[res] = True
    edge = _residual_edge(obj, state.theta)
    return Trace(state=state, deriv=d, converged=converged, rows=rows, boundary=flags.boundary | edge,
                 criteria=criteria, zero=flags.zero | held, no_se=flags.no_se | edge | held, singular=flags.singular)


def _residual_edge(obj: Objective, theta: np.ndarray) -> np.ndarray:
    """Per parameter: a residual correlation parameter within 1e-4 of the end of its range (no standard error)."""
    edge = np.zeros(len(theta), dtype=bool)
    res = obj.vm.residual
    if res.structured and res.n_cor:
        pos = obj.vm.residual_slice.start + 1 + np.arange(res.n_cor)
        lo, hi = np.array(res.correlation.interval()).T
        u = (2 * theta[pos] - lo - hi) / (hi - lo)
        edge[pos] = np.abs(u) > 1 - 1e-4
    return edge


def _warn_residual_boundary(obj: Objective, theta: np.ndarray) -> None:
    """A ConvergenceWarning naming the residual correlation parameters that ended at +-1 (corCAR1: 0 or 1)."""
    res = obj.vm.residual
    if res.structured:
        edge = res.on_boundary(obj.vm.residual_extra(theta))
        if edge:
            warnings.warn(f"residual correlation on the boundary of its range: {', '.join(edge)}; its standard "
                          "error is not reliable and a simpler structure may fit as well", ConvergenceWarning,
                          stacklevel=4)


def _finish(obj: Objective, state: State, rows: list, options: Options) -> tuple[State, bool, dict, float | None]:
    """The Cholesky finish from ``state`` (cholesky.finish), logged in ``rows`` as "L-BFGS-B" steps.
    Returns the better of the two states, whether the finish converged, its criteria, and the scale of its
    ridge (Finish.scale; None for ``state``)."""
    first, last = len(rows), [state.loglik, time.perf_counter()]

    def log(r):
        rows.append(_row(len(rows) + 1, "L-BFGS-B", r["loglik"], r["loglik"] - last[0], np.nan, r["theta"],
                         last[1], projected_gradient=r["projected_gradient"]))
        last[:] = [r["loglik"], time.perf_counter()]
        if options.callback is not None:
            options.callback(rows[-1])

    finish = trait_factors.finish if getattr(obj.vm.residual, "multitrait", False) else cholesky.finish
    fin = finish(obj, state.theta, max_iter=options.iterations, callback=log)
    change = rows[-1]["change"] if len(rows) > first else 0.0
    criteria = dict(change=change, newton_decrement=fin.decrement, projected_gradient=fin.projected_gradient,
                    finish="L-BFGS-B over (relative) Cholesky factors: " + fin.message)
    if fin.state.loglik < state.loglik:   # cannot happen unless the finish failed from its start
        return state, False, criteria, None
    return fin.state, fin.converged, criteria, fin.scale


def _not_converged(options: Options, c: dict) -> str:
    if "finish" in c:
        return (f"{options.algorithm.upper()} iterations reached the boundary of a covariance block and the "
                f"Cholesky finish did not converge ({c['finish']}): projected gradient "
                f"{c['projected_gradient']:.3g}, predicted gain {c['newton_decrement']:.3g}")
    return (f"{options.algorithm.upper()} iterations did not converge in {options.iterations} "
            f"iterations: last change in log-likelihood {c['change']:.3g}, Newton decrement "
            f"{c['newton_decrement']:.3g} (tolerances {c['tol_change']:g} per record and {c['tol']:g})")


def iterations_frame(trace: Trace, names: list[str]) -> pd.DataFrame:
    """The iteration log with parameter columns named by ``names``."""
    df = pd.DataFrame(trace.rows)
    return df.rename(columns={f"theta{i}": n for i, n in enumerate(names)})
