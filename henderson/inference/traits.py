"""Multi-trait quantities with delta-method standard errors: heritabilities per trait, genetic and residual
correlations, and the traits x traits residual covariance.

    h2_t     = Sigma_g[t, t] / (sum_k Sigma_k[t, t] + R0[t, t])     (the terms with trait t's intercept)
    r_ab     = S[a, b] / sqrt(S[a, a] S[b, b])                      (S: a term's Sigma, or R0)

Gradients are analytic (delta.ratio, delta.correlation) over theta; Cov(theta) is the inverse AI.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DesignError
from . import delta as _delta


def residual_frame(vm, theta) -> pd.DataFrame:
    """R0 (traits x traits) at theta."""
    res = vm.residual
    R0 = res.matrix(np.asarray(theta, dtype=float)[vm.residual_slice])
    return pd.DataFrame(R0, index=pd.Index(list(res.traits), name="Residual"), columns=list(res.traits))


def _blocks(vm) -> list[tuple[str, tuple, int, list]]:
    """(group, effects, first position in theta, pairs) of every unstructured term and of R0."""
    out = [(t.name, t.effects, vm.term_slice(k).start, t.pairs()) for k, t in enumerate(vm.terms) if t.unstructured]
    res = vm.residual
    return out + [(res.name, res.traits, vm.residual_slice.start, res.cov.pairs())]


def _variance_position(vm, label: str) -> dict[str, int]:
    """{group: position in theta of the variance of effect ``label``} over the terms and R0 having it."""
    out = {}
    for group, effects, start, pairs in _blocks(vm):
        if label in effects:
            a = effects.index(label)
            out[group] = start + pairs.index((a, a))
    return out


def heritabilities(vm, theta, vcov, genetic: str, level: float = 0.95) -> pd.DataFrame:
    """h2 of each trait of the term ``genetic`` (index: trait), with the ratio's definition."""
    names = vm.names()
    theta = np.asarray(theta, dtype=float)
    rows, defs, traits = [], [], []
    for trait in vm.residual.traits:
        pos = _variance_position(vm, trait)
        if genetic not in pos:
            continue
        num, den = [pos[genetic]], list(pos.values())
        rows.append((trait, *_delta.ratio(theta, num, den)))
        defs.append(_delta.ratio_definition(names, num, den))
        traits.append(trait)
    if not rows:
        raise DesignError(f"term {genetic!r} has no trait intercepts: give another group")
    tab = _delta.table(rows, vcov, level)
    tab.index = pd.Index(traits, name="trait")
    tab["definition"] = defs
    return tab


def correlations(vm, theta, vcov, level: float = 0.95) -> pd.DataFrame:
    """Correlations between the effects (traits) of every unstructured term and of the residual:
    group, trait1, trait2, estimate, std_error, ci_lower, ci_upper; a covariance held at 0 (traits never
    recorded on the same row, VarianceModel.fixed) gives a correlation 0 without standard error or interval."""
    theta = np.asarray(theta, dtype=float)
    held = set(vm.fixed().tolist())
    recs = []
    for group, effects, start, pairs in _blocks(vm):
        idx = {ab: start + i for i, ab in enumerate(pairs)}
        for (a, b), j in idx.items():
            if a != b:
                r, g = _delta.correlation(theta, j, idx[(a, a)], idx[(b, b)])
                tab = _delta.table([("", r, g)], None if j in held else vcov, level)
                recs.append(dict(group=group, trait1=effects[b], trait2=effects[a],
                                 **tab.iloc[0].to_dict()))
    cols = ["group", "trait1", "trait2", "estimate", "std_error", "ci_lower", "ci_upper"]
    return pd.DataFrame(recs, columns=cols)


def per_trait(values: np.ndarray, row_code: np.ndarray, trait_code: np.ndarray, rows: pd.Index,
              traits) -> pd.DataFrame:
    """Record values (stacked) as a frame: data rows x traits, NaN where a trait is missing."""
    out = np.full((len(rows), len(traits)), np.nan)
    out[row_code, trait_code] = values
    return pd.DataFrame(out, index=rows, columns=list(traits))
