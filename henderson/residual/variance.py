"""Variance functions: the standard-deviation factor of each record, on the (G, s) arrays of a size class.

varIdent: sd = delta[stratum], delta of the first stratum fixed at 1 (nlme's parameterization), so
the parameters are the SD ratios of the other strata to the first.
varPower: sd = |v|^delta and varExp: sd = exp(delta v) of a numeric covariate v (the size class's
``covariate``), one unrestricted parameter delta starting at 0 (nlme's parameterization and start).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Homoscedastic:
    """sd = 1 for every record."""

    kind = "none"
    positive = True   # the parameters are positive scalars (SD ratios)

    @property
    def n_params(self) -> int:
        return 0

    def labels(self) -> list[str]:
        return []

    def names(self) -> list[str]:
        """The parameters' names after 'Residual:' in variance_components."""
        return [f"sd({lab})" for lab in self.labels()]

    def start(self, resid=None, stratum=None) -> np.ndarray:
        return np.zeros(0)

    def admissible(self, delta) -> bool:
        return True

    def sd(self, delta, c) -> np.ndarray:
        return np.ones(c.idx.shape)

    def derivatives(self, delta, c) -> list[np.ndarray]:
        return []


@dataclass(frozen=True)
class Ident(Homoscedastic):
    """sd = delta[stratum] with delta[0] = 1; the parameters are delta[1:]."""

    strata: tuple = ()
    kind = "varIdent"

    @property
    def n_params(self) -> int:
        return len(self.strata) - 1

    def labels(self) -> list[str]:
        return [str(s) for s in self.strata[1:]]

    def start(self, resid=None, stratum=None) -> np.ndarray:
        """SD ratios of ``resid`` (OLS residuals) by stratum, or ones."""
        if resid is None:
            return np.ones(self.n_params)
        ss = np.bincount(stratum, weights=resid * resid, minlength=len(self.strata))
        cnt = np.bincount(stratum, minlength=len(self.strata))
        sd = np.sqrt(np.maximum(ss / np.maximum(cnt, 1), 1e-12))
        return np.clip(sd[1:] / sd[0], 0.05, 20.0)

    def admissible(self, delta) -> bool:
        return bool(np.all(np.asarray(delta) > 0))

    def sd(self, delta, c) -> np.ndarray:
        return np.concatenate([[1.0], delta])[c.stratum]

    def derivatives(self, delta, c) -> list[np.ndarray]:
        return [(c.stratum == l).astype(float) for l in range(1, len(self.strata))]


@dataclass(frozen=True)
class Power(Homoscedastic):
    """sd = |v|^delta of the covariate v (no value 0: bind.py refuses them); the parameter is delta."""

    covariate: str = ""
    kind = "varPower"
    label = "power"
    positive = False

    @property
    def n_params(self) -> int:
        return 1

    def labels(self) -> list[str]:
        return [self.label]

    def names(self) -> list[str]:
        return [self.label]

    def start(self, resid=None, stratum=None) -> np.ndarray:
        return np.zeros(1)

    def admissible(self, delta) -> bool:
        return bool(np.all(np.isfinite(delta)))

    def sd(self, delta, c) -> np.ndarray:
        return np.abs(c.covariate) ** delta[0]

    def derivatives(self, delta, c) -> list[np.ndarray]:
        return [self.sd(delta, c) * np.log(np.abs(c.covariate))]


@dataclass(frozen=True)
class Exp(Power):
    """sd = exp(delta v) of the covariate v; the parameter is delta."""

    kind = "varExp"
    label = "expon"

    def sd(self, delta, c) -> np.ndarray:
        return np.exp(delta[0] * c.covariate)

    def derivatives(self, delta, c) -> list[np.ndarray]:
        return [self.sd(delta, c) * c.covariate]
