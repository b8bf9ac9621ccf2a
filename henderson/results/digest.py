"""Digests for the text summary of large and animal models.

A model with more than ``FULL_TABLE_MAX`` fixed effects (herd-year-season: thousands) shows
``DIGEST_ROWS`` coefficients on screen, with counts of the rest; the full table stays in ``r.fixed_effects``
(``fixed_effects.csv`` of ``henderson fit``). An animal model gets what a breeder looks for: the
pedigree (animals, founders, inbreeding, animals with records), what the levels of the pedigree
term are, and the heritability with its delta-method standard error.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DesignError

FULL_TABLE_MAX = 40  # coefficient tables up to this size are printed whole, as lme4 prints them
DIGEST_ROWS = 20     # rows printed of a larger table
WHERE_FIXED = "r.fixed_effects (fixed_effects.csv from henderson fit)"


def shown_fixed(fe: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The rows of the fixed-effects table to print and the lines that say what was left out.

    Up to FULL_TABLE_MAX rows: all of them; else DIGEST_ROWS: the intercept and the largest |t|,
    in model order.
    """
    p = len(fe)
    if p <= FULL_TABLE_MAX:
        return fe, []
    t = np.abs(fe["t_value"].to_numpy(dtype=float))
    keep = set(np.flatnonzero(fe.index == "(Intercept)"))
    for i in np.argsort(np.where(np.isfinite(t), -t, np.inf), kind="stable"):
        if len(keep) >= DIGEST_ROWS:
            break
        keep.add(int(i))
    rows = sorted(keep)
    which = "the intercept and the largest |t|" if "(Intercept)" in fe.index else "the largest |t|"
    n_sig = int(np.sum(fe["p_value"].to_numpy(dtype=float) < 0.05))
    note = [f"... {p - len(rows):,} more coefficients not shown (above: {which}); {n_sig:,} of {p:,} have p < 0.05",
            f"    all {p:,} in {WHERE_FIXED}"]
    return fe.iloc[rows], note


def first_ten(names) -> str:
    """The first ten names joined by commas, and how many more there are."""
    names = [str(x) for x in names]
    more = f" and {len(names) - 10:,} more" if len(names) > 10 else ""
    return ", ".join(names[:10]) + more


def pedigree_digest(r, name: str, rel) -> list[str]:
    """Pedigree of term ``name``: animals, animals with records, founders, inbreeding; what its levels are."""
    ped = rel.pedigree
    term = r.model.design.term(name)
    Z = term.Z.tocsc()  # columns: one block of m levels per effect
    with_records = np.zeros(term.m, dtype=bool)
    for a in range(term.q):
        with_records |= np.diff(Z.indptr[a * term.m:(a + 1) * term.m + 1]) > 0
    F = ped.inbreeding.to_numpy(dtype=float)
    founders = int(np.sum((ped.sire < 0) & (ped.dam < 0)))
    return [f"Pedigree of {name}: {ped.n:,} animals ({founders:,} founders), {int(with_records.sum()):,} with records; "
            f"inbreeding F mean {F.mean():.4f}, max {F.max():.4f}",
            f"  levels of {name} are the {term.m:,} animals of the pedigree, not the records: "
            f"ancestors without records get EBVs too"]


def heritability_line(r) -> list[str]:
    """'Heritability h2 = id / (id + herd + Residual) = 0.345 (SE 0.051)' when h2 is defined by default
    (one pedigree term, scalar terms only; h2(id) and h2(dam) lines for a direct-maternal term);
    otherwise what to call to get it."""
    try:
        tab = r.heritability()
    except DesignError as exc:
        return [f"Heritability: not defined by default here: {exc}"]
    lines = []
    for label, row in tab.iterrows():   # one row; direct and maternal for a direct-maternal model
        if r.vcov_theta is None:
            se = " (variances given: no SE)"
        else:
            se = f" (SE {row.std_error:.4f})" if np.isfinite(row.std_error) else ""
        lines.append(f"Heritability: {'h2' if len(tab) == 1 else label} = {row.definition} = {row.estimate:.4f}{se}")
    return lines


def animal_model_block(r) -> list[str]:
    """Pedigree digest of every pedigree term and the heritability; empty for models without a pedigree."""
    rels = {} if r.model is None else r.model.relationships
    lines = []
    for name, rel in rels.items():
        if rel.pedigree is not None:
            lines += pedigree_digest(r, name, rel)
    if lines:
        lines += heritability_line(r)
    return lines + [""] if lines else []
