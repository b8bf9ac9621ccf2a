"""Profile-likelihood and Wald confidence intervals for the variance parameters.

Parameters are profiled on lme4's scale (covariance.VarianceModel.sd_cor_layout): per term the
standard deviations of its effects and the correlations between them, then the residual standard
deviation sigma. For a parameter phi_i fixed at c, the profile deviance is

    d(c) = min over the other parameters of -2 l(theta(phi))

and the interval is {c : d(c) - d(phi_hat) <= chi2_{level}(1)}, found by root
finding on each side; a standard deviation whose profile stays below the cut-off
down to zero gets the lower limit 0.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..covariance import COR
from ..distributions import chi2_ppf, norm_ppf
from ..errors import NotPositiveDefiniteError
from ..reml.derivatives import score


def _to_free(kinds, phi, unit):
    """Unconstrained coordinates: artanh of a correlation, log of a standard deviation (at least
    1e-12 of its ``unit``, so that the floor does not depend on the scale of y)."""
    return np.array([np.arctanh(np.clip(p, -1 + 1e-12, 1 - 1e-12)) if k == COR else np.log(max(p, 1e-12 * u))
                     for k, p, u in zip(kinds, phi, unit)])


def _from_free(kinds, z):
    return np.array([np.tanh(v) if k == COR else np.exp(v) for k, v in zip(kinds, z)])


def _theta_jacobian(vm, phi, h: float = 1e-7) -> np.ndarray:
    """d theta / d phi by central differences (theta(phi) is a polynomial: exact to rounding)."""
    J = np.zeros((len(phi), len(phi)))
    for j in range(len(phi)):
        e = np.zeros(len(phi))
        e[j] = h * max(abs(phi[j]), 1.0)
        J[:, j] = (vm.from_sd_cor(phi + e) - vm.from_sd_cor(phi - e)) / (2 * e[j])
    return J


class Profiler:
    """d(c) for one parameter at a time, warm-starting the inner optimisation (analytic gradients)."""

    def __init__(self, obj, theta):
        self.obj, self.vm = obj, obj.vm
        self.phi_hat = self.vm.to_sd_cor(theta)
        self.kinds = [x[0] for x in self.vm.sd_cor_layout()]
        # the scale of each parameter: sigma for standard deviations, 1 for correlations
        sigma = self.phi_hat[self.vm.residual_slice][0]
        self.unit = np.array([1.0 if k == COR else sigma for k in self.kinds])
        self.d_hat = self.deviance(self.phi_hat)

    def deviance(self, phi) -> float:
        try:
            theta = self.vm.from_sd_cor(phi)
            if not self.vm.is_admissible(theta):
                return np.inf
            return float(self.obj(theta))
        except (NotPositiveDefiniteError, np.linalg.LinAlgError):
            return np.inf

    def deviance_grad(self, phi) -> tuple[float, np.ndarray]:
        """-2 l and its gradient in phi (chain rule on the analytic score in theta)."""
        theta = self.vm.from_sd_cor(phi)
        try:
            if not self.vm.is_admissible(theta):
                return np.inf, np.zeros(len(phi))
            state = self.obj.at(theta)
        except (NotPositiveDefiniteError, np.linalg.LinAlgError):
            return np.inf, np.zeros(len(phi))
        g = score(self.obj, state)
        return state.deviance, -2.0 * g @ _theta_jacobian(self.vm, phi)

    def profile(self, i: int, c: float, start: np.ndarray) -> tuple[float, np.ndarray]:
        """min over phi_{-i} of the deviance with phi_i = c; returns (value, argmin phi)."""
        others = [j for j in range(len(self.phi_hat)) if j != i]
        kinds = [self.kinds[j] for j in others]
        phi0 = start.copy()
        phi0[i] = c
        if not others:
            return self.deviance(phi0), phi0
        from scipy import optimize  # imported on use: profiling is rare, the import costs ~0.2 s

        def fg(z):
            phi = phi0.copy()
            phi[others] = _from_free(kinds, z)
            d, g = self.deviance_grad(phi)
            dz = np.array([1 - p**2 if k == COR else p for k, p in zip(kinds, phi[others])])
            return d, g[others] * dz

        res = optimize.minimize(fg, _to_free(kinds, start[others], self.unit[others]), jac=True,
                                method="BFGS", options=dict(gtol=1e-5))
        phi = phi0.copy()
        phi[others] = _from_free(kinds, res.x)
        return float(res.fun), phi

    def limit(self, i: int, cut: float, side: int) -> float:
        """The value of phi_i where d - d_hat reaches ``cut`` on ``side`` (-1 lower, +1 upper)."""
        from scipy import optimize
        kind, est = self.kinds[i], self.phi_hat[i]
        bound = (1.0 if side > 0 else -1.0) if kind == COR else (np.inf if side > 0 else 0.0)
        start = self.phi_hat.copy()
        g = lambda c: self.profile(i, c, start)[0] - self.d_hat - cut  # noqa: E731
        step = 0.25 * (est if kind != COR else 0.5)
        lo = est
        for _ in range(60):
            hi = lo + side * step
            if kind == COR and abs(hi) >= 1:
                hi = bound * (1 - 1e-8)
            if kind != COR and hi <= 0:
                hi = est * 1e-8
            val, phi = self.profile(i, hi, start)
            if val - self.d_hat - cut > 0:
                return optimize.brentq(g, min(lo, hi), max(lo, hi), xtol=1e-7 * max(abs(est), 1e-3 * self.unit[i]),
                                       rtol=1e-8)
            if hi == bound * (1 - 1e-8) or (kind != COR and hi == est * 1e-8):
                return bound
            start, lo, step = phi, hi, step * 1.6
        return bound


def profile_intervals(obj, theta, level: float = 0.95, which=None) -> pd.DataFrame:
    """lower, upper profile limits (and estimate) of the standard deviations, correlations and sigma."""
    prof = Profiler(obj, theta)
    cut = float(chi2_ppf(level, 1))
    names = [x[1] for x in obj.vm.sd_cor_layout()]
    rows = []
    for i, name in enumerate(names):
        if which is not None and name not in which:
            continue
        rows.append(dict(parameter=name, estimate=prof.phi_hat[i], lower=prof.limit(i, cut, -1),
                         upper=prof.limit(i, cut, +1)))
    return pd.DataFrame(rows).set_index("parameter")


def wald_intervals(names, estimate, std_error, level: float = 0.95, log_scale=None) -> pd.DataFrame:
    """Normal-quantile (Wald) intervals; column ``scale`` says on which scale each was formed.

    scale "identity": estimate -/+ z * std_error, as lme4's confint(method='Wald') for fixed effects
    (and covariances, which may be negative). scale "log" (rows where ``log_scale`` is true: variances):
    the Wald interval of log(estimate), whose delta-method standard error is std_error / estimate,
    mapped back: estimate * exp(-/+ z * std_error / estimate). It lies above zero, as a variance
    does, and is asymmetric like the profile interval. A variance estimated at 0 has no log-scale
    interval: lower 0, upper NaN (use the profile interval).
    """
    z = norm_ppf(0.5 + level / 2)
    est, se = np.asarray(estimate, float), np.asarray(std_error, float)
    log = np.zeros(len(est), bool) if log_scale is None else np.asarray(log_scale, bool)
    lower, upper = est - z * se, est + z * se
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.exp(z * se / est)
    pos = log & (est > 0)
    lower[pos], upper[pos] = est[pos] / factor[pos], est[pos] * factor[pos]
    lower[log & ~pos], upper[log & ~pos] = 0.0, np.nan
    return pd.DataFrame({"estimate": est, "lower": lower, "upper": upper,
                         "scale": np.where(log, "log", "identity")}, index=pd.Index(names, name="parameter"))
