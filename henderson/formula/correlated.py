"""Correlated random terms on different grouping columns: ``correlated=[("id", "dam")]``.

The terms ``(1|id)`` and ``(1|dam)``, both over the animals of one pedigree, become one term
``id+dam`` whose effects are ``id`` and ``dam`` and whose Z is [Z_id Z_dam] (effect-major, as any
vector term), so that its covariance is Sigma (x) A with Sigma the joint 2 x 2 (direct, maternal)
covariance: the direct-maternal genetic model. A part with several effects (``(1 + x|id)``) gives
the effects ``id:(Intercept)``, ``id:x``. The parts must have the same levels (the same pedigree
or relationship ids); the MME, the score and the AI see an ordinary unstructured vector term.
"""
from __future__ import annotations

from dataclasses import replace

import scipy.sparse as sp

from ..errors import DesignError
from .random import RandomTerm


def joint_name(groups) -> str:
    """The name of the joint term of ``groups``: ``id+dam``."""
    return "+".join(groups)


def _check_groups(correlated, names: list[str]) -> list[tuple[str, ...]]:
    out, seen = [], set()
    for g in correlated:
        g = (g,) if isinstance(g, str) else tuple(g)
        if len(g) < 2:
            raise DesignError(f"correlated={g!r}: name at least two random terms, e.g. ('id', 'dam')")
        unknown = [x for x in g if x not in names]
        if unknown:
            raise DesignError(f"correlated terms {unknown} are not random terms of the formula (terms: {names})")
        twice = [x for x in g if x in seen]
        if twice:
            raise DesignError(f"random term(s) {twice} appear in more than one correlated group")
        seen.update(g)
        out.append(g)
    return out


def _joint(parts: list[RandomTerm]) -> RandomTerm:
    first = parts[0]
    for t in parts[1:]:
        if len(t.levels) != len(first.levels) or not t.levels.equals(first.levels):
            raise DesignError(f"correlated terms {first.name!r} ({len(first.levels)} levels) and {t.name!r} "
                              f"({len(t.levels)} levels) differ in size or levels: correlated terms need the "
                              f"same levels, e.g. the same pedigree in relationships= for both")
    bad = [t.name for t in parts if t.structure != "us"]
    if bad:
        raise DesignError(f"correlated terms {bad} have a covariance structure; only unstructured terms can be joined")
    effects = tuple(t.name if t.effects == ("(Intercept)",) else f"{t.name}:{e}" for t in parts for e in t.effects)
    Z = sp.hstack([t.Z for t in parts], format="csc")
    Z.sort_indices()
    name = joint_name(t.name for t in parts)
    return replace(first, name=name, effects=effects, Z=Z, levels=first.levels.rename(name),
                   lhs=" ; ".join(t.lhs for t in parts), lhs_spec=None, parts=tuple(parts))


def join_correlated(design, correlated) -> tuple:
    """(design with each group of ``correlated`` joined into one term at the place of its first part,
    [(joint name, part names)])."""
    if not correlated:
        return design, []
    names = [t.name for t in design.terms]
    groups = _check_groups(correlated, names)
    owner = {x: g for g in groups for x in g}
    terms, done = [], set()
    for t in design.terms:
        g = owner.get(t.name)
        if g is None:
            terms.append(t)
        elif g not in done:
            done.add(g)
            terms.append(_joint([design.term(x) for x in g]))
    return replace(design, terms=tuple(terms)), [(joint_name(g), g) for g in groups]
