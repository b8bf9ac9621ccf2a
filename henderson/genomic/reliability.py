"""Reliabilities of GEBVs: 1 - PEV / (sigma2 K_ii), with K_ii the diagonal of Gw (GBLUP) or of H.

diag(H) is diag(Gw) for the genotyped animals and, for the others, 1 + F_i + (W (Gw - A22) W')_ii with
W = (A^11)^-1 A^12 (= -A12 A22^-1), from the sparse factor of A^11: exact, at a cost of n1 x n2 doubles
twice (non-genotyped times genotyped), so it refuses pedigrees where that exceeds ``max_entries``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import DesignError
from ..linalg import Factor
from . import pedblocks
from .relationship import SingleStep

MAX_ENTRIES = 250_000_000  # 2 GB per n1 x n2 array


def h_diagonal(relationship, max_entries: int = MAX_ENTRIES) -> pd.Series:
    """diag(K) over the levels of the relationship (diag(Gw) for GBLUP, diag(H) for SingleStep)."""
    m = relationship.built()
    ids = m.genotypes.ids
    if not isinstance(relationship, SingleStep):
        return pd.Series(np.diag(m.G), index=pd.Index(ids))
    ped = relationship.pedigree_used
    Ainv, pid = ped.ainverse()
    g = pedblocks.genotyped_positions(ped, ids)
    o = np.setdiff1d(np.arange(ped.n), g)
    if o.size * g.size > max_entries:
        raise DesignError(f"exact diag(H) needs {o.size:,} x {g.size:,} doubles; over max_entries={max_entries:,}")
    diag = 1.0 + ped.inbreeding.to_numpy()
    diag[g] = np.diag(m.G)
    if o.size:
        A11 = sp.csc_matrix(Ainv[o][:, o])
        A11.sort_indices()
        f = Factor.analyze(A11).refactor(A11)
        W = f.solve(Ainv[o][:, g].toarray())
        A22 = m.A22 if m.A22 is not None else pedblocks.a22(pedblocks.pruned_blocks(ped, ids))
        diag[o] += np.einsum("ij,ij->i", W @ (m.G - A22), W)
    return pd.Series(diag, index=pd.Index(pid))


def reliabilities(result, relationship, term: str = "id") -> pd.DataFrame:
    """GEBV, PEV, K_ii, reliability 1 - PEV / (sigma2 K_ii) and accuracy of every level of ``term``."""
    re = result.random_effects[term]
    vc = result.variance_components
    row = vc[(vc["group"] == term) & (vc["term2"].fillna("") == "")]
    sigma2 = float(row["estimate"].iloc[0])
    k = h_diagonal(relationship).reindex(re.index)
    rel = 1.0 - re["pev"] / (sigma2 * k)
    return pd.DataFrame({"gebv": re.iloc[:, 0], "pev": re["pev"], "K_ii": k, "reliability": rel,
                         "accuracy": np.sqrt(rel.clip(lower=0.0))})
