"""The tables of a fit record: fixed effects, variance components, BLUPs with prediction error variances."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..distributions import t_ppf, t_sf


def fixed_table(names, b, se, df) -> pd.DataFrame:
    """estimate, std_error, df, t_value, p_value and 95% confidence limits per coefficient."""
    t = b / se
    df = np.broadcast_to(np.asarray(df, dtype=float), b.shape)
    q = t_ppf(0.975, df)
    return pd.DataFrame({"estimate": b, "std_error": se, "df": df, "t_value": t,
                         "p_value": 2 * t_sf(np.abs(t), df),
                         "ci_lower": b - q * se, "ci_upper": b + q * se}, index=pd.Index(names, name="coefficient"))


def variance_table(vm, theta, vcov_theta, boundary, zero=None) -> pd.DataFrame:
    """group, term1, term2, estimate, std_error, boundary: one row per element of theta; estimates
    in ``zero`` (default: those on the boundary) are reported as 0."""
    df = vm.param_table()
    zero = boundary if zero is None else zero
    est = np.where(zero, 0.0, theta)
    se = np.full(len(theta), np.nan) if vcov_theta is None else np.sqrt(np.clip(np.diag(vcov_theta), 0, None))
    df["estimate"] = est
    df["std_error"] = np.where(boundary, np.nan, se)
    df["boundary"] = boundary
    return df


def random_tables(model, pattern, state, dinv: np.ndarray) -> dict[str, pd.DataFrame]:
    """BLUPs per term (levels x effects) with prediction error variances (``dinv`` = diag C^-1); for
    pedigree terms also ``ebv`` (the same BLUP, for a one-effect term), F, sep, reliability and accuracy."""
    vm = pattern.vm
    sigmas = state.params.sigmas
    out = {}
    for k, (term, t) in enumerate(zip(model.design.terms, vm.terms)):
        sl = pattern.term_slice(k)
        U = state.sol[sl].reshape(t.q, t.m).T
        pev = dinv[sl].reshape(t.q, t.m).T
        df = pd.DataFrame(U, index=term.levels, columns=list(t.effects))
        for a, eff in enumerate(t.effects):
            suffix = "" if t.q == 1 else f":{eff}"
            df["pev" + suffix] = pev[:, a]
        r = model.relationships.get(term.name)
        if r is not None and r.pedigree is not None:
            if t.q == 1:  # a breeder's name for the BLUP of an animal term (the effect column stays)
                df.insert(1, "ebv", U[:, 0])
            F = r.pedigree.inbreeding.reindex(term.levels).to_numpy(dtype=float)
            df["F"] = F
            for a, eff in enumerate(t.effects):
                suffix = "" if t.q == 1 else f":{eff}"
                rel = 1.0 - pev[:, a] / (sigmas[k][a, a] * (1.0 + F))
                df["sep" + suffix] = np.sqrt(pev[:, a])
                df["reliability" + suffix] = rel
                df["accuracy" + suffix] = np.sqrt(np.clip(rel, 0.0, None))
        out[term.name] = df
    return out
