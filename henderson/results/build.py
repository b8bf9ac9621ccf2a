"""Build a FitResult from the final REML/ML state: tables, likelihood parts, iteration log."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InferenceWarning, NotPositiveDefiniteError
from ..inference.satterthwaite import Context, coefficient_df
from ..inference.singular import cholesky_context
from ..inference.vcov import theta_covariance
from ..reml.driver import iterations_frame
from .fitresult import FitResult
from .versions import package_versions

DENSE_VCOV_MAX = 2000  # fixed effects up to this many get the full covariance matrix ...
DENSE_VCOV_CELLS = 2e7  # ... when the p solves (MME size x p) stay this small; else only diag C^-1
SATTERTHWAITE_MAX = 200  # Satterthwaite df (one derivative of Var(b_j) per theta_j each) up to this many


def dense_fixed_block(obj) -> bool:
    """Whether the fixed block of C^-1 is formed densely (p solves with the factor)."""
    p = obj.pattern.p
    return p <= DENSE_VCOV_MAX and p * obj.pattern.size <= DENSE_VCOV_CELLS
OBSERVED_INFO_MAX = 10_000  # n and MME size up to which Cov(theta) for Satterthwaite is the inverse observed
                            # information (2 r extra score evaluations, about r AI iterations); above, inverse AI


def fixed_covariance(obj, theta) -> tuple[np.ndarray, np.ndarray | None]:
    """Standard errors of b from the fixed block of C^-1; the full block when p is small."""
    p = obj.pattern.p
    obj.factorize(theta)
    if p == 0:
        return np.zeros(0), np.zeros((0, 0))
    if dense_fixed_block(obj):
        E = np.zeros((obj.pattern.size, p))
        E[np.arange(p), np.arange(p)] = 1.0
        V = obj.factor.solve(E)[:p]
        V = 0.5 * (V + V.T)
        return np.sqrt(np.diag(V)), V
    return np.sqrt(obj.factor.diag_inverse()[:p]), None


def fixed_table(names, b, se, df) -> pd.DataFrame:
    """estimate, std_error, df, t_value, p_value and 95% confidence limits per coefficient."""
    t = b / se
    df = np.broadcast_to(np.asarray(df, dtype=float), b.shape)
    q = stats.t.ppf(0.975, df)
    return pd.DataFrame({"estimate": b, "std_error": se, "df": df, "t_value": t,
                         "p_value": 2 * stats.t.sf(np.abs(t), df),
                         "ci_lower": b - q * se, "ci_upper": b + q * se}, index=pd.Index(names, name="coefficient"))


def variance_table(vm, theta, vcov_theta, boundary, zero=None) -> pd.DataFrame:
    """group, term1, term2, estimate, std_error, boundary: one row per element of theta; estimates
    in ``zero`` (default: those on the boundary) are reported as 0."""
    df = vm.param_table()
    zero = boundary if zero is None else zero
    est = np.where(zero, 0.0, theta)
    se = np.full(len(theta), np.nan) if vcov_theta is None else np.sqrt(np.clip(np.diag(vcov_theta), 0, None))
    df["estimate"] = est
    df["std_error"] = np.where(boundary, np.nan, se)
    df["boundary"] = boundary
    return df


def random_tables(model, obj, state) -> dict[str, pd.DataFrame]:
    """BLUPs per term (levels x effects) with prediction error variances; for pedigree terms also ``ebv``
    (the same BLUP, for a one-effect term), F, sep, reliability and accuracy."""
    dinv = obj.factor.diag_inverse()
    sigmas, _ = obj.vm.unpack(state.theta)
    out = {}
    for k, (term, t) in enumerate(zip(model.design.terms, obj.vm.terms)):
        sl = obj.pattern.term_slice(k)
        U = state.sol[sl].reshape(t.q, t.m).T
        pev = dinv[sl].reshape(t.q, t.m).T
        df = pd.DataFrame(U, index=term.levels, columns=list(t.effects))
        for a, eff in enumerate(t.effects):
            suffix = "" if t.q == 1 else f":{eff}"
            df["pev" + suffix] = pev[:, a]
        r = model.relationships.get(term.name)
        if r is not None and r.pedigree is not None:
            if t.q == 1:  # a breeder's name for the BLUP of an animal term (the effect column stays)
                df.insert(1, "ebv", U[:, 0])
            F = r.pedigree.inbreeding.reindex(term.levels).to_numpy(dtype=float)
            df["F"] = F
            for a, eff in enumerate(t.effects):
                suffix = "" if t.q == 1 else f":{eff}"
                rel = 1.0 - pev[:, a] / (sigmas[k][a, a] * (1.0 + F))
                df["sep" + suffix] = np.sqrt(pev[:, a])
                df["reliability" + suffix] = rel
                df["accuracy" + suffix] = np.sqrt(np.clip(rel, 0.0, None))
        out[term.name] = df
    return out


FAILURES = (NotPositiveDefiniteError, np.linalg.LinAlgError, FloatingPointError, ValueError, ZeroDivisionError)


def satterthwaite_parts(obj, state, vcov_ai, free, cholesky=False):
    """Cov(theta) for Satterthwaite (inverse observed information over the ``free`` parameters, or
    inverse AI for large models) and the coefficients' Satterthwaite df; (None, None) when there are
    no fixed effects or too many (large herd-year factors: the df are then n - p, which is what they
    tend to anyway). ``cholesky``: a covariance block is rank deficient, and the df are computed over
    the relative Cholesky factors (inference.singular; Cov(theta) is then not returned)."""
    p = obj.pattern.p
    if p == 0 or p > SATTERTHWAITE_MAX or not dense_fixed_block(obj):
        return None, None
    observed = max(obj.pattern.size, obj.pattern.n) <= OBSERVED_INFO_MAX
    if cholesky and observed:
        _, df = coefficient_df(cholesky_context(obj, state.theta, state.sol[:p]))
        return None, df
    V = theta_covariance(obj, state.theta, free) if observed else vcov_ai
    obj.factorize(state.theta)
    _, df = coefficient_df(Context(obj, state.theta, state.sol[:p], V, float(state.theta[-1])))
    return (V if observed else None), df


def _inference_failed(what: str, err: Exception) -> None:
    warnings.warn(f"{what} could not be computed at the optimum (reported as NaN): {type(err).__name__}: {err}",
                  InferenceWarning, stacklevel=4)


def _common(model, obj, state, vcov_theta, boundary, ddf="residual", zero=None, free=None, **extra) -> FitResult:
    """The FitResult at ``state``; a post-fit quantity that cannot be computed (Satterthwaite df, standard
    errors) is NaN with an InferenceWarning, never an exception that loses the fit."""
    p = obj.pattern.p
    vcov_obs, df = None, None
    free = ~boundary if free is None else free
    deficient = bool((boundary & ~(boundary if zero is None else zero)).any())
    if ddf == "satterthwaite" and vcov_theta is not None:
        try:
            vcov_obs, df = satterthwaite_parts(obj, state, vcov_theta, free, cholesky=deficient)
        except FAILURES as err:
            _inference_failed("Satterthwaite degrees of freedom", err)
            df = np.full(p, np.nan)
        obj.factorize(state.theta)
    if df is None:
        ddf, df = "residual", max(obj.pattern.n - p, 1)
    try:
        se, vcov_b = fixed_covariance(obj, state.theta)
    except FAILURES as err:
        _inference_failed("standard errors of the fixed effects", err)
        se, vcov_b = np.full(p, np.nan), None
    b = state.sol[:p]
    fixed = fixed_table(model.design.fixed_names, b, se, df)
    return FitResult(
        formula=model.formula, method=obj.method, theta=state.theta.copy(), loglik=state.loglik,
        nobs=obj.pattern.n, n_fixed=p, fixed_effects=fixed, vcov_beta=vcov_b,
        variance_components=variance_table(obj.vm, state.theta, vcov_theta, boundary, zero),
        vcov_theta=vcov_theta, random_effects=random_tables(model, obj, state),
        likelihood_parts=dict(logdet_C=state.logdet_C, logdet_G=state.logdet_G, yPy=state.yPy,
                              n=obj.pattern.n, p=p, method=obj.method),
        fitted_values=model.design.y - state.e, y=model.design.y, rows=model.design.rows,
        n_levels={t.name: t.m for t in model.design.terms}, n_dropped=model.design.n_dropped,
        aliased=model.design.aliased, versions=package_versions(), model=model, ddf=ddf,
        vcov_theta_observed=vcov_obs, **extra)


def from_solution(model, obj, state) -> FitResult:
    """FitResult at known variances (Model.solve)."""
    return _common(model, obj, state, None, np.zeros(len(state.theta), dtype=bool),
                   converged=None, n_iter=0, algorithm="none", iterations=pd.DataFrame(), criteria={})


def theta_vcov_ai(ai: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Inverse AI over the ``free`` parameters, NaN elsewhere; all NaN (with an InferenceWarning) when
    that block of the AI matrix is not positive definite (the information is singular)."""
    vcov = np.full((len(free), len(free)), np.nan)
    block = ai[np.ix_(free, free)]
    try:
        np.linalg.cholesky(block)
        vcov[np.ix_(free, free)] = np.linalg.inv(block)
    except np.linalg.LinAlgError as err:
        _inference_failed("standard errors of the variance components (singular average information)", err)
    return vcov


def from_trace(model, obj, trace, algorithm: str, ddf: str = "satterthwaite") -> FitResult:
    """FitResult of a REML/ML run: standard errors of theta from the inverse AI matrix at convergence
    (NaN on the boundary and in rank-deficient covariance blocks); fixed-effect df by Satterthwaite
    (ddf="satterthwaite", default) or n - p (ddf="residual")."""
    free = ~trace.no_se
    vcov = theta_vcov_ai(trace.deriv.ai, free)
    obj.factorize(trace.state.theta)
    names = [("/".join(x for x in r if x)) for r in obj.vm.param_table().itertuples(index=False)]
    return _common(model, obj, trace.state, vcov, trace.boundary, ddf=ddf, zero=trace.zero, free=free,
                   converged=trace.converged, n_iter=len(trace.rows), algorithm=algorithm,
                   iterations=iterations_frame(trace, names), criteria=dict(trace.criteria),
                   singular=trace.singular)
