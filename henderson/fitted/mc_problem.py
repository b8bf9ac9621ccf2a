"""Monte Carlo REML's equations in an order that keeps the PCG products in cache.

A round of side-by-side PCG solves multiplies A^-1 with an n x r block: for each animal, its row
and its sire's and dam's rows. Sires are few and stay in cache; dams are not: in a pedigree
sorted by birth, a dam's row lies a generation away from her offspring's (at 1M simulated animals,
a median of 165,000 rows), and every row is a cache miss. Grouping the animals by maternal lineage
(the founder at the end of the dam line), in their order within a lineage, brings dams next to
their offspring (median distance 3 rows); the records are sorted by their animal. Variances,
traces and the probes' samples do not depend on the order: the probes are drawn in the model's
level order and permuted with the levels, so the estimates are those of the model's order up to
rounding.
"""
from __future__ import annotations

import copy

import numpy as np
import scipy.sparse as sp

from ..linalg.block_pcg import Workspace
from ..linalg.deflation import mme_subspace
from ..linalg.mme_operator import TermBlock
from ..pedigree.aproduct import AinverseOperator
from .iterative import mme_operator


def lineage_order(dam: np.ndarray) -> np.ndarray:
    """Animals (0..n-1) grouped by the founder of their dam line (-1: unknown dam), stable within."""
    n = dam.shape[0]
    root = np.where(dam >= 0, dam, np.arange(n))
    while True:                        # pointer jumping: log2(generations) passes
        nxt = root[root]
        if np.array_equal(nxt, root):
            return np.argsort(root, kind="stable")
        root = nxt


def _renumber(parent: np.ndarray, inv: np.ndarray, order: np.ndarray) -> np.ndarray:
    p = parent[order]
    return np.where(p >= 0, inv[np.maximum(p, 0)], -1)


class MCProblem:
    """The MME of a model with one random term of one effect, levels in lineage order (pedigree
    terms; the model's order otherwise) and records sorted by level: ``yc`` (centred y, records in
    that order), ``levels`` (model level of each position), ``operator(params)`` (the
    MMEOperator at the variance parameters, built once and rescaled), ``subspace`` (the deflation
    subspace of these equations, henderson.linalg.deflation.mme_subspace) and ``workspace`` (the
    memory of the solves' working arrays, kept through the iterations)."""

    def __init__(self, model, yc: np.ndarray, params):
        base = mme_operator(model, params)
        t = base.terms[0]
        kinv = t.kinv
        m, p = t.m, t.offset
        if isinstance(kinv, AinverseOperator):
            order = lineage_order(kinv.dam)
            inv = np.empty(m, dtype=np.int64)
            inv[order] = np.arange(m)
            kinv = AinverseOperator(_renumber(kinv.sire, inv, order), _renumber(kinv.dam, inv, order),
                                    1.0 / kinv.b[order])
        else:
            order, inv = np.arange(m), np.arange(m)
        cols = np.concatenate([np.arange(p), p + order])
        W = sp.csc_matrix(base.W)[:, cols]
        Z = W[:, p:p + m].tocsr()
        level = np.full(W.shape[0], m, dtype=np.int64)      # records without a level last
        nz = np.diff(Z.indptr) > 0
        level[nz] = Z.indices[Z.indptr[:-1][nz]]
        rows = np.argsort(level, kind="stable")
        self.levels = order
        self.yc = np.asarray(yc, dtype=np.float64)[rows]
        self._op = type(base)(W[rows], [TermBlock(offset=p, q=1, m=m, kinv=kinv)], base.rinv_scale, base.sinv)
        self.subspace = mme_subspace(p, W[:, :p], self._op.terms)
        self.workspace = Workspace()

    def operator(self, params):
        """The MMEOperator at ``params`` (rinv_scale, sinv): the stored products, new scales."""
        op = copy.copy(self._op)
        op.rinv_scale = float(params.rinv_scale)
        op.sinv = [np.atleast_2d(np.asarray(s, dtype=float)) for s in params.sinv]
        return op

    def probes(self, probes: np.ndarray) -> np.ndarray:
        """Probes drawn in the model's level order, in this problem's order."""
        return np.ascontiguousarray(probes[self.levels])
