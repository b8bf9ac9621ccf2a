"""Type I and Type III hypothesis matrices for the fixed-effect terms, and the ANOVA F table (as lmerTest).

Type I: rows of the unit upper-triangular factor U of X'X = U' D U (Doolittle)
belonging to each term (sequential tests).

Type III (lmerTest's extract_contrasts_type3, treatment coding): with rdX the
over-parametrized design (an indicator for every level of every factor in each
term), L = (X^+ rdX)'; the columns of each term are made orthogonal to those of
the terms that contain it (higher-order terms first), and each term's
hypothesis matrix is its columns of L restricted to the rows that are columns of X.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from formulaic import model_matrix

from ..errors import DesignError
from ..formula.fixed import r_column_name
from .fixedspec import is_categorical, term_columns
from .satterthwaite import Context, contest_md


def zapsmall(x: np.ndarray, digits: int = 7) -> np.ndarray:
    """R's zapsmall: round to ``digits`` significant digits of the largest absolute value."""
    mx = float(np.max(np.abs(x))) if x.size else 0.0
    if mx <= 0:
        return x
    return np.round(x, max(0, digits - int(np.ceil(np.log10(mx)))))


def fixed_terms(design) -> list[dict]:
    """Fixed-effect terms (intercept excluded): name, variables, numeric variables, columns of X."""
    out = []
    for term, cols in term_columns(design):
        vars_ = [f.expr for f in term.factors if f.expr != "1"]
        if not vars_:
            continue
        numeric = [v for v in vars_ if not is_categorical(design, v)]
        out.append(dict(name=str(term), vars=vars_, numeric=numeric, cols=cols))
    return out


def has_intercept(design) -> bool:
    return "(Intercept)" in design.fixed_names


def type1_contrasts(design) -> dict[str, np.ndarray]:
    """Rows of U (X'X = U' D U, U unit upper triangular) per term."""
    X = design.X.toarray()
    R = np.linalg.cholesky(X.T @ X).T
    U = R / np.diag(R)[:, None]
    return {t["name"]: U[t["cols"]] for t in fixed_terms(design)}


def _full_columns(expr: str, frame: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    mm = model_matrix("0 + " + expr, frame, na_action="ignore")
    return np.asarray(mm, dtype=float), [r_column_name(c) for c in mm.model_spec.column_names]


def rank_deficient_design(design, frame: pd.DataFrame) -> tuple[np.ndarray, list[str], dict]:
    """rdX: intercept and, per term, the row-wise products of each variable's full coding."""
    blocks, names, where = [], [], {}
    if has_intercept(design):
        blocks.append(np.ones((len(frame), 1)))
        names.append("(Intercept)")
    for t in fixed_terms(design):
        M, nm = np.ones((len(frame), 1)), [""]
        for v in t["vars"]:
            V, vn = _full_columns(v, frame)
            M = (V[:, :, None] * M[:, None, :]).reshape(len(frame), -1)  # later variable varies slowest
            nm = [f"{b}:{a}" if b else a for a in vn for b in nm]
        where[t["name"]] = list(range(len(names), len(names) + M.shape[1]))
        blocks.append(M)
        names += nm
    return np.hstack(blocks), names, where


def _contained(a: dict, b: dict) -> bool:
    """Term a is marginal to term b: a's variables strictly inside b's, same numeric variables."""
    return set(a["vars"]) < set(b["vars"]) and set(a["numeric"]) == set(b["numeric"])


def type3_contrasts(design, data: pd.DataFrame) -> dict[str, np.ndarray]:
    """lmerTest's Type III hypothesis matrices for treatment-coded X."""
    terms = fixed_terms(design)
    if design.p <= 1 or len(terms) <= 1:
        return type1_contrasts(design)
    frame = data.loc[design.rows]
    X = design.X.toarray()
    rdX, rd_names, _ = rank_deficient_design(design, frame)
    L = zapsmall(np.linalg.lstsq(X, rdX, rcond=None)[0].T)   # P x p
    order = sorted(range(len(terms)), key=lambda i: -len(terms[i]["vars"]))
    for i in order:
        containers = [t for t in terms if _contained(terms[i], t)]
        if containers:
            A = L[:, [c for t in containers for c in t["cols"]]]
            Y = L[:, terms[i]["cols"]]
            L[:, terms[i]["cols"]] = zapsmall(Y - A @ np.linalg.lstsq(A, Y, rcond=None)[0])
    pos = {n: i for i, n in enumerate(rd_names)}
    missing = [n for n in design.fixed_names if n not in pos]
    if missing:
        raise DesignError(f"Type III contrasts need treatment-coded factors; columns {missing} are not "
                          "indicator products of factor levels")
    L = L[[pos[n] for n in design.fixed_names]]
    out = {}
    for t in terms:
        Lt = L[:, t["cols"]].T
        out[t["name"]] = Lt[np.abs(Lt).sum(axis=1) > 1e-8]
    return out


def anova_table(ctx: Context, contrasts: dict[str, np.ndarray], den_df: float | None = None) -> pd.DataFrame:
    """One F test per term: sum_sq, mean_sq, num_df, den_df, F_value, p_value (den_df: Satterthwaite
    when None)."""
    rows = {name: contest_md(ctx, L, den_df=den_df) for name, L in contrasts.items() if len(L)}
    df = pd.DataFrame.from_dict(rows, orient="index")
    df.index.name = "term"
    return df
