"""BLUE and BLUP at known variances by PCG on the matrix-free MME (no factorization, C never formed).

The operator is built from the design (W = [X Z]) and, per random term, K^-1 as an operator: a
pedigree's A^-1 by Henderson's rules over the pedigree, a user's K^-1 as given; for a multi-trait
model, R^-1 row by row with R0[o, o]^-1 per pattern of recorded traits (TraitMMEOperator). The response is
centred (per trait for several traits) and the fixed effects shifted back (_centring), so the
solution is that of the equations of y, as the direct solver's. PCG is deflated
(henderson.linalg.deflation): the intercept, each factor's indicators and the sum of each random
effect (of each trait) are solved exactly, which removes the few smallest eigenvalues of the
preconditioned MME: at 1M animals 144 -> 89 rounds for y ~ hy + (1|id), 275 -> 182 for two traits.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import DesignError
from ..linalg.deflation import mme_subspace
from ..linalg.mme_operator import MMEOperator, SparseKinv, TermBlock
from ..linalg.pcg import MAX_ITER, TOL, PCGResult, pcg
from ..linalg.trait_operator import TraitMMEOperator
from ..mme import centre_value, constant_combination
from ..pedigree.aproduct import AinverseOperator


@dataclass(frozen=True)
class PCGSolution:
    """The MME solution by PCG: ``fixed_effects`` (estimate by coefficient), ``random_effects`` (term ->
    levels x effects, ``ebv`` for pedigree terms), ``solution`` [b; u], ``iterations`` (round, criterion
    ||r||^2/||b||^2), ``converged``, ``n_iter``, ``seconds``. No prediction error variances: they need
    the inverse of C, which PCG never has."""

    fixed_effects: pd.DataFrame
    random_effects: dict
    solution: np.ndarray = field(repr=False)
    iterations: pd.DataFrame = field(repr=False)
    converged: bool
    n_iter: int
    seconds: float


def _kinv_operator(relationship):
    if relationship is None:
        return None
    if relationship.operator is not None:      # hd.SingleStep: H^-1 without its stored dense block
        return relationship.operator
    if relationship.pedigree is not None:
        return AinverseOperator.from_pedigree(relationship.pedigree)
    return SparseKinv(relationship.Kinv)


def mme_operator(model, params) -> MMEOperator:
    """C(theta) of ``model`` at the variance parameters ``params`` as a matrix-free operator."""
    design = model.design
    W = sp.hstack([design.X] + [t.Z for t in design.terms], format="csc")
    blocks, pos = [], design.p
    for term, t in zip(design.terms, model.vm.terms):
        kinv = _kinv_operator(model.relationships.get(term.name))
        if kinv is not None and kinv.apply(np.zeros((t.m, 1))).shape[0] != t.m:
            raise AssertionError(f"K^-1 of {term.name!r} does not match its {t.m} levels")
        blocks.append(TermBlock(offset=pos, q=t.q, m=t.m, kinv=kinv))
        pos += t.q * t.m
    if getattr(model, "trait_design", None) is not None:
        td = model.trait_design
        return TraitMMEOperator(W, blocks, list(params.sinv), td.row_code, td.trait_code, params.residual.R0)
    return MMEOperator(W, blocks, params.rinv_scale, list(params.sinv))


def _centring(model) -> tuple[np.ndarray, np.ndarray]:
    """(value subtracted from each record, the matching shift of the fixed effects): a data value of each
    trait (of y for one trait) where the constant on the trait's records is a combination X a of fixed
    columns (henderson.mme.constant_combination), so that the solution is that of y, shifted by c a; it
    keeps the fixed-effect part of the right-hand side from dominating ||b|| in the criterion."""
    design = model.design
    td = getattr(model, "trait_design", None)
    groups = [np.arange(design.n)] if td is None else [np.flatnonzero(td.trait_code == k)
                                                        for k in range(len(td.traits))]
    centre, shift = np.zeros(design.n), np.zeros(design.p)
    for rows in groups if design.p else []:
        ones = constant_combination(design.X[rows])
        if ones is not None:
            c = centre_value(design.y[rows])
            centre[rows] = c
            shift += c * ones
    return centre, shift


def solve_pcg(model, theta, tol: float = TOL, max_iter: int = MAX_ITER, progress_every: int = 0,
              x0: np.ndarray | None = None, deflate: bool = True) -> PCGSolution:
    """Solve the MME of ``model`` at theta by PCG (criterion ||r||^2/||b||^2 < tol, as BLUPF90), deflated
    unless ``deflate`` is False (plain PCG, for comparison)."""
    design = model.design
    params = model.vm.at(theta)
    if getattr(params, "residual", None) is not None and getattr(model, "trait_design", None) is None:
        raise DesignError("solver='pcg' needs R = sigma2 I; this model has a residual structure "
                          "(weights, correlation or variance): use solver='direct'")
    op = mme_operator(model, params)
    centre, shift = _centring(model)
    subspace = mme_subspace(design.p, design.X, op.terms) if deflate else None
    res: PCGResult = pcg(op.matvec, op.rhs(design.y - centre), op.preconditioner(), x0=x0, tol=tol,
                         max_iter=max_iter, progress_every=progress_every, subspace=subspace)
    sol = res.x.copy()
    sol[:design.p] += shift
    fixed = pd.DataFrame({"estimate": sol[:design.p]}, index=pd.Index(design.fixed_names, name="coefficient"))
    random = {}
    for term, blk in zip(design.terms, op.terms):
        U = sol[blk.offset:blk.offset + blk.q * blk.m].reshape(blk.q, blk.m).T
        df = pd.DataFrame(U, index=term.levels, columns=list(term.effects))
        r = model.relationships.get(term.name)
        if r is not None and r.pedigree is not None and blk.q == 1:
            df["ebv"] = U[:, 0]
        random[term.name] = df
    its = pd.DataFrame({"round": np.arange(res.criterion.size), "criterion": res.criterion})
    return PCGSolution(fixed, random, sol, its, res.converged, res.n_iter, res.seconds)
