"""lme4-like text summary of a FitResult."""
from __future__ import annotations

import numpy as np
import pandas as pd


def _random_block(r) -> str:
    vc = r.variance_components
    rows = []
    for _, row in vc.iterrows():
        if row["term2"]:
            continue
        rows.append((row["group"], row["term1"], row["estimate"], np.sqrt(max(row["estimate"], 0.0))))
    lines = [f" {'Groups':<12} {'Name':<14} {'Variance':>12} {'Std.Dev.':>10}"]
    for g, name, v, sd in rows:
        lines.append(f" {g:<12} {name:<14} {v:12.5g} {sd:10.5g}")
    cors = vc[vc["term2"] != ""]
    for _, row in cors.iterrows():
        va = vc[(vc.group == row.group) & (vc.term1 == row.term1) & (vc.term2 == "")]["estimate"].iloc[0]
        vb = vc[(vc.group == row.group) & (vc.term1 == row.term2) & (vc.term2 == "")]["estimate"].iloc[0]
        corr = row["estimate"] / np.sqrt(va * vb) if va > 0 and vb > 0 else np.nan
        lines.append(f" Corr({row.group}: {row.term1}, {row.term2}) = {corr:.3f}")
    lev = ", ".join(f"{k}, {v}" for k, v in r.n_levels.items())
    lines.append(f"Number of obs: {r.nobs}, groups:  {lev}")
    return "\n".join(lines)


def summary_text(r) -> str:
    """Method and criterion, scaled residuals, random effects, fixed effects and convergence."""
    crit = "REML criterion at convergence" if r.method == "REML" else "deviance"
    resid = r.residuals("conditional") / np.sqrt(r.sigma2)
    q = np.quantile(resid, [0, 0.25, 0.5, 0.75, 1])
    fe = r.fixed_effects[["estimate", "std_error", "df", "t_value", "p_value"]]
    with pd.option_context("display.width", 120, "display.max_columns", 10):
        fe_text = fe.to_string(float_format=lambda x: f"{x:.5g}")
    fit = "Linear mixed model fit by " + ("REML" if r.method == "REML" else "maximum likelihood")
    conv = ("at given variances (no estimation)" if r.converged is None else
            f"{'converged' if r.converged else 'NOT converged'} in {r.n_iter} iterations ({r.algorithm.upper()}); "
            f"last change {r.criteria.get('change', np.nan):.2g}, Newton decrement "
            f"{r.criteria.get('newton_decrement', np.nan):.2g}")
    bound = r.variance_components[r.variance_components["boundary"]]
    lines = [fit, f"Formula: {r.formula}", "",
             f"{crit}: {r.deviance:.4f}   logLik: {r.loglik:.4f}   AIC: {r.aic:.4f}   BIC: {r.bic:.4f}", "",
             "Scaled residuals:",
             "     Min       1Q   Median       3Q      Max",
             " ".join(f"{x:8.4f}" for x in q), "", "Random effects:", _random_block(r), "",
             "Fixed effects:", fe_text, "", f"Convergence: {conv}"]
    if len(bound):
        lines.append("Boundary (singular) fit: " + ", ".join(f"{g} {t}" for g, t in zip(bound.group, bound.term1)
                                                              if g != "Residual") + " estimated as 0")
    if r.aliased:
        lines.append("Aliased fixed-effect columns dropped: " + ", ".join(r.aliased))
    if r.n_dropped:
        lines.append(f"{r.n_dropped} row(s) with missing values left out")
    return "\n".join(lines)
