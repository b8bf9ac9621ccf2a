"""Build the FitResult of a fit or a solve: Var(b), PEVs and Satterthwaite df from the objective at the
final theta (the fit's last factorization), then the frozen FitRecord (henderson.results).

Order matters for cost: Var(b) (with its derivatives for Satterthwaite) and diag C^-1 are taken
while the factor still holds the final theta; only then does the observed information move it.
"""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd

from ..errors import InferenceWarning, NotPositiveDefiniteError
from ..inference.satterthwaite import Context, coefficient_df
from ..inference.singular import cholesky_context
from ..inference.vcov import coefficient_covariance, theta_covariance
from ..reml.driver import iterations_frame
from ..results.record import FitRecord
from ..results.tables import fixed_table, random_tables, variance_table
from ..results.versions import package_versions
from .result import FitResult

DENSE_VCOV_MAX = 2000  # fixed effects up to this many get the full covariance matrix ...
DENSE_VCOV_CELLS = 2e7  # ... when the p solves (MME size x p) stay this small; else only diag C^-1
SATTERTHWAITE_MAX = 200  # Satterthwaite df (one derivative of Var(b_j) per theta_j each) up to this many
OBSERVED_INFO_MAX = 10_000  # n and MME size up to which Cov(theta) for Satterthwaite is the inverse observed
                            # information (2 r extra score evaluations, about r AI iterations); above, inverse AI
FAILURES = (NotPositiveDefiniteError, np.linalg.LinAlgError, FloatingPointError, ValueError, ZeroDivisionError)


def dense_fixed_block(obj) -> bool:
    """Whether the fixed block of C^-1 is formed densely (p solves with the factor)."""
    p = obj.pattern.p
    return p <= DENSE_VCOV_MAX and p * obj.pattern.size <= DENSE_VCOV_CELLS


def satterthwaite_wanted(obj) -> bool:
    """Whether the coefficients get Satterthwaite df: some fixed effects, not too many (large herd-year
    factors: the df are then n - p, which is what they tend to anyway)."""
    p = obj.pattern.p
    return 0 < p <= SATTERTHWAITE_MAX and dense_fixed_block(obj)


def fixed_covariance(obj, theta) -> tuple[np.ndarray, np.ndarray | None]:
    """Standard errors of b from the fixed block of C^-1; the full block when p is small."""
    p = obj.pattern.p
    if p == 0:
        return np.zeros(0), np.zeros((0, 0))
    if dense_fixed_block(obj):
        E = np.zeros((obj.pattern.size, p))
        E[np.arange(p), np.arange(p)] = 1.0
        V = obj.solve(theta, E)[:p]
        V = 0.5 * (V + V.T)
        return np.sqrt(np.diag(V)), V
    return np.sqrt(obj.diag_inverse(theta)[:p]), None


def observed_information_used(obj) -> bool:
    """Whether Cov(theta) for Satterthwaite is the inverse observed information (2 r score evaluations,
    done when the df are first asked for) rather than the inverse AI matrix of the fit (large models)."""
    return max(obj.pattern.size, obj.pattern.n) <= OBSERVED_INFO_MAX


def satterthwaite_parts(obj, state, vcov_ai, free, cholesky=False, var_b=None):
    """Cov(theta) for Satterthwaite (inverse observed information over the ``free`` parameters, or
    inverse AI for large models) and the coefficients' Satterthwaite df. ``var_b``: (Var(b), d diag
    Var(b) / d theta) at state.theta, computed before (coefficient_covariance). ``cholesky``: a covariance
    block is rank deficient, and the df are computed over the relative Cholesky factors
    (inference.singular; Cov(theta) is then not returned)."""
    p = obj.pattern.p
    observed = observed_information_used(obj)
    if cholesky and observed:
        _, df = coefficient_df(cholesky_context(obj, state.theta, state.sol[:p]))
        return None, df
    V = theta_covariance(obj, state.theta, free) if observed else vcov_ai
    ctx = Context(obj, state.theta, state.sol[:p], V, state.sigma2)
    _, df = coefficient_df(ctx, parts=None if var_b is None else (np.diag(var_b[0]), var_b[1]))
    return (V if observed else None), df


