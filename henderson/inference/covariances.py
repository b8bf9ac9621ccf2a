"""Covariance matrices of random terms as DataFrames: r.covariance(group), r.covariance("id", "dam").

A joined term (formula.correlated) ``id+dam`` has the effects ``id`` and ``dam`` (or ``id:x`` for a
part with several effects); ``covariance("id", "dam")`` is its joint matrix, ``covariance("id")`` the
block of ``id``. "Residual" gives the residual variance (R = sigma2 I) as a 1 x 1 frame.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DesignError


def _part_effects(term, part: str) -> list[int]:
    """Positions of the effects of ``part`` in a joined term (its own name or ``part:effect``)."""
    return [a for a, e in enumerate(term.effects) if e == part or e.startswith(part + ":")]


def locate(vm, groups) -> tuple[int, list[int]]:
    """(term index, effect positions) of ``groups``: one term's name, or parts of one joined term."""
    names = [t.name for t in vm.terms]
    if len(groups) == 1 and groups[0] in names:
        k = names.index(groups[0])
        return k, list(range(vm.terms[k].q))
    for k, t in enumerate(vm.terms):
        parts = t.name.split("+")
        if len(parts) > 1 and all(g in parts for g in groups):
            return k, [a for g in groups for a in _part_effects(t, g)]
    known = names + [p for n in names for p in n.split("+") if "+" in n] + ["Residual"]
    raise DesignError(f"no random term (or correlated group) {list(groups)}; known: {known}")


def covariance_frame(vm, theta, *groups) -> pd.DataFrame:
    """Sigma of ``groups`` (effects x effects) at theta."""
    if not groups:
        raise DesignError("covariance() needs a group name, e.g. covariance('id') or covariance('id', 'dam')")
    sigmas, s2 = vm.unpack(theta)
    if groups == ("Residual",):
        return pd.DataFrame([[s2]], index=["Residual"], columns=["Residual"])
    k, idx = locate(vm, groups)
    t = vm.terms[k]
    S = sigmas[k][np.ix_(idx, idx)]
    labels = [t.effects[a] for a in idx]
    return pd.DataFrame(S, index=pd.Index(labels, name=t.name), columns=labels)
