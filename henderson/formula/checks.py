"""What the data can estimate: lme4's default checks, which stop a fit before any iteration.

lme4 (lmerControl) stops by default when

  - check.nlev.gtr.1: a grouping factor has fewer than 2 levels (henderson.formula.random),
  - check.nobs.vs.nlev: a grouping factor has as many levels as there are observations
    (its effects cannot be told apart from the residual),
  - check.nobs.vs.nRE: a term has as many random effects (q x levels) as there are observations;

and it cannot fit n = p (no residual degrees of freedom). The same cases raise DesignError
here, naming the term. Terms with a relationship matrix (animal models, one record per animal,
levels without records) are exempt from the level counts, as their effects are told apart from
the residual by the covariances between levels. The level counts concern estimation only:
a Model is built, and solved at given variances (BLUP with known G), whatever they are;
Model.fit checks them.
"""
from __future__ import annotations

from ..errors import DesignError
from .random import RandomTerm


def check_several_observations(n: int, n_dropped: int = 0) -> None:
    """One observation cannot estimate anything (said before the response is called constant)."""
    if n < 2:
        left = f" ({n_dropped} row(s) with missing values left out)" if n_dropped else ""
        raise DesignError(f"only {n} observation{left}: a mixed model needs more observations than fixed "
                          "effects and than levels of each grouping factor")


def check_observations(n: int, p: int, fixed_names) -> None:
    """n observations must exceed the p (non-aliased) fixed-effect columns: n - p > 0 residual df."""
    if n <= p:
        cols = ", ".join(list(fixed_names)[:10]) + (f" ... ({p} in all)" if p > 10 else "")
        raise DesignError(f"{n} observations for {p} fixed-effect columns ({cols}): no residual degrees of "
                          f"freedom (n - p = {n - p}); REML and ML need more observations than fixed effects")


def _label(t: RandomTerm) -> str:
    return f"({t.lhs} | {t.name})"


def check_levels(terms: tuple[RandomTerm, ...], n: int, related) -> None:
    """lme4's check.nobs.vs.nlev: each grouping factor without a relationship matrix has fewer levels than n."""
    first = {}
    for t in terms:
        if t.name not in related and t.m >= n:
            first.setdefault(t.factors, t)                     # one per grouping factor, as lme4 lists them
    bad = list(first.values())
    if bad:
        terms_text = ", ".join(f"{_label(t)} with {t.m} levels" for t in bad[:10]) + \
            (f" ({len(bad)} grouping factors)" if len(bad) > 10 else "")
        raise DesignError(f"number of levels of each grouping factor must be < number of observations (= {n}): "
                          f"{terms_text}; each level's effect cannot be told apart from the residual "
                          "(lme4's check.nobs.vs.nlev). Drop the term, or give it a relationship matrix")


def check_random_effects(terms: tuple[RandomTerm, ...], n: int, related) -> None:
    """lme4's check.nobs.vs.nRE: each term without a relationship matrix has fewer random effects (q m) than n."""
    for t in terms:
        if t.name not in related and t.q * t.m >= n:
            raise DesignError(f"number of observations (= {n}) <= number of random effects (= {t.q * t.m}: "
                              f"{t.q} effects x {t.m} levels) for term {_label(t)}; its variance parameters and "
                              "the residual variance are unidentifiable (lme4's check.nobs.vs.nRE)")


def check_identifiable(n: int, terms: tuple[RandomTerm, ...], related) -> None:
    """The random-term checks in lme4's order, before estimating variances from ``n`` observations.

    ``related`` names the terms with a relationship matrix (exempt).
    """
    check_levels(terms, n, related)
    check_random_effects(terms, n, related)
