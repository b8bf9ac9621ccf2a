"""Random-effect design blocks Z_k, one per random term, sparse (n x q_k m_k).

Columns are effect-major: all levels of the first effect, then all levels of
the second, so that the term's covariance is Sigma_k (x) K_k.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from formulaic import model_matrix

from ..errors import DesignError
from ..ids import normalize_ids, show_ids
from .fixed import plain_message, r_column_name
from .legendre import random_lhs
from .parse import RandomSpec


@dataclass(frozen=True)
class RandomTerm:
    """The design of one random term: Z (n x q m), its effects and the levels of its grouping factor."""

    name: str
    factors: tuple[str, ...]
    effects: tuple[str, ...]
    levels: pd.Index
    Z: sp.csc_matrix
    lhs: str
    lhs_spec: object
    structure: str = "us"       # covariance structure of its effects (henderson.structures)
    parts: tuple = ()           # a joined term's parts (formula.correlated), in the order of its effects

    @property
    def q(self) -> int:
        """Number of effects per level (1 for an intercept-only term)."""
        return len(self.effects)

    @property
    def m(self) -> int:
        """Number of levels of the grouping factor (including levels without records)."""
        return len(self.levels)



def grouping_codes(data: pd.DataFrame, factors: tuple[str, ...]) -> tuple[np.ndarray, pd.Index]:
    """Codes 0..m-1 of the interaction of ``factors`` and its levels, sorted as R sorts them.

    One factor: its sorted distinct values. Several: the distinct combinations in
    lexicographic order of the factors' own sorted levels, labelled ``a:b``.
    """
    codes, sizes, uniques = [], [], []
    for f in factors:
        c, u = pd.factorize(data[f], sort=True)
        codes.append(c.astype(np.int64))
        sizes.append(len(u))
        uniques.append(u)
    if len(factors) == 1:
        return codes[0], pd.Index(uniques[0], name=factors[0])
    key = np.zeros(len(data), dtype=np.int64)
    for c, s in zip(codes, sizes):
        key = key * s + c
    ukeys, inv = np.unique(key, return_inverse=True)
    parts, rest = [], ukeys
    for s in reversed(sizes):
        parts.append(rest % s)
        rest = rest // s
    parts.reverse()
    labels = [":".join(str(uniques[i][p[j]]) for i, p in enumerate(parts)) for j in range(len(ukeys))]
    return inv.astype(np.int64), pd.Index(labels, name=":".join(factors))


class PlainEffects:
    """Effects written as an intercept and numeric columns (``1``, ``Days``, ``1 + x + z``, ``0 + x``),
    evaluated directly: formulaic costs about a millisecond per term, a third of a small model's design.

    Rebuilds the same columns on new data through ``get_model_matrix`` as formulaic's ModelSpec does
    (prediction): the intercept first, then the columns in the order written.
    """

    def __init__(self, intercept: bool, columns: tuple[str, ...]):
        self.intercept = intercept
        self.columns = columns

    @property
    def column_names(self) -> tuple[str, ...]:
        return (("Intercept",) if self.intercept else ()) + self.columns

    def get_model_matrix(self, data: pd.DataFrame, output: str = "numpy", na_action: str = "ignore") -> np.ndarray:
        """The effects' values on ``data``, one column per effect (missing values kept as NaN)."""
        missing = [c for c in self.columns if c not in data.columns]
        if missing:
            raise DesignError(f"new data lack the column(s) {', '.join(map(repr, missing))} of a random term")
        cols = [np.ones(len(data))] if self.intercept else []
        for c in self.columns:
            try:
                cols.append(data[c].to_numpy(dtype=float))
            except (TypeError, ValueError):
                raise DesignError(f"column {c!r} of a random term is not numeric in the new data "
                                  f"(dtype {data[c].dtype})") from None
        return np.column_stack(cols)