def _with_satterthwaite(record: FitRecord, obj, state, vcov_ai, free, cholesky, var_b) -> FitRecord:
    """The record with Satterthwaite df in its fixed-effects table (NaN and an InferenceWarning when they
    cannot be computed) and the inverse observed information used for them."""
    b, se = record.fixed_effects["estimate"].to_numpy(), record.fixed_effects["std_error"].to_numpy()
    try:
        vcov_obs, df = satterthwaite_parts(obj, state, vcov_ai, free, cholesky=cholesky, var_b=var_b)
    except FAILURES as err:
        _inference_failed("Satterthwaite degrees of freedom", err)
        vcov_obs, df = None, np.full(len(b), np.nan)
    return dataclasses.replace(record, fixed_effects=fixed_table(record.fixed_effects.index, b, se, df),
                               vcov_theta_observed=vcov_obs)


def _inference_failed(what: str, err: Exception) -> None:
    warnings.warn(f"{what} could not be computed at the optimum (reported as NaN): {type(err).__name__}: {err}",
                  InferenceWarning, stacklevel=4)


def _fixed_parts(obj, theta, satterthwaite: bool):
    """(se, Var(b) or None, (Var(b), Jacobian) or None) from one set of p solves at theta."""
    p = obj.pattern.p
    try:
        if satterthwaite:
            V, jac = coefficient_covariance(obj, theta)
            return np.sqrt(np.diag(V)), V, (V, jac)
        se, V = fixed_covariance(obj, theta)
        return se, V, None
    except FAILURES as err:
        _inference_failed("standard errors of the fixed effects", err)
        return np.full(p, np.nan), None, None


def _common(model, obj, state, vcov_theta, boundary, ddf="residual", zero=None, free=None, **extra):
    """The FitResult at ``state``; a post-fit quantity that cannot be computed (Satterthwaite df, standard
    errors) is NaN with an InferenceWarning, never an exception that loses the fit.

    Var(b), its Jacobian and diag C^-1 come from the factor at the final theta (no refactorization).
    Satterthwaite df by the inverse AI matrix (large models) are computed here; by the inverse observed
    information (2 r score evaluations) or over the Cholesky coordinates, when first asked for
    (FitResult.fixed_effects), with the record completed then.
    """
    p = obj.pattern.p
    free = ~boundary if free is None else free
    deficient = bool((boundary & ~(boundary if zero is None else zero)).any())
    satt = ddf == "satterthwaite" and vcov_theta is not None and satterthwaite_wanted(obj)
    dinv = obj.diag_inverse(state.theta)
    se, vcov_b, var_b = _fixed_parts(obj, state.theta, satt and not deficient)
    df = np.full(p, np.nan) if satt else max(obj.pattern.n - p, 1)
    record = FitRecord(
        formula=model.formula, method=obj.method, theta=state.theta.copy(), loglik=state.loglik,
        nobs=obj.pattern.n, n_fixed=p, fixed_effects=fixed_table(model.design.fixed_names, state.sol[:p], se, df),
        vcov_beta=vcov_b, variance_components=variance_table(obj.vm, state.theta, vcov_theta, boundary, zero),
        vcov_theta=vcov_theta, random_effects=random_tables(model, obj.pattern, state, dinv),
        likelihood_parts=dict(logdet_C=state.logdet_C, logdet_G=state.logdet_G, yPy=state.yPy,
                              n=obj.pattern.n, p=p, method=obj.method),
        fitted_values=model.design.y - state.e, y=model.design.y, rows=model.design.rows,
        n_levels={t.name: t.m for t in model.design.terms}, n_dropped=model.design.n_dropped,
        aliased=model.design.aliased, versions=package_versions(), sigma2=state.sigma2,
        ddf="satterthwaite" if satt else "residual", **extra)
    if not satt:
        return FitResult(record, model)

    def complete(rec: FitRecord) -> FitRecord:
        return _with_satterthwaite(rec, obj, state, vcov_theta, free, deficient, var_b)
    if observed_information_used(obj):
        return FitResult(record, model, pending=complete)
    return FitResult(complete(record), model)


def from_solution(model, obj, state):
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


def from_trace(model, obj, trace, algorithm: str, ddf: str = "satterthwaite"):
    """FitResult of a REML/ML run: standard errors of theta from the inverse AI matrix at convergence
    (NaN on the boundary and in rank-deficient covariance blocks); fixed-effect df by Satterthwaite
    (ddf="satterthwaite", default) or n - p (ddf="residual")."""
    free = ~trace.no_se
    vcov = theta_vcov_ai(trace.deriv.ai, free)
    return _common(model, obj, trace.state, vcov, trace.boundary, ddf=ddf, zero=trace.zero, free=free,
                   converged=trace.converged, n_iter=len(trace.rows), algorithm=algorithm,
                   iterations=iterations_frame(trace, obj.vm.labels()), criteria=dict(trace.criteria),
                   singular=trace.singular)
