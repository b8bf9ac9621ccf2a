"""lme4-like text summary of a FitResult (lmerTest's layout of the fixed-effects table)."""
from __future__ import annotations

import numpy as np

from ..reml.cholesky import RIDGE, SINGULAR
from .digest import animal_model_block, first_ten, shown_fixed
from .residual_block import residual_structure_block


def _fmt(x: float, digits: int = 4) -> str:
    return f"{x:.{digits}g}" if np.isfinite(x) else "NA"


def _pformat(p: float) -> str:
    if not np.isfinite(p):
        return "NA"
    return "< 2e-16" if p < 2e-16 else f"{p:.3g}"


def _stars(p: float) -> str:
    if not np.isfinite(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else "." if p < 0.1 else ""


def _table(header: list[str], rows: list[list[str]], left: int = 1) -> list[str]:
    """Columns padded to their widest cell; the first ``left`` columns left-aligned."""
    cols = list(zip(header, *rows)) if rows else [(h,) for h in header]
    w = [max(len(c) for c in col) for col in cols]
    out = []
    for r in [header] + rows:
        cells = [c.ljust(w[i]) if i < left else c.rjust(w[i]) for i, c in enumerate(r)]
        out.append(" " + " ".join(cells).rstrip())
    return out


def random_effects_block(r) -> list[str]:
    """Groups, Name, Variance, Std.Dev. and correlations (lower triangle, one row per effect)."""
    vc = r.variance_components
    rows = []
    for g, sub in vc.groupby("group", sort=False):
        var = sub[(sub.term2 == "") & (sub.term1 != "rho")]
        names = list(var.term1)
        v = dict(zip(names, var.estimate))
        cov = {(a, b): e for a, b, e in zip(sub.term1, sub.term2, sub.estimate) if b}
        rho = sub.estimate[sub.term1 == "rho"]   # a structured term's correlation (cs, ar1)
        for i, name in enumerate(names):
            sd = np.sqrt(max(v[name], 0.0))
            cors = []
            for other in names[:i] if rho.empty else []:
                c = cov.get((name, other), cov.get((other, name), 0.0))
                den = np.sqrt(v[name] * v[other]) if v[name] > 0 and v[other] > 0 else np.nan
                cors.append(f"{c / den:.2f}" if np.isfinite(den) else "NA")
            rows.append([g if i == 0 else "", name, _fmt(v[name]), _fmt(sd)] + cors)
        if not rho.empty:
            rows.append(["", "rho", "", "", f"{float(rho.iloc[0]):.3f}"])
    ncor = max((len(x) for x in rows), default=4) - 4
    header = ["Groups", "Name", "Variance", "Std.Dev."] + (["Corr"] + [""] * (ncor - 1) if ncor else [])
    rows = [x + [""] * (len(header) - len(x)) for x in rows]
    lines = _table(header, rows, left=2)
    lev = "; ".join(f"{k}, {v}" for k, v in r.n_levels.items())
    lines.append(f"Number of obs: {r.nobs}" + (f", groups:  {lev}" if lev else ""))
    return lines


def fixed_effects_block(r) -> list[str]:
    """lmerTest's coefficient table; above digest.FULL_TABLE_MAX coefficients a digest (digest.shown_fixed)."""
    fe, left_out = shown_fixed(r.fixed_effects)
    header = ["", "Estimate", "Std. Error", "df", "t value", "Pr(>|t|)", ""]
    rows = [[str(name), _fmt(row.estimate), _fmt(row.std_error), _fmt(row.df), f"{row.t_value:.3f}",
             _pformat(row.p_value), _stars(row.p_value)] for name, row in fe.iterrows()]
    lines = _table(header, rows)
    if len(rows):
        lines.append("---\nSignif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1")
    return lines + left_out


def _unit_correlation(vb: float, cov: float, va: float, sigma2: float) -> bool:
    """Whether [[vb, cov], [cov, va]] is singular as the fit sees it: the second diagonal of the relative
    Cholesky factor of the block less its ridge (reml.cholesky.RIDGE) below lme4's 1e-4."""
    b, c, a = vb / sigma2 - RIDGE, cov / sigma2, va / sigma2 - RIDGE
    return b > 0 and a - c * c / b < SINGULAR**2


def boundary_line(r) -> str:
    """lme4's "boundary (singular) fit" with what is on the boundary: variances at 0, correlations of
    +-1, or else a singular covariance matrix (rank deficient without either)."""
    vc = r.variance_components
    var = {(g, a): e for g, a, b, e in zip(vc.group, vc.term1, vc.term2, vc.estimate) if not b}
    parts = []
    for g, sub in vc[vc.group != "Residual"].groupby("group", sort=False):
        bound = sub[sub["boundary"]]
        zeros = [a for a, b in zip(bound.term1, bound.term2) if not b]
        parts += [f"{g} {a} variance 0" for a in zeros]
        other = False
        for a, b, e in zip(bound.term1, bound.term2, bound.estimate):
            if not b or a in zeros or b in zeros:
                continue
            if _unit_correlation(var[(g, b)], e, var[(g, a)], r.sigma2):
                parts.append(f"{g} correlation of {b} and {a} {'+1' if e > 0 else '-1'}")
            else:
                other = True
        if other:
            parts.append(f"{g} covariance matrix singular")
    res = vc[(vc.group == "Residual") & vc["boundary"]]
    parts += [f"residual {a} {b} = {e:.6g} (end of its range)"
              for a, b, e in zip(res.term1, res.term2, res.estimate)]
    return "boundary (singular) fit: " + "; ".join(parts or ["a covariance matrix singular"]) + " (lme4's isSingular)"


def convergence_line(r) -> str:
    if r.converged is None:
        return "Convergence: at given variances (no estimation)"
    if "finish" in r.criteria:
        return (f"Convergence: {'converged' if r.converged else 'NOT converged'} in {r.n_iter} iterations "
                f"({r.algorithm.upper()}, then L-BFGS-B over relative Cholesky factors at the boundary); projected "
                f"gradient {r.criteria.get('projected_gradient', np.nan):.2g}, predicted gain "
                f"{r.criteria.get('newton_decrement', np.nan):.2g}")
    return (f"Convergence: {'converged' if r.converged else 'NOT converged'} in {r.n_iter} iterations "
            f"({r.algorithm.upper()}); last change in logLik {r.criteria.get('change', np.nan):.2g}, "
            f"Newton decrement {r.criteria.get('newton_decrement', np.nan):.2g}")


def criterion_label(r) -> str:
    """Where the criterion was evaluated: lme4's "at convergence" only for a converged fit."""
    crit = "REML criterion" if r.method == "REML" else "deviance"
    if r.converged is None:
        return f"{crit} at the given variances"
    if r.method == "REML":
        return f"{crit} at convergence" if r.converged else f"{crit} at the last iteration (NOT converged)"
    return crit if r.converged else f"{crit} at the last iteration (NOT converged)"


def title_line(r) -> str:
    """'Linear mixed model fit by REML' (lme4) or, for solve(), 'solved at given variances'."""
    ddf = "Satterthwaite's method" if r.ddf == "satterthwaite" else "residual df (n - p)"
    if r.converged is None:
        return f"Linear mixed model solved at given variances (no estimation). t-tests use {ddf}"
    vc = r.variance_components
    gls = not r.n_levels and ((vc.group == "Residual") & (vc.term1 != "")).any()
    kind = "Generalized least squares" if gls else "Linear mixed model"
    return f"{kind} fit by {'REML' if r.method == 'REML' else 'maximum likelihood'}. t-tests use {ddf}"


def summary_text(r) -> str:
    """Method and criterion, scaled residuals, random effects, fixed effects (df, t, p) and convergence."""
    crit = criterion_label(r)
    q = np.quantile(r.residuals("standardized"), [0, 0.25, 0.5, 0.75, 1])
    fit = title_line(r)
    lines = [fit, f"Formula: {r.formula}", "",
             f"{crit}: {r.deviance:.4f}", "",
             f"     AIC      BIC   logLik {'deviance' if r.method == 'ML' else 'REMLcrit'}",
             f"{r.aic:8.1f} {r.bic:8.1f} {r.loglik:8.1f} {r.deviance:8.1f}", "",
             "Scaled residuals:", *_table(["Min", "1Q", "Median", "3Q", "Max"], [[f"{x:.4f}" for x in q]], 0), "",
             "Random effects:", *random_effects_block(r), "",
             *residual_structure_block(r),
             *animal_model_block(r),
             "Fixed effects:", *fixed_effects_block(r), "", convergence_line(r)]
    if r.singular or r.variance_components["boundary"].any():
        lines.append(boundary_line(r))
    if r.aliased:
        lines.append("Aliased fixed-effect columns dropped: " + first_ten(r.aliased))
    if r.n_dropped:
        lines.append(f"{r.n_dropped} row(s) with missing values left out")
    return "\n".join(lines)
