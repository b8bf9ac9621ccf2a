"""nlme's layout of a structured residual in a summary: the correlation structure with its parameter
estimate(s) (corSymm as a lower-triangle matrix), then the variance function's SD ratios per stratum
(varIdent) or its power / exponent (varPower, varExp)."""
from __future__ import annotations

import numpy as np

NAMES = {"corAR1": "AR(1)", "corCAR1": "Continuous AR(1)", "corCompSymm": "Compound symmetry",
         "corSymm": "General", "varPower": "Power of variance covariate",
         "varExp": "Exponential of variance covariate"}


def _forms(model) -> dict:
    """{kind: form text} of the model's residual structure (from its description, 'corAR1(~ 1 | id), ...')."""
    res = getattr(getattr(model, "vm", None), "residual", None)
    if res is None or not getattr(res, "structured", False):
        return {}
    out = {}
    for part in res.description.split(", "):
        kind, _, rest = part.partition("(")
        out[kind.strip()] = rest[:-1] if rest.endswith(")") else part
    return out


def residual_structure_block(r) -> list[str]:
    """Lines for the correlation structure and variance function of r's residual (none for R = sigma2 I)."""
    vc = r.variance_components
    res = vc[(vc.group == "Residual") & (vc.term1 != "")]
    if res.empty:
        return []
    forms = _forms(getattr(r, "model", None))
    lines = []
    cor = res[res.term1.str.startswith("cor")]
    if len(cor):
        kind = cor.term1.iloc[0]
        lines += [f"Correlation Structure: {NAMES.get(kind, kind)}", f" Formula: {forms.get(kind, '')}",
                  " Parameter estimate(s):"]
        if kind == "corSymm":
            lines += [" Correlation:"] + _lower_triangle(cor)
        else:
            lines += [" " + " ".join(f"{n:>10s}" for n in cor.term2),
                      " " + " ".join(f"{v:10.6g}" for v in cor.estimate)]
    var = res[res.term1 == "varIdent"]
    if len(var):
        first = _first_stratum(getattr(r, "model", None))
        names, values = [first] + list(var.term2), [1.0] + list(var.estimate)
        lines += ["Variance function:", " Structure: Different standard deviations per stratum",
                  f" Formula: {forms.get('varIdent', '')}", " Parameter estimates:",
                  " " + " ".join(f"{n:>10s}" for n in names), " " + " ".join(f"{v:10.6g}" for v in values)]
    fun = res[res.term1.isin(["varPower", "varExp"])]
    if len(fun):
        kind = fun.term1.iloc[0]
        lines += ["Variance function:", f" Structure: {NAMES[kind]}", f" Formula: {forms.get(kind, '')}",
                  " Parameter estimates:", f" {fun.term2.iloc[0]:>10s}", f" {fun.estimate.iloc[0]:10.6g}"]
    return lines + [""]


def _first_stratum(model) -> str:
    res = model.vm.residual if model is not None else None
    return str(res.variance.strata[0]) if res is not None and hasattr(res.variance, "strata") else "(first)"


def _lower_triangle(cor) -> list[str]:
    """corSymm's parameters cor(a,b) as nlme prints them: a lower-triangle matrix without its diagonal."""
    pairs = [name[4:-1].split(",") for name in cor.term2]
    labels = list(dict.fromkeys([a for a, _ in pairs] + [b for _, b in pairs]))
    val = {(a, b): v for (a, b), v in zip(pairs, cor.estimate)}
    rows = [" " + " ".join(f"{x:>6s}" for x in [""] + labels[:-1])]
    for i, b in enumerate(labels[1:], start=1):
        cells = [f"{val.get((a, b), np.nan):6.3f}" for a in labels[:i]]
        rows.append(" " + " ".join([f"{b:>6s}"] + cells))
    return rows
