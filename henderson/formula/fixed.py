"""Fixed-effect design X from the fixed part of a formula, sparse from end to end.

Factors get treatment contrasts with the first (sorted) level as reference, as
R does; column names follow R (``(Intercept)``, ``VMarvellous``,
``VMarvellous:N0.2cwt``) so that estimates compare one to one with lme4.
"""
from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp
from formulaic import Formula, model_matrix

from ..errors import AliasedColumnsWarning, DesignError

_LEVEL = re.compile(r"\[(?:T\.)?([^\]]*)\]")


def r_column_name(name: str) -> str:
    """Formulaic's ``V[T.Marvellous]:N[0.2cwt]`` as R's ``VMarvellous:N0.2cwt``."""
    if name == "Intercept":
        return "(Intercept)"
    return _LEVEL.sub(r"\1", name)


def required_columns(rhs: str) -> set[str]:
    """Data columns that the fixed part ``rhs`` reads (names of numpy etc. excluded)."""
    try:
        return set(Formula(rhs).required_variables)
    except Exception as exc:  # formulaic raises many parser error types
        raise DesignError(f"cannot parse fixed part {rhs!r}: {exc}") from exc


def fixed_design(rhs: str, data: pd.DataFrame) -> tuple[sp.csc_matrix, list[str], object]:
    """Evaluate ``rhs`` on ``data``: X as a sparse CSC matrix, R-style column names, and the model spec.

    The model spec evaluates the same columns on new data (prediction).
    """
    try:
        mm = model_matrix(rhs, data, output="sparse", na_action="ignore")
    except Exception as exc:
        raise DesignError(f"cannot build fixed effects from {rhs!r}: {exc}") from exc
    X = sp.csc_matrix(mm, dtype=float)
    names = [r_column_name(c) for c in mm.model_spec.column_names]
    bad = ~np.isfinite(X.data)
    if bad.any():
        col = int(np.searchsorted(X.indptr, np.flatnonzero(bad)[0], side="right") - 1)
        row = int(X.indices[np.flatnonzero(bad)[0]])
        raise DesignError(f"fixed-effect column {names[col]!r} is not finite at row {row} "
                          f"(e.g. log of a non-positive value)")
    return X, names, mm.model_spec


def aliased_columns(X: sp.csc_matrix, tol: float = 1e-7) -> np.ndarray:
    """Indices of columns of X that are linear combinations of earlier columns.

    Greedy Cholesky of X'X in the natural column order, as R's pivoted QR with
    limited pivoting (dqrdc2): a column whose pivot, relative to its own norm,
    falls below ``tol`` is aliased and skipped. Dense in p = ncol(X); for
    p > 3000 a sparse LDL' on X'X is used instead (see aliased_columns_sparse).
    """
    p = X.shape[1]
    if p > 3000:
        from .rank import aliased_columns_sparse
        return aliased_columns_sparse(X, tol)
    A = (X.T @ X).toarray()
    L = np.zeros_like(A)
    keep, out = [], []
    for j in range(p):
        v = A[j:, j] - L[j:, keep] @ L[j, keep]
        d = v[0]
        if A[j, j] <= 0 or d <= tol * tol * A[j, j]:
            out.append(j)
            continue
        L[j:, j] = v / np.sqrt(d)
        keep.append(j)
    return np.asarray(out, dtype=np.int64)


def drop_aliased(X: sp.csc_matrix, names: list[str]) -> tuple[sp.csc_matrix, list[str], list[str]]:
    """Remove aliased columns from X, warning with their names (lme4: 'fixed-effect model matrix is rank deficient')."""
    bad = aliased_columns(X)
    if len(bad) == 0:
        return X, names, []
    dropped = [names[j] for j in bad]
    warnings.warn(f"fixed-effect model matrix is rank deficient, dropping {len(dropped)} "
                  f"column(s): {', '.join(dropped)}", AliasedColumnsWarning, stacklevel=3)
    keep = np.setdiff1d(np.arange(X.shape[1]), bad)
    return X[:, keep], [names[j] for j in keep], dropped