_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def plain_effects(lhs: str, data: pd.DataFrame) -> PlainEffects | None:
    """``lhs`` as PlainEffects when it is a sum of ``1``/``0``/``-1`` and distinct numeric (not boolean)
    columns of ``data`` with at least one effect; None for anything else (formulaic evaluates it)."""
    intercept, columns = True, []
    for token in (t.strip() for t in lhs.split("+")):
        if token == "1":
            continue
        if token in ("0", "-1"):
            intercept = False
        elif (_NAME.fullmatch(token) and token in data.columns and token not in columns
              and pd.api.types.is_numeric_dtype(data[token]) and not pd.api.types.is_bool_dtype(data[token])):
            columns.append(token)
        else:
            return None
    if not (intercept or columns):
        return None
    return PlainEffects(intercept, tuple(columns))


def _effects_matrix(lhs: str, data: pd.DataFrame, name: str):
    plain = plain_effects(lhs, data)
    try:
        if plain is not None:
            spec, values = plain, plain.get_model_matrix(data)
        else:
            mm = model_matrix(random_lhs(lhs), data, na_action="ignore")
            spec, values = mm.model_spec, np.asarray(mm, dtype=float)
    except Exception as exc:
        raise DesignError(f"cannot build the effects {lhs!r} of random term {name!r}: {plain_message(exc)}") from exc
    if values.shape[1] == 0:
        raise DesignError(f"random term ({lhs} | {name}) has no effects")
    if not np.all(np.isfinite(values)):
        raise DesignError(f"random term ({lhs} | {name}) has non-finite values")
    return values, tuple(r_column_name(c) for c in spec.column_names), spec


def _match_levels(codes: np.ndarray, levels: pd.Index, ids, name: str) -> tuple[np.ndarray, pd.Index]:
    """Re-code levels onto the given ids (a relationship matrix's rows); every level must be there."""
    ids_str = normalize_ids(ids)
    pos = pd.Index(ids_str)
    if not pos.is_unique:
        dup = pos[pos.duplicated()].unique()
        raise DesignError(f"relationship ids of {name!r} are duplicated: {show_ids(dup)}")
    where = pos.get_indexer(normalize_ids(levels))
    if (where < 0).any():
        missing = levels[where < 0]
        raise DesignError(f"{len(missing)} level(s) of {name!r} are not in its relationship matrix "
                          f"(pedigree): {', '.join(map(str, missing[:10]))}"
                          + (" ..." if len(missing) > 10 else ""))
    return where[codes], pd.Index(ids_str, name=levels.name)


def random_term(spec: RandomSpec, data: pd.DataFrame, ids=None) -> RandomTerm:
    """Build Z for ``spec`` on ``data``; with ``ids`` the columns are those ids (levels without data included)."""
    codes, levels = grouping_codes(data, spec.factors)
    if ids is not None:
        codes, levels = _match_levels(codes, levels, ids, spec.name)
    elif len(levels) < 2:
        raise DesignError(f"grouping factor {spec.name!r} has only {len(levels)} level(s); "
                          "a random effect needs at least 2 (lme4's check.nlev.gtr.1)")
    values, effects, lhs_spec = _effects_matrix(spec.lhs, data, spec.name)
    n, m = len(data), len(levels)
    rows = np.arange(n)
    blocks = [sp.csc_matrix((values[:, e], (rows, codes)), shape=(n, m)) for e in range(values.shape[1])]
    Z = sp.hstack(blocks, format="csc") if len(blocks) > 1 else blocks[0]
    Z.sort_indices()
    if spec.structure in ("cs", "ar1") and len(effects) < 2:
        raise DesignError(f"{spec.structure}({spec.lhs} | {spec.name}) has {len(effects)} effect; "
                          f"a {spec.structure} covariance needs at least 2 (e.g. {spec.structure}(0 + f | g) "
                          "with f a factor)")
    return RandomTerm(name=spec.name, factors=spec.factors, effects=effects, levels=levels,
                      Z=Z, lhs=spec.lhs, lhs_spec=lhs_spec, structure=spec.structure)
