"""Prediction on new data and the marginal covariance of one group's observations.

    y_hat = X_new b + sum_k Z_k,new u_k

with u_k the BLUPs of known levels and 0 for new levels (population-level
prediction); ``random=False`` (or a list of the groups to keep) leaves terms out.
The marginal covariance of the rows of one level of a grouping factor is
V = sum_k Z_k G_k Z_k' + sigma2 I on those rows (nlme's getVarCov).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..errors import DesignError
from ..ids import normalize_ids
from .fixedspec import new_matrix


def level_labels(term, frame: pd.DataFrame) -> np.ndarray:
    """Each row's level label of the term's grouping factor, comparable to the fitted levels."""
    for f in term.factors:
        if f not in frame.columns:
            raise DesignError(f"new data lack the grouping column {f!r} of random term {term.name!r}")
    if len(term.factors) == 1:
        return normalize_ids(frame[term.factors[0]].to_numpy())
    parts = [np.array([str(v) for v in frame[f].to_numpy()], dtype=object) for f in term.factors]
    return np.array([":".join(p) for p in zip(*parts)], dtype=object)


def random_part(term, U: np.ndarray, frame: pd.DataFrame) -> np.ndarray:
    """sum over effects of (effect value) x (BLUP of the row's level), zero for new levels; a joined
    term (formula.correlated) sums its parts, each on its own grouping column."""
    if term.parts:
        out, pos = np.zeros(len(frame)), 0
        for part in term.parts:
            out += random_part(part, U[:, pos:pos + part.q], frame)
            pos += part.q
        return out
    codes = pd.Index(normalize_ids(term.levels.to_numpy()) if len(term.factors) == 1
                     else term.levels.astype(str)).get_indexer(level_labels(term, frame))
    E = np.asarray(term.lhs_spec.get_model_matrix(frame, output="numpy", na_action="ignore"), dtype=float)
    known = codes >= 0
    out = np.zeros(len(frame))
    out[known] = np.einsum("ij,ij->i", E[known], U[codes[known]])
    return out


def predict(result, newdata: pd.DataFrame, random=True) -> np.ndarray:
    """X b plus the random terms selected by ``random`` (True: all, False: none, or a list of groups)."""
    design = result.model.design
    b = result.fixed_effects["estimate"].to_numpy()
    yhat = np.asarray(new_matrix(design, newdata) @ b).ravel() if design.p else np.zeros(len(newdata))
    names = [t.name for t in design.terms]
    keep = names if random is True else [] if random is False or random is None else list(random)
    bad = [g for g in keep if g not in names]
    if bad:
        raise DesignError(f"unknown random term(s) {bad}; terms are {names}")
    for t in design.terms:
        if t.name in keep:
            U = result.random_effects[t.name][list(t.effects)].to_numpy()
            yhat = yhat + random_part(t, U, newdata)
    return yhat


def _k_block(tc, cols: np.ndarray) -> np.ndarray:
    """K[cols, cols] for a term's relationship matrix (identity when K = I)."""
    if tc.Kinv is None:
        return np.eye(len(cols))
    rhs = np.zeros((tc.m, len(cols)))
    rhs[cols, np.arange(len(cols))] = 1.0
    return spla.splu(sp.csc_matrix(tc.Kinv)).solve(rhs)[cols]


def _rows_of(design, vm, group: str, level) -> np.ndarray:
    """Records of ``level`` of ``group``: a random term's grouping, or a structured residual's groups."""
    names = [t.name for t in design.terms]
    if group not in names and vm.residual.structured:
        lay = vm.residual.layout
        where = [i for i, lab in enumerate(lay.group_labels) if lab == str(level)]
        if not where:
            raise DesignError(f"level {level!r} is not a group of the residual structure")
        return np.flatnonzero(lay.group_of == where[0])
    term = design.term(group)
    labels = normalize_ids(term.levels.to_numpy()) if len(term.factors) == 1 else term.levels.astype(str)
    where = pd.Index(labels).get_indexer(normalize_ids(np.array([level])) if len(term.factors) == 1 else [str(level)])
    if where[0] < 0:
        raise DesignError(f"level {level!r} is not a level of {group!r}")
    j = int(where[0])
    Zg = term.Z[:, [a * term.m + j for a in range(term.q)]]
    return np.unique(Zg.nonzero()[0])


def marginal_covariance(result, group: str, level) -> pd.DataFrame:
    """V = sum_k Z_k (Sigma_k (x) K_k) Z_k' + R on the rows of ``level`` of ``group`` (a random term's
    grouping, or, for a structured residual, its grouping: nlme's getVarCov of gls and lme)."""
    model = result.model
    design, vm = model.design, model.vm
    rows = _rows_of(design, vm, group, level)
    sigmas, s2 = vm.unpack(result.theta)
    if vm.residual.structured:
        V = vm.at(result.theta).residual.covariance()[rows][:, rows].toarray()
    else:
        V = s2 * np.eye(len(rows))
    for t, tc, S in zip(design.terms, vm.terms, sigmas):
        Zr = t.Z[rows]
        lev = np.unique(Zr.nonzero()[1] % t.m)
        if not len(lev):
            continue
        Zs = np.hstack([Zr[:, a * t.m + lev].toarray() for a in range(t.q)])
        V += Zs @ np.kron(S, _k_block(tc, lev)) @ Zs.T
    idx = design.rows[rows]
    return pd.DataFrame(V, index=idx, columns=idx)
