"""Benchmark problems: each builds a data table (and pedigree) once; engines read them from files.

A Problem knows its formula for henderson and lme4, the columns to treat as factors, and, where
statsmodels MixedLM can express the model, its statsmodels specification.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class Problem:
    name: str
    suites: tuple                      # ("quick", "full") or ("full",)
    formula: str                       # henderson formula
    build: Callable[[], tuple]         # -> (data DataFrame, pedigree DataFrame | None)
    factors: tuple = ()
    lme4_formula: str | None = None    # None: lme4 cannot fit it (pedigree term)
    pedigree_term: str | None = None
    statsmodels: dict | None = None    # kwargs for statsmodels MixedLM.from_formula (groups column name...)
    note: str = ""
    scale: tuple = field(default=())


def registry() -> dict[str, Problem]:
    """All problems by name, in report order."""
    from .animal import animal_problems
    from .classic import classic_problems
    from .crossed import crossed_problems
    probs = classic_problems() + animal_problems() + crossed_problems()
    return {p.name: p for p in probs}


def size_of(problem: Problem, data: pd.DataFrame, pedigree: pd.DataFrame | None) -> int:
    """Number of animals (pedigree problems) or of random-effect levels (others): the x axis of the plot."""
    if pedigree is not None:
        return len(pedigree)
    import re
    groups = set(re.findall(r"\|\s*([A-Za-z_][A-Za-z_0-9]*)\s*\)", problem.formula))
    return int(sum(data[g].nunique() for g in groups if g in data))
