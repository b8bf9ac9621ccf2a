"""Fixed-effect design X from the fixed part of a formula, sparse from end to end.

Factors get treatment contrasts with the first (sorted) level as reference, as
R does; column names follow R (``(Intercept)``, ``VMarvellous``,
``VMarvellous:N0.2cwt``) so that estimates compare one to one with lme4.
"""
from __future__ import annotations

import functools
import re
import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp
from formulaic import Formula, model_matrix
from scipy.linalg import lapack

from ..errors import AliasedColumnsWarning, DesignError
from ..linalg.blas_threads import blas_threads, requested_threads
from .factors import big_factors, sorted_levels, treatment_block

_LEVEL = re.compile(r"\[(?:T\.)?([^\]]*)\]")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def plain_message(exc: Exception) -> str:
    """The message of a formulaic error without its terminal colour codes (ANSI escapes)."""
    return _ANSI.sub("", str(exc))


def r_column_name(name: str) -> str:
    """Formulaic's ``V[T.Marvellous]:N[0.2cwt]`` as R's ``VMarvellous:N0.2cwt``."""
    if name == "Intercept":
        return "(Intercept)"
    return _LEVEL.sub(r"\1", name)


@functools.lru_cache(maxsize=512)
def required_columns(rhs: str) -> frozenset[str]:
    """Data columns that the fixed part ``rhs`` reads (names of numpy etc. excluded); remembered per
    text, as formulaic's parser costs a fraction of a millisecond per call."""
    try:
        return frozenset(Formula(rhs).required_variables)
    except Exception as exc:  # formulaic raises many parser error types
        raise DesignError(f"cannot parse fixed part {rhs!r}: {plain_message(exc)}") from exc


class FixedSpec:
    """How X was built from the data, to rebuild the same columns on new data (prediction).

    formulaic evaluates the formula, except that large categorical main effects
    (see factors.big_factors) are coded directly; formulaic sees a numeric
    placeholder in their place, whose single column is then replaced by the block.
    """

    def __init__(self, rhs: str, spec, levels: dict, drop_first: dict):
        self.rhs = rhs
        self.spec = spec
        self.levels = levels
        self.big = list(levels)
        self.drop_first = drop_first

    @classmethod
    def build(cls, rhs: str, data: pd.DataFrame):
        """(FixedSpec, formulaic's matrix of ``data``): the spec and the matrix come from one evaluation."""
        big = big_factors(rhs, data)
        levels = {c: sorted_levels(data[c]) for c in big}
        placeholders = data.assign(**{c: np.zeros(len(data)) for c in big}) if big else data
        try:
            mm = model_matrix(rhs, placeholders, output="sparse", na_action="ignore")
        except Exception as exc:
            raise DesignError(f"cannot build fixed effects from {rhs!r}: {plain_message(exc)}") from exc
        has_intercept = "Intercept" in mm.model_spec.column_names
        drop_first = {c: has_intercept or i > 0 for i, c in enumerate(big)}
        return cls(rhs, mm.model_spec, levels, drop_first), mm

    def _placeholders(self, data: pd.DataFrame) -> pd.DataFrame:
        if not self.big:
            return data
        return data.assign(**{c: np.zeros(len(data)) for c in self.big})

    def matrix(self, data: pd.DataFrame) -> tuple[sp.csc_matrix, list[str]]:
        """X on ``data`` (sparse CSC) and its R-style column names."""
        try:
            mm = self.spec.get_model_matrix(self._placeholders(data), output="sparse", na_action="ignore")
        except Exception as exc:
            raise DesignError(f"cannot build fixed effects {self.rhs!r} on these data: {plain_message(exc)}") from exc
        return self.assemble(mm, data)

    def assemble(self, mm, data: pd.DataFrame) -> tuple[sp.csc_matrix, list[str]]:
        """Replace the placeholder column of each large factor in formulaic's matrix ``mm`` by its block."""
        X0 = sp.csc_matrix(mm, dtype=float)
        blocks, names = [], []
        for j, c in enumerate(self.spec.column_names):
            if c in self.levels:
                M, nm = treatment_block(data[c], self.levels[c], self.drop_first[c], c)
                blocks.append(M)
                names += nm
            else:
                blocks.append(X0[:, j])
                names.append(r_column_name(c))
        if not blocks:   # y ~ 0 + (1|g): no fixed effects
            return sp.csc_matrix((len(data), 0)), names
        X = sp.hstack(blocks, format="csc") if len(blocks) != 1 else sp.csc_matrix(blocks[0])
        return X, names

    @property
    def column_names(self) -> list[str]:
        """R-style names of all columns (before aliased columns are dropped)."""
        out = []
        for c in self.spec.column_names:
            if c in self.levels:
                lv = self.levels[c][1:] if self.drop_first[c] else self.levels[c]
                out += [f"{c}{v}" for v in lv]
            else:
                out.append(r_column_name(c))
        return out

    def get_model_matrix(self, data: pd.DataFrame, output: str = "pandas"):
        """Like formulaic's ModelSpec.get_model_matrix: sparse CSC for output="sparse", else a DataFrame."""
        X, names = self.matrix(data)
        if output == "sparse":
            return X
        return pd.DataFrame(X.toarray(), columns=names, index=data.index)


