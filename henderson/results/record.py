"""FitRecord: the frozen outcome of Model.fit or Model.solve (tables, likelihood parts, iteration log,
flags); no model, no cache. henderson.fitted.FitResult holds it with the model and adds inference."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class FitRecord:
    """Estimates, predictions, likelihood parts and the iteration log of one fit.

    ``loglik`` is the REML or ML log-likelihood (as fitted); ``deviance`` = -2 loglik
    equals lme4's REML criterion for REML and lme4's deviance for ML.
    """

    formula: str
    method: str
    theta: np.ndarray
    loglik: float
    nobs: int
    n_fixed: int
    fixed_effects: pd.DataFrame
    vcov_beta: np.ndarray | None
    variance_components: pd.DataFrame
    vcov_theta: np.ndarray | None
    random_effects: dict
    likelihood_parts: dict
    fitted_values: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    rows: pd.Index = field(repr=False)
    n_levels: dict = field(default_factory=dict)
    n_dropped: int = 0
    aliased: tuple = ()
    versions: dict = field(default_factory=dict)
    converged: bool | None = None
    n_iter: int = 0
    algorithm: str = "ai"
    iterations: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    criteria: dict = field(default_factory=dict)
    sigma2: float = float("nan")                # residual variance
    ddf: str = "residual"                       # how fixed_effects' df were computed
    vcov_theta_observed: np.ndarray | None = field(default=None, repr=False)  # inverse observed information
    singular: bool = False                      # lme4's isSingular: a relative Cholesky diagonal below 1e-4

    @property
    def deviance(self) -> float:
        return -2.0 * self.loglik

    @property
    def n_params(self) -> int:
        """Parameters counted by AIC/BIC as lme4 does: fixed effects plus variance parameters."""
        return self.n_fixed + len(self.theta)

    @property
    def aic(self) -> float:
        return self.deviance + 2 * self.n_params

    @property
    def bic(self) -> float:
        return self.deviance + np.log(self.nobs) * self.n_params

    @property
    def fixef(self) -> pd.Series:
        return self.fixed_effects["estimate"]

    def fitted(self) -> np.ndarray:
        """X b + Z u for the rows used."""
        return self.fitted_values

    def residuals(self, kind: str = "conditional") -> np.ndarray:
        """Conditional y - Xb - Zu or standardized (Pearson) (y - Xb - Zu) / sigma (marginal: FitResult)."""
        if kind in ("standardized", "pearson"):
            return (self.y - self.fitted_values) / np.sqrt(self.sigma2)
        if kind == "conditional":
            return self.y - self.fitted_values
        raise ValueError(f"kind must be 'conditional', 'marginal' or 'standardized', got {kind!r}")

    def to_dict(self) -> dict:
        """Everything, as plain Python types (JSON-ready)."""
        def frame(df):
            return json.loads(df.reset_index().to_json(orient="records", double_precision=15))
        return {
            "formula": self.formula, "method": self.method, "algorithm": self.algorithm,
            "nobs": self.nobs, "n_dropped": self.n_dropped, "aliased": list(self.aliased),
            "loglik": self.loglik, "deviance": self.deviance, "aic": self.aic, "bic": self.bic,
            "converged": self.converged, "singular": self.singular, "n_iter": self.n_iter,
            "criteria": _plain(self.criteria),
            "theta": [float(x) for x in self.theta],
            "fixed_effects": frame(self.fixed_effects),
            "variance_components": frame(self.variance_components),
            "random_effects": {k: frame(v) for k, v in self.random_effects.items()},
            "n_levels": dict(self.n_levels),
            "likelihood_parts": _plain(self.likelihood_parts),
            "iterations": frame(self.iterations) if len(self.iterations) else [],
            "ddf": self.ddf,
            "vcov_beta": _matrix(self.vcov_beta),
            "vcov_theta": _matrix(self.vcov_theta),
            "vcov_theta_observed": _matrix(self.vcov_theta_observed),
            "versions": dict(self.versions),
        }

    def to_json(self, path=None, indent: int = 1) -> str:
        """to_dict() as JSON text, also written to ``path`` when given."""
        return json_text(self.to_dict(), path, indent)


def _matrix(M):
    return None if M is None else [[None if not np.isfinite(x) else float(x) for x in row] for row in np.asarray(M)]


def _plain(d: dict) -> dict:
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in d.items()}


def json_text(d: dict, path=None, indent: int = 1) -> str:
    """``d`` as JSON text (NaN allowed), also written to ``path`` when given."""
    text = json.dumps(d, indent=indent, allow_nan=True)
    if path is not None:
        with open(path, "w") as fh:
            fh.write(text)
    return text
