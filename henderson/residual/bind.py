"""Bind the user's residual structure (spec.py) to the records of a design: a StructuredResidual, or None
for R = sigma2 I. Checks: columns present and complete, a time covariate not repeated within a group,
every varIdent stratum with two records or more, weights positive and finite, and the confounded
combination of a random intercept with corSymm / corCompSymm over the same groups."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DesignError
from . import correlation as cor
from . import variance as var
from .layout import _first_ten, build_layout, group_codes
from .spec import CORRELATIONS, VARIANCES, parse_structure
from .term import StructuredResidual


def _column(data: pd.DataFrame, name: str, what: str) -> np.ndarray:
    if name not in data.columns:
        raise DesignError(f"{what}: column {name!r} not in the data")
    col = data[name]
    if col.isna().any():
        rows = list(data.index[col.isna().to_numpy()])
        raise DesignError(f"{what}: column {name!r} has missing values in rows {_first_ten(rows)}")
    return col.to_numpy()


def _weights(data: pd.DataFrame, name: str | None) -> np.ndarray:
    if name is None:
        return np.ones(len(data))
    if name not in data.columns:
        raise DesignError(f"weights: column {name!r} not in the data")
    w = pd.to_numeric(data[name], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(w) | (w <= 0)
    if bad.any():
        rows = list(data.index[bad])
        raise DesignError(f"weights: column {name!r} must be positive and finite; not so in rows {_first_ten(rows)}")
    return w


def _default_groups(terms) -> tuple[str, ...]:
    """nlme::lme's default grouping of a correlation structure: the innermost random grouping (most levels)."""
    if not terms:
        return ()
    inner = max(terms, key=lambda t: t.m)
    return tuple(inner.name.split(":"))


def bind_residual(correlation, variance, weights, data: pd.DataFrame, terms) -> StructuredResidual | None:
    """The residual term for ``data`` (the design's rows, in its order) and random ``terms``."""
    cspec = parse_structure(correlation, CORRELATIONS, "correlation")
    vspec = parse_structure(variance, VARIANCES, "variance")
    if cspec is None and vspec is None and weights is None:
        return None
    n = len(data)
    w = _weights(data, weights)
    what = str(cspec) if cspec is not None else "residual"
    if cspec is not None:
        names = cspec.form.groups or _default_groups(terms)
        groups, labels = group_codes([_column(data, g, what) for g in names], n)
        time = None if cspec.form.covariate is None else \
            pd.to_numeric(pd.Series(_column(data, cspec.form.covariate, what)), errors="coerce").to_numpy(float)
    else:
        names = ()
        groups, labels = np.arange(n, dtype=np.int64), tuple(map(str, data.index))
        time = None
    strata, stratum = ("(all)",), np.zeros(n, dtype=np.int64)
    covariate = None
    if vspec is not None and vspec.kind != "varIdent":
        covariate = _variance_covariate(vspec, data)
    elif vspec is not None:
        if vspec.form.covariate is not None:
            raise DesignError(f"{vspec}: varIdent takes '~ 1 | stratum'")
        if not vspec.form.groups:
            raise DesignError(f"{vspec}: varIdent needs a stratum, '~ 1 | stratum'")
        stratum, strata = group_codes([_column(data, g, str(vspec)) for g in vspec.form.groups], n)
        counts = np.bincount(stratum, minlength=len(strata))
        if (counts < 2).any():
            raise DesignError(f"{vspec}: stratum {_first_ten([s for s, c in zip(strata, counts) if c < 2])} has a "
                              "single record; its standard deviation cannot be estimated")
    kind = cspec.kind if cspec is not None else "none"
    layout = build_layout(groups, labels, time, integer_time=kind == "corAR1", rank_positions=kind == "corSymm",
                          stratum=stratum, scale=1.0 / np.sqrt(w), what=what, covariate=covariate)
    corr = _correlation(kind, layout)
    vf = _variance_function(vspec, strata)
    term = StructuredResidual(layout=layout, correlation=corr, variance=vf,
                              description=", ".join(str(s) for s in (cspec, vspec) if s is not None)
                              + (f", weights = {weights}" if weights is not None else ""))
    _check_confounded(term, kind, vspec is not None, names, layout, terms)
    return term


def _variance_covariate(vspec, data: pd.DataFrame) -> np.ndarray:
    """The numeric covariate of varPower / varExp (no strata); varPower refuses values 0 (|0|^delta)."""
    what, name = str(vspec), vspec.form.covariate
    if name is None or vspec.form.groups:
        raise DesignError(f"{what}: {vspec.kind} takes a numeric covariate, '~ v' (strata '| g' are not supported)")
    col = _column(data, name, what)
    if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        raise DesignError(f"{what}: column {name!r} must be numeric, got {col.dtype}")
    v = col.astype(float)
    if not np.isfinite(v).all():
        raise DesignError(f"{what}: column {name!r} must be finite; not so in rows "
                          f"{_first_ten(list(data.index[~np.isfinite(v)]))}")
    if vspec.kind == "varPower" and (v == 0).any():
        raise DesignError(f"{what}: column {name!r} is 0 in rows {_first_ten(list(data.index[v == 0]))}; "
                          "the standard deviation |v|^delta is 0 or infinite there")
    return v


def _variance_function(vspec, strata):
    if vspec is None:
        return var.Homoscedastic()
    if vspec.kind == "varPower":
        return var.Power(covariate=vspec.form.covariate)
    if vspec.kind == "varExp":
        return var.Exp(covariate=vspec.form.covariate)
    return var.Ident(strata=strata)


def _correlation(kind: str, layout):
    sizes = [c.s for c in layout.classes]
    if kind == "corSymm":
        return cor.Symm(T=layout.n_positions, position_labels=layout.position_labels)
    if kind == "corAR1":
        return cor.AR1()
    if kind == "corCAR1":
        return cor.AR1(continuous=True)
    if kind == "corCompSymm":
        return cor.CompSymm(max_size=max(sizes))
    return cor.Independent()


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = len(np.unique(a.astype(np.int64) * (int(b.max()) + 1) + b))
    return pairs == len(np.unique(a)) == len(np.unique(b))


def _check_confounded(term, kind, has_var, names, layout, terms) -> None:
    """A random intercept over the residual's groups with corSymm or corCompSymm is not identifiable."""
    if kind not in ("corSymm", "corCompSymm"):
        return
    for t in terms:
        if t.effects != ("(Intercept)",) or t.Z.nnz != layout.n:
            continue
        level = np.asarray(t.Z.tocsr().indices)
        if _same_partition(layout.group_of, level):
            parts = f"{kind}" + (" + varIdent (an unstructured residual covariance)" if has_var else "")
            raise DesignError(
                f"the random intercept (1|{t.name}) is confounded with the residual {parts} over the same groups "
                f"({'/'.join(names)}): the intercept variance adds a constant to every within-group covariance, "
                "which the residual correlation already has; drop one of the two")
