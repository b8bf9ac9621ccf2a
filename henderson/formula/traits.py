"""Multi-trait designs: one formula per trait, stacked to records (data row, trait).

Each trait's formula is evaluated on the rows where its response and model columns are present
(build_design). The records are stacked trait by trait: y = [y_1; y_2; ...], X = blockdiag(X_t)
with coefficients named ``trait:name``. Random terms with the same group name in several traits are
one term whose effects are the traits (``y1``, ``y2``; ``y1:x`` for a trait's slope), effect-major
as any vector term, so that its covariance is Sigma (x) K with Sigma traits x traits; its levels are
the relationship ids, or the union of the traits' levels (sorted) without one. A term in some
traits only covers those traits.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import DesignError, MissingDataWarning
from .design import Design, build_design
from .parse import parse_formula


@dataclass(frozen=True)
class TraitDesign:
    """The stacked design, the trait designs, and each record's data row (0..n_rows-1) and trait."""

    design: Design
    traits: tuple[str, ...]
    trait_designs: tuple[Design, ...]
    row_code: np.ndarray     # per record: its data row among the rows kept
    trait_code: np.ndarray   # per record: its trait (0..t-1)
    rows: pd.Index           # labels of the data rows kept (at least one trait recorded)
    n_dropped: int           # data rows with no trait recorded


def trait_formulas(formulas) -> dict[str, str]:
    """{trait: formula} from a dict (keys must be the responses) or a list of formulas (keyed by response)."""
    if isinstance(formulas, dict):
        items = list(formulas.items())
    elif isinstance(formulas, (list, tuple)):
        items = [(parse_formula(f).response, f) for f in formulas]
    else:
        raise DesignError(f"formulas must be a dict {{trait: formula}} or a list, got {type(formulas).__name__}")
    if not items:
        raise DesignError("a multi-trait model needs at least one trait formula")
    out = {}
    for trait, f in items:
        if not isinstance(f, str):
            raise DesignError(f"formula of trait {trait!r} must be a string, got {type(f).__name__}")
        response = parse_formula(f).response
        if response != trait:
            raise DesignError(f"formula {f!r} of trait {trait!r} has the response {response!r}: "
                              f"the key must be the trait's response")
        if trait in out:
            raise DesignError(f"trait {trait!r} is given more than once")
        out[trait] = f
    return out


def _trait_design(trait: str, formula: str, data: pd.DataFrame, ids: dict) -> Design:
    """build_design on the rows where the trait is recorded (missing traits are expected: no warning)."""
    if trait in data.columns and not data[trait].notna().any():
        raise DesignError(f"trait {trait!r} has no records (every value of column {trait!r} is missing)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingDataWarning)
        try:
            return build_design(formula, data, ids=ids)
        except DesignError as exc:
            raise DesignError(f"trait {trait!r}: {exc}") from None


def _effect_label(trait: str, effect: str) -> str:
    return trait if effect == "(Intercept)" else f"{trait}:{effect}"


def _merge_term(name: str, parts: list, offsets: list[int], n: int, has_ids: bool):
    """One random term over the traits in ``parts`` [(trait, RandomTerm)]: Z on the stacked records."""
    if len(parts) > 1 and any(t.structure != "us" for _, t in parts):
        raise DesignError(f"random term {name!r} appears in several traits with a covariance structure; "
                          "terms shared by traits are unstructured (traits x traits)")
    levels = parts[0][1].levels
    if not has_ids:
        for _, t in parts[1:]:
            levels = levels.union(t.levels)
    m = len(levels)
    rows, cols, vals, effects, col0 = [], [], [], [], 0
    for (trait, t), off in zip(parts, offsets):
        where = levels.get_indexer(t.levels)
        Z = sp.coo_matrix(t.Z)
        eff, lvl = Z.col // t.m, Z.col % t.m
        rows.append(Z.row + off)
        cols.append((col0 + eff) * m + where[lvl])
        vals.append(Z.data)
        effects += [_effect_label(trait, e) for e in t.effects]
        col0 += t.q
    Z = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, col0 * m))
    Z.sort_indices()
    first = parts[0][1]
    return replace(first, effects=tuple(effects), levels=levels.rename(name), Z=Z,
                   lhs=" ; ".join(f"{trait}: {t.lhs}" for trait, t in parts), lhs_spec=None)


def build_trait_design(formulas: dict[str, str], data: pd.DataFrame, ids: dict | None = None) -> TraitDesign:
    """The stacked multi-trait design of ``formulas`` ({trait: formula}) on ``data`` (any index)."""
    traits = tuple(formulas)
    ids = ids or {}
    frame = data.reset_index(drop=True)
    designs = tuple(_trait_design(t, formulas[t], frame, ids) for t in traits)
    lengths = [d.n for d in designs]
    offsets = list(np.cumsum([0] + lengths[:-1]))
    n = int(sum(lengths))
    positions = np.concatenate([d.rows.to_numpy(dtype=np.int64) for d in designs])
    kept, row_code = np.unique(positions, return_inverse=True)
    trait_code = np.repeat(np.arange(len(traits)), lengths)
    X = sp.block_diag([d.X for d in designs], format="csc")
    X.sort_indices()
    groups: dict[str, list] = {}
    where: dict[str, list] = {}
    for trait, d, off in zip(traits, designs, offsets):
        for t in d.terms:
            groups.setdefault(t.name, []).append((trait, t))
            where.setdefault(t.name, []).append(int(off))
    terms = tuple(_merge_term(g, parts, where[g], n,
                              g in ids or ":".join(parts[0][1].factors) in ids)
                  for g, parts in groups.items())
    record_rows = data.index[positions]
    design = Design(formula=" ; ".join(formulas[t] for t in traits), parsed=designs[0].parsed,
                    y=np.concatenate([d.y for d in designs]), X=X,
                    fixed_names=tuple(f"{t}:{c}" for t, d in zip(traits, designs) for c in d.fixed_names),
                    terms=terms, rows=record_rows, n_dropped=len(data) - len(kept),
                    aliased=tuple(f"{t}:{c}" for t, d in zip(traits, designs) for c in d.aliased),
                    fixed_spec=None)
    n_dropped = len(data) - len(kept)
    if n_dropped:
        warnings.warn(f"{n_dropped} row(s) with no trait recorded (every response, or a model column of every "
                      f"trait, missing) left out", MissingDataWarning, stacklevel=3)
    return TraitDesign(design=design, traits=traits, trait_designs=designs, row_code=row_code.astype(np.int64),
                       trait_code=trait_code.astype(np.int64), rows=data.index[kept], n_dropped=n_dropped)
