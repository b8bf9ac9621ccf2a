"""Linear contrasts L b and estimated marginal (least-squares) means, as emmeans gives them.

The reference grid crosses the levels of every factor in the fixed part and sets
each numeric variable at its mean. The marginal mean of a level of factor F is
the equally weighted average of the grid predictions x_g' b over the other
factors; its standard error and Satterthwaite df come from l = mean of the x_g.
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from ..distributions import t_ppf
from ..errors import DesignError
from .fixedspec import new_matrix, required_variables
from .satterthwaite import Context, contest_1d


def contrast_table(ctx: Context, L, names=None, df: float | None = None, level: float = 0.95) -> pd.DataFrame:
    """estimate, std_error, df, t_value, p_value, ci_lower, ci_upper for each row of L (df: Satterthwaite
    when None)."""
    L = np.atleast_2d(np.asarray(L, dtype=float))
    if L.shape[1] != len(ctx.b):
        raise DesignError(f"contrast matrix has {L.shape[1]} columns but the model has {len(ctx.b)} "
                          "fixed effects")
    rows = [contest_1d(ctx, l, df) for l in L]
    df = pd.DataFrame(rows, index=names if names is not None else range(len(L)))
    q = t_ppf(0.5 + level / 2, df["df"])
    df["ci_lower"] = df["estimate"] - q * df["std_error"]
    df["ci_upper"] = df["estimate"] + q * df["std_error"]
    return df


def _is_factor(col: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)


def reference_grid(design, data: pd.DataFrame) -> pd.DataFrame:
    """Every combination of factor levels; numeric variables at their mean over the rows used."""
    frame = data.loc[design.rows]
    axes = {}
    for v in required_variables(design):
        if v not in frame.columns:
            continue
        col = frame[v]
        axes[v] = sorted(col.unique()) if _is_factor(col) else [float(col.mean())]
    combos = list(itertools.product(*axes.values()))
    return pd.DataFrame(combos, columns=list(axes))


def grid_matrix(design, grid: pd.DataFrame) -> np.ndarray:
    """X of the grid rows, columns as in the fitted X (aliased columns dropped)."""
    return new_matrix(design, grid).toarray()


def emmeans_matrix(design, data: pd.DataFrame, factor: str) -> tuple[np.ndarray, list]:
    """One row l per level of ``factor``: the average grid row of that level."""
    grid = reference_grid(design, data)
    if factor not in grid.columns or not _is_factor(data[factor]):
        raise DesignError(f"{factor!r} is not a factor of the fixed part {design.parsed.fixed!r}")
    G = grid_matrix(design, grid)
    levels = sorted(grid[factor].unique())
    return np.vstack([G[(grid[factor] == lev).to_numpy()].mean(axis=0) for lev in levels]), levels


def emmeans(ctx: Context, design, data: pd.DataFrame, factor: str, level: float = 0.95) -> pd.DataFrame:
    """Marginal means of the levels of ``factor``: emmean, SE, df, confidence limits."""
    L, levels = emmeans_matrix(design, data, factor)
    t = contrast_table(ctx, L, names=pd.Index(levels, name=factor), level=level)
    return t.rename(columns={"estimate": "emmean"}).drop(columns=["t_value", "p_value"])


def pairwise(ctx: Context, design, data: pd.DataFrame, factor: str, level: float = 0.95) -> pd.DataFrame:
    """All differences 'a - b' of marginal means (a before b), unadjusted p-values."""
    L, levels = emmeans_matrix(design, data, factor)
    pairs = list(itertools.combinations(range(len(levels)), 2))
    D = np.array([L[i] - L[j] for i, j in pairs])
    names = pd.Index([f"{levels[i]} - {levels[j]}" for i, j in pairs], name="contrast")
    return contrast_table(ctx, D, names=names, level=level)
