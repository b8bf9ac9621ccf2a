"""Text summary of a multi-trait fit (henderson.fitted.traits): the criterion, each covariance matrix
(variances, standard deviations and correlations, the residual's across the traits of a record row),
heritabilities and correlations with standard errors, and the fixed effects grouped by trait."""
from __future__ import annotations

import numpy as np

from .summary import _fmt, _table, convergence_line, criterion_label, fixed_effects_block, random_effects_block


def _records_line(r) -> str:
    td = r.model.trait_design
    counts = np.bincount(td.trait_code, minlength=len(td.traits))
    per = ", ".join(f"{t} {c}" for t, c in zip(td.traits, counts))
    return f"Records: {r.nobs} ({per}) in {len(td.rows)} rows"


def _fixed_by_trait(r) -> list[str]:
    lines = []
    fe = r.fixed_effects
    for trait in r.traits:
        sub = fe[[str(name).startswith(trait + ":") for name in fe.index]]
        shown = type(r.record)(**{**r.record.__dict__, "fixed_effects": sub})
        lines += [f"Fixed effects of {trait}:", *fixed_effects_block(shown)[:len(sub) + 1], ""]
    return lines


def _ratio_table(tab, key_cols) -> list[str]:
    rows = [[*(str(v) for v in keys), _fmt(e), _fmt(s)] for keys, e, s in
            zip(tab[key_cols].itertuples(index=False), tab.estimate, tab.std_error)]
    return _table(key_cols + ["Estimate", "Std. Error"], rows, left=len(key_cols))


def summary_text(r) -> str:
    """The multi-trait summary (module docstring)."""
    lines = [f"Multi-trait linear mixed model fit by {'REML' if r.method == 'REML' else 'maximum likelihood'}"
             + (" (solved at given covariances)" if r.converged is None else "") + ". t-tests use residual df",
             *[f"  {t}: {f}" for t, f in r.model.formulas.items()], _records_line(r), "",
             f"{criterion_label(r)}: {r.deviance:.4f}", "",
             f"     AIC      BIC   logLik {'deviance' if r.method == 'ML' else 'REMLcrit'}",
             f"{r.aic:8.1f} {r.bic:8.1f} {r.loglik:8.1f} {r.deviance:8.1f}", "",
             "Covariance matrices (variances, standard deviations, correlations):", *random_effects_block(r), ""]
    try:
        h2 = r.heritability().reset_index()
        lines += ["Heritabilities:", *_ratio_table(h2, ["trait"]), ""]
    except Exception:   # no term to call genetic (several relationship terms): covariance matrices only
        pass
    cor = r.correlations()
    if len(cor):
        lines += ["Correlations:", *_ratio_table(cor, ["group", "trait1", "trait2"]), ""]
    lines += [*_fixed_by_trait(r), convergence_line(r)]
    if r.n_dropped:
        lines.append(f"{r.n_dropped} row(s) with no trait recorded left out")
    return "\n".join(lines)
