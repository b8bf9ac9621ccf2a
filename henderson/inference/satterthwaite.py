"""Satterthwaite denominator degrees of freedom for linear functions of the fixed effects (as lmerTest).

For one contrast l:   nu = 2 (l'Vl)^2 / (g' A g),   g_j = d(l' Var(b) l)/dtheta_j
with A the covariance of theta (inverse observed information). For a q-row L
(lmerTest's contestMD): eigen-decompose L Var(b) L' = P D P', test the rows of
P'L one by one (nu_m), and combine with E = sum nu_m / (nu_m - 2):
ddf = 2E / (E - q) (ddf = 2 when some nu_m <= 2).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..distributions import f_sf, t_sf
from .vcov import coefficient_variances, contrast_covariance, contrast_variance


@dataclass(frozen=True)
class Context:
    """What every Satterthwaite computation needs: the objective at theta, b and Cov(theta).

    With ``coords`` (singular.CholeskyCoordinates, for fits on the boundary of a covariance block)
    ``vcov_theta`` is the covariance of those coordinates, and derivatives of Var(b) are taken in them.
    """

    obj: object
    theta: np.ndarray
    b: np.ndarray
    vcov_theta: np.ndarray      # NaN rows/columns for parameters on the boundary
    sigma2: float
    coords: object = None

    @property
    def free(self) -> np.ndarray:
        return np.isfinite(np.diag(self.vcov_theta))

    def A(self) -> np.ndarray:
        f = self.free
        return self.vcov_theta[np.ix_(f, f)]


def satterthwaite_df(var: float, grad: np.ndarray, A: np.ndarray) -> float:
    """nu = 2 var^2 / (g' A g) (infinite when g' A g is zero)."""
    den = float(grad @ A @ grad)
    return 2.0 * var**2 / den if den > 0 else np.inf


def contrast_parts(ctx: Context, L: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """L Var(b) L' and its derivatives in the parameters of ctx.vcov_theta."""
    if ctx.coords is None:
        return contrast_covariance(ctx.obj, ctx.theta, L)
    grads = ctx.coords.derivatives(lambda th: contrast_variance(ctx.obj, th, L))
    return contrast_variance(ctx.obj, ctx.theta, L), grads


def coefficient_df(ctx: Context, parts=None) -> tuple[np.ndarray, np.ndarray]:
    """Standard errors and Satterthwaite df of every coefficient; ``parts``: (diag Var(b), its Jacobian)
    at ctx.theta when already computed (vcov.coefficient_covariance)."""
    if parts is not None:
        var, jac = parts
    elif ctx.coords is None:
        var, jac = coefficient_variances(ctx.obj, ctx.theta)
    else:
        eye = np.eye(len(ctx.b))

        def diag(th):
            return np.diag(contrast_variance(ctx.obj, th, eye))
        var, jac = diag(ctx.theta), np.column_stack(ctx.coords.derivatives(diag))
    A, f = ctx.A(), ctx.free
    df = np.array([satterthwaite_df(v, g[f], A) for v, g in zip(var, jac)])
    return np.sqrt(var), df


def contest_1d(ctx: Context, l: np.ndarray, df: float | None = None) -> dict:
    """estimate, std_error, df, t_value, p_value of l'b (df: Satterthwaite unless given)."""
    l = np.asarray(l, dtype=float).ravel()
    M, grads = contrast_parts(ctx, l[None, :])
    var = float(M[0, 0])
    if df is None:
        g = np.array([G[0, 0] for G in grads])[ctx.free]
        df = satterthwaite_df(var, g, ctx.A())
    est = float(l @ ctx.b)
    se = np.sqrt(var)
    t = est / se
    return dict(estimate=est, std_error=se, df=df, t_value=t, p_value=float(2 * t_sf(abs(t), df)))


def f_ddf(nu: np.ndarray, tol: float = 1e-8) -> float:
    """lmerTest's get_Fstat_ddf: combine the per-direction df of a multi-df test."""
    nu = np.asarray(nu, dtype=float)
    if len(nu) == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < tol):
        return float(nu.mean())
    if np.any(nu <= 2):
        return 2.0
    E = float(np.sum(nu / (nu - 2)))
    return 2 * E / (E - len(nu))


def contest_md(ctx: Context, L: np.ndarray, den_df: float | None = None, tol: float = 1e-8) -> dict:
    """F test of L b = 0: sum_sq, mean_sq, num_df, den_df, F_value, p_value (lmerTest's contestMD;
    den_df: Satterthwaite when None)."""
    L = np.atleast_2d(np.asarray(L, dtype=float))
    M, grads = contrast_parts(ctx, L)
    d, P = np.linalg.eigh(M)
    order = np.argsort(d)[::-1]
    d, P = d[order], P[:, order]
    keep = d > tol * max(d[0], 0) if len(d) else d > 0
    q = int(keep.sum())
    PtL = P[:, keep].T @ L
    t2 = (PtL @ ctx.b) ** 2 / d[keep]
    F = float(t2.sum() / q)
    if den_df is None:
        A, f = ctx.A(), ctx.free
        nu = []
        for m in range(q):
            pm = P[:, keep][:, m]
            g = np.array([pm @ G @ pm for G in grads])[f]
            nu.append(satterthwaite_df(d[keep][m], g, A))
        den_df = f_ddf(np.array(nu))
    ms = F * ctx.sigma2
    return dict(sum_sq=ms * q, mean_sq=ms, num_df=q, den_df=den_df, F_value=F,
                p_value=float(f_sf(F, q, den_df)))
