"""Likelihood-ratio tests between nested fits, and AIC/BIC tables.

    LR = 2 (l_larger - l_smaller),   df = difference in numbers of parameters

When the larger model adds one random effect to a term (one new variance and
its covariances with the term's other effects, or a new scalar term), the
variance lies on the boundary of the parameter space under H0 and LR follows
the 50:50 mixture of chi2(df - 1) and chi2(df) (Self & Liang 1987; for one
variance, of chi2(0) and chi2(1)): p = (P(chi2_{df-1} > LR) + P(chi2_df > LR)) / 2.
REML likelihoods are comparable only between fits with the same fixed effects.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..distributions import chi2_sf
from ..errors import DesignError


@dataclass(frozen=True)
class LRTResult:
    statistic: float
    df: int
    p_value: float
    p_value_naive: float
    boundary: bool
    method: str
    note: str

    def __str__(self) -> str:
        return (f"Likelihood-ratio test ({self.method}): LR = {self.statistic:.4f}, df = {self.df}, "
                f"p = {self.p_value:.4g}\n{self.note}")

    def to_dict(self) -> dict:
        return dict(statistic=self.statistic, df=self.df, p_value=self.p_value,
                    p_value_naive=self.p_value_naive, boundary=self.boundary, method=self.method, note=self.note)


def _design(fit):
    return None if fit.model is None else fit.model.design


def same_fixed(a, b) -> bool:
    """Same fixed-effect columns (names and values) on the same observations."""
    da, db = _design(a), _design(b)
    if da is None or db is None:
        return list(a.fixed_effects.index) == list(b.fixed_effects.index) and a.nobs == b.nobs
    if da.fixed_names != db.fixed_names or da.n != db.n:
        return False
    return bool(abs(da.X - db.X).max() == 0) if da.p else True


def _effects(fit) -> dict[str, tuple]:
    """group -> effects of each random term."""
    d = _design(fit)
    if d is not None:
        return {t.name: tuple(t.effects) for t in d.terms}
    vc = fit.variance_components
    out = {}
    for g, sub in vc[vc.group != "Residual"].groupby("group", sort=False):
        out[g] = tuple(sub[sub.term2 == ""].term1)
    return out


def added_effect(smaller, larger) -> bool:
    """True when the larger model has exactly one more random effect than the smaller, all else equal."""
    es, el = _effects(smaller), _effects(larger)
    extra = 0
    for g, eff in el.items():
        s = es.get(g, ())
        if not set(s) <= set(eff):
            return False
        extra += len(eff) - len(s)
    return extra == 1 and set(es) <= set(el)


def lrt(smaller, larger) -> LRTResult:
    """Compare nested fits: statistic, df and p-value (boundary-aware when one random effect is added)."""
    if smaller.method != larger.method:
        raise DesignError(f"cannot compare a {smaller.method} fit with a {larger.method} fit; "
                          "fit both with the same method")
    if smaller.n_params > larger.n_params:
        smaller, larger = larger, smaller
    if smaller.nobs != larger.nobs:
        raise DesignError(f"fits use different observations ({smaller.nobs} vs {larger.nobs} rows)")
    if smaller.method == "REML" and not same_fixed(smaller, larger):
        raise DesignError("REML fits with different fixed effects cannot be compared by a likelihood-ratio "
                          "test (the REML likelihoods are of different data); refit both with method=\"ML\"")
    df = larger.n_params - smaller.n_params
    if df <= 0:
        raise DesignError("the fits have the same number of parameters; they are not nested")
    stat = max(2.0 * (larger.loglik - smaller.loglik), 0.0)
    naive = float(chi2_sf(stat, df))
    boundary = added_effect(smaller, larger) and same_fixed(smaller, larger)
    if boundary:
        low = float(chi2_sf(stat, df - 1)) if df > 1 else float(stat <= 0)
        p = 0.5 * (low + naive)
        note = (f"p-value from the 50:50 mixture of chi-square({df - 1}) and chi-square({df}): the tested variance "
                f"is on the boundary of the parameter space (naive chi-square({df}) p = {naive:.4g})")
    else:
        p = naive
        note = f"p-value from chi-square({df})"
    return LRTResult(statistic=stat, df=df, p_value=p, p_value_naive=naive, boundary=boundary,
                     method=smaller.method, note=note)


def aic_table(*fits, names=None) -> pd.DataFrame:
    """npar, logLik, deviance, AIC, BIC and differences to the best AIC and BIC, one row per fit."""
    if len(fits) == 1 and isinstance(fits[0], (list, tuple)):
        fits = tuple(fits[0])
    if isinstance(names, str):
        names = [names]
    names = list(names) if names is not None else [f.formula for f in fits]
    methods = {f.method for f in fits}
    if methods == {"REML"} and not all(same_fixed(fits[0], f) for f in fits[1:]):
        raise DesignError("AIC/BIC of REML fits with different fixed effects are not comparable; "
                          "refit with method=\"ML\"")
    if len(methods) > 1:
        raise DesignError(f"fits use different methods {sorted(methods)}; use the same method for all")
    df = pd.DataFrame({"npar": [f.n_params for f in fits], "loglik": [f.loglik for f in fits],
                       "deviance": [f.deviance for f in fits], "aic": [f.aic for f in fits],
                       "bic": [f.bic for f in fits]}, index=pd.Index(names, name="model"))
    df["delta_aic"] = df["aic"] - df["aic"].min()
    df["delta_bic"] = df["bic"] - df["bic"].min()
    return df
