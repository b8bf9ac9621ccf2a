"""Formula + DataFrame -> Design: response y, sparse X, sparse Z blocks and level maps."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from formulaic import model_matrix

from ..errors import DesignError, MissingDataWarning
from .checks import check_observations, check_several_observations
from .fixed import drop_aliased, fixed_design, plain_message, required_columns
from .parse import ParsedFormula, parse_formula
from .random import RandomTerm, random_term


@dataclass(frozen=True)
class Design:
    """Everything the data contribute to the model y = X b + Z u + e (immutable).

    ``rows`` are the labels (index) of the data rows used; ``n_dropped`` rows had
    missing values in a model column. ``aliased`` names fixed columns dropped
    as linear combinations of earlier ones.
    """

    formula: str
    parsed: ParsedFormula
    y: np.ndarray
    X: sp.csc_matrix
    fixed_names: tuple[str, ...]
    terms: tuple[RandomTerm, ...]
    rows: pd.Index
    n_dropped: int
    aliased: tuple[str, ...]
    fixed_spec: object = field(repr=False)

    @property
    def n(self) -> int:
        return len(self.y)

    @property
    def p(self) -> int:
        return self.X.shape[1]

    @property
    def Z(self) -> sp.csc_matrix:
        """All random-effect columns side by side, in term order."""
        if not self.terms:
            return sp.csc_matrix((self.n, 0))
        return sp.hstack([t.Z for t in self.terms], format="csc")

    def term(self, name: str) -> RandomTerm:
        for t in self.terms:
            if t.name == name:
                return t
        raise KeyError(f"no random term named {name!r}; terms are {[t.name for t in self.terms]}")


def _columns_used(parsed: ParsedFormula, data: pd.DataFrame) -> list[str]:
    resp = [parsed.response] if parsed.response in data.columns else sorted(required_columns(parsed.response))
    cols = resp + sorted(required_columns(parsed.fixed))
    for spec in parsed.random:
        cols += sorted(required_columns(spec.lhs)) + list(spec.factors)
    seen = []
    for c in cols:
        if c not in seen:
            seen.append(c)
    unknown = [c for c in seen if c not in data.columns]
    if unknown:
        raise DesignError(f"column(s) {', '.join(map(repr, unknown))} used in the formula are not in the data "
                          f"(columns are: {', '.join(map(str, data.columns[:20]))})")
    return seen


def _drop_missing(data: pd.DataFrame, cols: list[str]) -> tuple[pd.DataFrame, int]:
    """Rows with a missing value in any model column are left out, with a warning counting them per column."""
    miss = {c: data[c].isna().to_numpy() for c in cols}   # column by column: no copy of the frame
    bad = np.logical_or.reduce(list(miss.values())) if miss else np.zeros(len(data), bool)
    if not bad.any():
        return data, 0
    per_col = {c: int(v.sum()) for c, v in miss.items() if v.any()}
    warnings.warn(f"{int(bad.sum())} row(s) with missing values left out (per column: {per_col})",
                  MissingDataWarning, stacklevel=4)
    return data.loc[~bad], int(bad.sum())


def _response_column(data: pd.DataFrame, name: str) -> pd.Series:
    """The response: a column, or an expression of columns such as ``np.log(y)`` (evaluated by formulaic)."""
    if name in data.columns:
        return data[name]
    try:
        mm = model_matrix(f"0 + {name}", data, na_action="ignore")
    except Exception as exc:
        raise DesignError(f"cannot evaluate the response {name!r}: {plain_message(exc)}") from exc
    if mm.shape[1] != 1:
        raise DesignError(f"response {name!r} is not numeric (it gives {mm.shape[1]} columns)")
    return mm.iloc[:, 0]


def _response(data: pd.DataFrame, name: str) -> np.ndarray:
    """The response as finite floats (not checked for being constant: see _check_not_constant)."""
    col = _response_column(data, name)
    if not (pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)):
        raise DesignError(f"response {name!r} is not numeric (dtype {col.dtype})")
    y = col.to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(y))
    if len(bad):
        raise DesignError(f"response {name!r} is not finite at row {col.index[bad[0]]!r} "
                          f"({len(bad)} row(s); e.g. log of a non-positive value)")
    return y


def _check_not_constant(y: np.ndarray, name: str) -> None:
    """lme4's check.response.not.const (checked after the number of observations, so one record is not 'constant')."""
    if np.ptp(y) == 0:
        raise DesignError(f"response {name!r} is constant ({float(y[0]):g}) over {len(y)} observations; "
                          "nothing to model")


def build_design(formula: str, data: pd.DataFrame, ids: dict | None = None) -> Design:
    """Parse ``formula`` and evaluate it on ``data``.

    ``ids`` maps a random term's group name (or its grouping column) to the ids of
    its relationship matrix, so that Z has one column per id, including ids without records.
    Raises DesignError for fewer observations than fixed effects plus one and for a constant
    response; the level counts that only estimation needs are checked by
    henderson.formula.checks.check_identifiable.
    """
    if not isinstance(data, pd.DataFrame):
        raise DesignError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    parsed = parse_formula(formula)
    cols = _columns_used(parsed, data)
    data, n_dropped = _drop_missing(data, cols)
    if len(data) == 0:
        raise DesignError("the data set is empty" + (" after leaving out rows with missing values"
                                                     if n_dropped else ""))
    y = _response(data, parsed.response)
    check_several_observations(len(y), n_dropped)
    X, names, spec = fixed_design(parsed.fixed, data)
    X, names, aliased = drop_aliased(X, names)
    check_observations(len(y), X.shape[1], names)
    _check_not_constant(y, parsed.response)
    ids = ids or {}
    terms = tuple(random_term(s, data, ids.get(s.name, ids.get(":".join(s.factors)))) for s in parsed.random)
    return Design(formula=formula, parsed=parsed, y=y, X=X, fixed_names=tuple(names), terms=terms,
                  rows=data.index, n_dropped=n_dropped, aliased=tuple(aliased), fixed_spec=spec)
