"""Unknown parent groups by the Quaas-Pollak transformation (Quaas 1988).

Each unknown parent is replaced by its group (defined by the user, e.g. from birth year or origin), and
Henderson's rules are applied with the groups as parents without records: animal i with b_i = 1/d_i
adds b_i at (i,i), -b_i/2 between i and each parent or group, and b_i/4 between each pair of them. The
result A*^-1 over animals and groups is singular: the groups are fixed effects, and the MME solve for
u* = u + Q g (Q: each animal's expected fractions of genes from each group) and g. d_i are those of the
pedigree with unknown parents (inbreeding included), as BLUPF90 does without metafounders.

Known variances only: with groups the relationship has no log-determinant (REML would count the
groups as random levels), so ``hd.ParentGroups`` serves ``Model.solve``, and ``fit`` is refused.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DesignError, PedigreeError
from ..ids import normalize_ids, show_ids
from ..pedigree import Pedigree
from ..pedigree.ainverse import ainverse_matrix
from ..relationships import Relationship

GROUP_PREFIX = "group:"


class ParentGroups:
    """A^-1 with unknown parent groups for an animal term.

    groups: a Series (or dict) from animal id to the group of its unknown parents; or a DataFrame indexed
    by id with columns ``sire`` and ``dam`` naming the group of each unknown parent separately. Every
    unknown parent of a listed animal needs a group; animals not listed keep unknown parents (base
    animals). Group levels are named "group:<name>" among the term's levels.
    """

    def __init__(self, pedigree: Pedigree, groups):
        if not isinstance(pedigree, Pedigree):
            raise DesignError(f"ParentGroups needs a Pedigree, got {type(pedigree).__name__}")
        self.pedigree = pedigree
        if isinstance(groups, dict):
            groups = pd.Series(groups)
        if isinstance(groups, pd.Series):
            groups = pd.DataFrame({"sire": groups, "dam": groups})
        if not isinstance(groups, pd.DataFrame) or not {"sire", "dam"} <= set(groups.columns):
            raise DesignError("groups must be a Series id -> group, or a DataFrame with columns sire and dam")
        self.groups = groups.set_axis(normalize_ids(groups.index.to_numpy()))

    def parents(self) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(sire, dam) positions with groups at n + k for group k, and the group names."""
        ped = self.pedigree
        pos = ped.index.get_indexer(self.groups.index)
        if np.any(pos < 0):
            raise PedigreeError(f"animals given a parent group are not in the pedigree: "
                                f"{show_ids(self.groups.index[pos < 0])}")
        names = sorted(set(self.groups["sire"].dropna().astype(str)) | set(self.groups["dam"].dropna().astype(str)))
        code = {g: ped.n + k for k, g in enumerate(names)}
        out = []
        for col, parent in (("sire", ped.sire), ("dam", ped.dam)):
            p = parent.copy()
            g = self.groups[col].astype(object).to_numpy()
            unknown = p[pos] < 0
            given = pd.notna(g)
            p[pos[unknown & given]] = [code[str(x)] for x in g[unknown & given]]
            out.append(p)
        return out[0], out[1], names

    def relationship(self, levels=None) -> Relationship:
        """A*^-1 over the animals and the groups (log|K| = log|A|; not for REML)."""
        sire, dam, names = self.parents()
        g = len(names)
        d = np.concatenate([self.pedigree.dii, np.full(g, np.inf)])
        Kinv = ainverse_matrix(np.concatenate([sire, np.full(g, -1)]), np.concatenate([dam, np.full(g, -1)]), d)
        ids = pd.Index(np.concatenate([self.pedigree.ids, [GROUP_PREFIX + x for x in names]]).astype(object))
        return Relationship(Kinv=Kinv, ids=ids, logdet_K=float("nan"))
