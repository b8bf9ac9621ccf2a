"""Relationship matrices for random terms: a Pedigree (A^-1, log|A|), a user (K^-1, ids) pair, or an object
with a ``relationship(levels)`` method returning a Relationship (hd.GBLUP, hd.SingleStep)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .errors import DesignError, NotPositiveDefiniteError
from .linalg import Factor
from .pedigree import Pedigree


class Relationship:
    """K^-1 over ``ids`` with log|K|; ``pedigree`` is kept when K = A (for inbreeding and reliabilities).

    ``operator``: K^-1 as an operator (``apply(X)``, ``diagonal()``) for PCG without the stored matrix;
    ``build``: a function making the sparse K^-1 on first read of ``Kinv`` (given instead of Kinv: a lazy
    relationship, hd.SingleStep's H^-1 with its dense genotyped block, built only if a solver reads it).
    """

    def __init__(self, Kinv: sp.csc_matrix | None = None, ids: pd.Index | None = None, logdet_K: float = 0.0,
                 pedigree: Pedigree | None = None, operator=None, build=None):
        if (Kinv is None) == (build is None):
            raise ValueError("Relationship takes either Kinv or build")
        self._Kinv, self._build = Kinv, build
        self.ids, self.logdet_K, self.pedigree, self.operator = ids, logdet_K, pedigree, operator

    @property
    def Kinv(self) -> sp.csc_matrix:
        """The sparse K^-1 (built on first read when lazy)."""
        if self._Kinv is None:
            self._Kinv = self._build()
        return self._Kinv

    @property
    def stored(self) -> bool:
        """Whether the sparse K^-1 exists (False for a lazy relationship not read yet)."""
        return self._Kinv is not None

    def kinv_source(self):
        """K^-1, or for a lazy relationship not yet built, the function that reads it (TermCovariance)."""
        return self._Kinv if self._Kinv is not None else (lambda: self.Kinv)

    def __repr__(self) -> str:
        return f"Relationship({len(self.ids)} levels, logdet_K={self.logdet_K:.6g}, stored={self.stored})"


def _sparse_logdet(Kinv: sp.csc_matrix, name: str) -> float:
    """log|K^-1| by a sparse Cholesky factorization (checks positive definiteness)."""
    try:
        f = Factor.analyze(Kinv, ordering="amd")
        f.refactor(Kinv)
    except NotPositiveDefiniteError as exc:
        raise NotPositiveDefiniteError(
            f"relationship matrix K^-1 of {name!r} is not positive definite: {exc}") from None
    return f.logdet()


def from_user(value, name: str) -> Relationship:
    """A (K^-1, ids) pair: square, symmetric, positive definite, one id per row."""
    try:
        Kinv, ids = value
    except (TypeError, ValueError):
        raise DesignError(f"relationship of {name!r} must be a Pedigree or a (K^-1, ids) pair") from None
    Kinv = sp.csc_matrix(Kinv, dtype=float)
    Kinv.sort_indices()
    ids = pd.Index(np.asarray(ids))
    if Kinv.shape[0] != Kinv.shape[1] or Kinv.shape[0] != len(ids):
        raise DesignError(f"K^-1 of {name!r} is {Kinv.shape[0]}x{Kinv.shape[1]} but {len(ids)} ids were given")
    if abs(Kinv - Kinv.T).max() > 1e-10 * max(abs(Kinv).max(), 1.0):
        raise DesignError(f"K^-1 of {name!r} is not symmetric (give both triangles)")
    return Relationship(Kinv=Kinv, ids=ids, logdet_K=-_sparse_logdet(Kinv, name))


def from_pedigree(ped: Pedigree, levels=None) -> Relationship:
    """A^-1 and log|A| of ``ped`` (pruned to the ancestors of ``levels`` when given)."""
    if levels is not None:
        ped = ped.prune(levels)
    Ainv, ids = ped.ainverse()
    return Relationship(Kinv=sp.csc_matrix(Ainv), ids=pd.Index(ids), logdet_K=float(ped.logdet_a()), pedigree=ped)


def resolve(relationships: dict | None, terms, data: pd.DataFrame, prune: bool) -> dict[str, Relationship]:
    """Map each random term's name to its Relationship; keys may be the term name or its grouping column."""
    relationships = dict(relationships or {})
    out, used = {}, set()
    for spec in terms:
        key = spec.name if spec.name in relationships else ":".join(spec.factors)
        if key not in relationships:
            continue
        used.add(key)
        value = relationships[key]
        if hasattr(value, "relationship"):  # hd.GBLUP, hd.SingleStep: they build their own K^-1
            levels = data[spec.factors[0]].dropna().unique() if prune and len(spec.factors) == 1 else None
            out[spec.name] = value.relationship(levels)
        elif isinstance(value, Pedigree):
            levels = data[spec.factors[0]].dropna().unique() if prune and len(spec.factors) == 1 else None
            out[spec.name] = from_pedigree(value, levels)
        else:
            out[spec.name] = from_user(value, spec.name)
    unknown = set(relationships) - used
    if unknown:
        raise DesignError(f"relationships given for {sorted(unknown)}, which is no random term of the formula "
                          f"(terms: {[s.name for s in terms]})")
    return out


def joined(relationships: dict[str, Relationship], joint) -> dict[str, Relationship]:
    """The relationships keyed by term after correlated terms were joined (formula.correlated): the
    joint term takes its parts' common matrix; parts with different matrices (or some without one)
    are a DesignError."""
    out = dict(relationships)
    for name, parts in joint:
        rels = [relationships.get(p) for p in parts]
        if all(r is None for r in rels):
            continue
        first = rels[0]
        for p, r in zip(parts, rels):
            if r is None or first is None or not r.ids.equals(first.ids) or \
                    (r is not first and (r.Kinv != first.Kinv).nnz):
                raise DesignError(f"correlated terms {list(parts)} need the same relationship matrix; "
                                  f"{p!r} has {'none' if r is None else 'a different one'}")
        for p in parts:
            out.pop(p)
        out[name] = first
    return out