def fixed_design(rhs: str, data: pd.DataFrame) -> tuple[sp.csc_matrix, list[str], FixedSpec]:
    """Evaluate ``rhs`` on ``data``: X as a sparse CSC matrix, R-style column names, and the spec
    that rebuilds the same columns on new data."""
    spec, mm = FixedSpec.build(rhs, data)
    X, names = spec.assemble(mm, data)
    bad = ~np.isfinite(X.data)
    if bad.any():
        k = np.flatnonzero(bad)[0]
        col = int(np.searchsorted(X.indptr, k, side="right") - 1)
        raise DesignError(f"fixed-effect column {names[col]!r} is not finite at row {int(X.indices[k])} "
                          f"(e.g. log of a non-positive value)")
    return X, names, spec


def gram_tolerance(tol: float, p: int) -> float:
    """Relative pivot below which a column counts as aliased: tol^2, but never below the Gram matrix's roundoff.

    Pivots of X'X carry an absolute error of about p * machine epsilon (unit diagonal),
    so tol^2 = 1e-14 alone would keep exactly dependent columns whose computed pivot is
    roundoff (a column then near-dependent on the kept ones at about 1e-7 of its norm
    is dropped; R's QR on X resolves such columns, a Gram-based method cannot).
    """
    return max(tol * tol, 100.0 * p * np.finfo(float).eps)


def aliased_columns(X: sp.csc_matrix, tol: float = 1e-7) -> np.ndarray:
    """Indices of columns of X that are linear combinations of earlier columns.

    Greedy Cholesky of the unit-diagonal D^-1/2 X'X D^-1/2 in the natural column
    order, as R's pivoted QR with limited pivoting (dqrdc2): a column whose pivot
    falls below ``gram_tolerance(tol, p)`` is aliased and skipped. Dense in
    p = ncol(X); for p > 3000 the sparse method ``rank.aliased_columns_sparse`` is used.
    """
    p = X.shape[1]
    if p > 3000:
        from .rank import aliased_columns_sparse
        return aliased_columns_sparse(X, tol)
    A = (X.T @ X).toarray()
    d = np.diag(A).copy()
    s = np.where(d > 0, 1.0 / np.sqrt(np.where(d > 0, d, 1.0)), 0.0)
    A = A * s[:, None] * s[None, :]
    eps = gram_tolerance(tol, p)
    if _full_rank(A, d, eps):
        return np.zeros(0, dtype=np.int64)
    L = np.zeros_like(A)
    keep, out = [], []
    for j in range(p):
        v = A[j:, j] - L[j:, keep] @ L[j, keep]
        if d[j] <= 0 or v[0] <= eps:
            out.append(j)
            continue
        L[j:, j] = v / np.sqrt(v[0])
        keep.append(j)
    return np.asarray(out, dtype=np.int64)


def _full_rank(A: np.ndarray, d: np.ndarray, eps: float) -> bool:
    """Whether LAPACK's Cholesky of the scaled Gram matrix A has every pivot above 100 eps: then the greedy
    elimination of aliased_columns, the same recurrence, skips no column (the common case: herd-year
    factors with thousands of levels take one dpotrf instead of p Python steps). Pivots nearer eps,
    where the order of the sums might decide, are left to the greedy elimination."""
    if A.shape[0] == 0 or np.any(d <= 0):
        return False
    with blas_threads(requested_threads(1)):   # p <= 3000: OpenBLAS's threads only spin on a shared machine
        L, info = lapack.dpotrf(A, lower=1, clean=0)
    return info == 0 and bool(np.min(np.diag(L)) ** 2 > 100.0 * eps)


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
