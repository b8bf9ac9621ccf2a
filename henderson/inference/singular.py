"""Cov(parameters) and derivatives of Var(b) over lme4's parameters, for Satterthwaite at singular fits.

At a covariance block on the boundary of the PSD cone the covariance elements are not free (a
correlation of +-1 ties them), and the analytic derivatives in them pass through Sigma_k^-1, whose
largest eigenvalue there is 1e8 / sigma2: both the information and d Var(b) / d theta lose all
their digits. lmerTest works in phi = (relative Cholesky factors T_k, residual scale), where the
boundary is an ordinary point, with numerical derivatives; so does this module, with phi = (T_k
stacked as in reml.cholesky, sigma2) and Sigma_k = sigma2 (T_k T_k' + RIDGE I):

    Cov(phi)              = 2 H^-1,  H the Hessian of the criterion -2 l(phi) (central differences)
    d (L Var(b) L') / dphi_j  by central differences of L Var(b) L' = L C^-1[fixed] L'.

The Satterthwaite df nu = 2 (l'Vl)^2 / (g' Cov(phi) g) does not depend on the parameterization
where both are regular, and is defined here where the covariance elements are not.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..reml.cholesky import RIDGE, Profiled
from .satterthwaite import Context

REL_STEP = 1e-2   # central-difference step: 1e-2 of max(|phi_j|, 1) for T, 1e-2 sigma2 for sigma2
                  # (the criterion near the boundary is accurate to ~1e-7; 1e-3 gave df 1.4% off lmerTest's)


class CholeskyCoordinates:
    """phi = (stacked lower triangles of the T_k, sigma2) <-> theta (covariance elements)."""

    def __init__(self, obj, theta: np.ndarray):
        self.obj = obj
        self.theta0 = np.asarray(theta, dtype=float)
        self.prof = Profiled(obj)
        t = self.prof.stack(obj.vm.relative_cholesky(self.theta0, RIDGE))
        s2 = obj.vm.sigma2(self.theta0)
        self.phi0 = np.append(t, s2)
        self.steps = np.append(REL_STEP * np.maximum(np.abs(t), 1.0), REL_STEP * s2)

    def theta(self, phi: np.ndarray) -> np.ndarray:
        return self.obj.vm.from_cholesky(self.prof.factors(phi[:-1]), float(phi[-1]), RIDGE)

    def shifted(self, j: int, sign: float, i: int | None = None, sign_i: float = 0.0) -> np.ndarray:
        """theta at phi0 + sign h_j e_j (+ sign_i h_i e_i)."""
        phi = self.phi0.copy()
        phi[j] += sign * self.steps[j]
        if i is not None:
            phi[i] += sign_i * self.steps[i]
        return self.theta(phi)

    def covariance(self) -> np.ndarray:
        """Cov(phi) = 2 H^-1 (pseudo-inverse when H is singular)."""
        f = self.obj
        r = len(self.phi0)
        h = self.steps
        f0 = f(self.theta0)
        H = np.zeros((r, r))
        for j in range(r):
            H[j, j] = (f(self.shifted(j, 1)) - 2 * f0 + f(self.shifted(j, -1))) / h[j] ** 2
            for i in range(j):
                H[i, j] = H[j, i] = (f(self.shifted(j, 1, i, 1)) - f(self.shifted(j, 1, i, -1))
                                     - f(self.shifted(j, -1, i, 1)) + f(self.shifted(j, -1, i, -1))) / (4 * h[i] * h[j])
        try:
            return 2.0 * np.linalg.inv(H)
        except np.linalg.LinAlgError:
            return 2.0 * np.linalg.pinv(H)

    def derivatives(self, fn) -> list:
        """[d fn / d phi_j] by central differences, fn(theta) -> array."""
        out = [(fn(self.shifted(j, 1)) - fn(self.shifted(j, -1))) / (2 * self.steps[j])
               for j in range(len(self.phi0))]
        return out


def rank_deficient(variance_components: pd.DataFrame) -> bool:
    """Whether a covariance block is on the boundary other than by zero variances: a covariance on
    the boundary that is not 0 (a correlation of +-1, or a rank-deficient q >= 3 block)."""
    vc = variance_components
    return bool((vc["boundary"] & (vc["term2"] != "") & (vc["estimate"] != 0)).any())


def cholesky_context(obj, theta: np.ndarray, b: np.ndarray) -> Context:
    """The Satterthwaite context in Cholesky coordinates: Cov(phi) and derivatives over phi."""
    coords = CholeskyCoordinates(obj, theta)
    return Context(obj, np.asarray(theta, dtype=float), b, coords.covariance(), obj.vm.sigma2(theta), coords)
