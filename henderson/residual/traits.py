"""The multi-trait residual: the traits of one data row are correlated, R0 (t x t) unstructured.

The records are the (row, trait) pairs observed; R = blockdiag_i R0[o_i, o_i] with o_i the traits
recorded in row i. Rows are grouped by their number of traits (layout.SizeClass: positions = trait
indices), and within that by their pattern of missing traits: R0[o, o]^-1 and log|R0[o, o]| are
taken once per pattern and spread over its rows, so no per-row matrix is built in Python.

Parameters (in theta after the random terms, in the layout of an unstructured term):
R0's lower triangle row by row, r11, r21, r22, r31, ... The first, r11, is what the rest of the
code reads as ``sigma2``. R0 is linear in them: dR/dtheta_j is the symmetric unit matrix E_ab
restricted to each row's traits.

Traits never recorded on the same row (sex-limited traits): their covariance in R0 enters no
row's R0[o, o], carries no information, and is not estimated: it is held at 0 (``fixed``, as
BLUPF90 and WOMBAT do), outside the AI matrix, the score and EM. R0 must still be positive definite
as a whole (the covariance of a full trait vector), which with a held 0 is stricter than each
pattern's R0[o, o] being so.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from ..errors import NotPositiveDefiniteError
from ..structures import Structure
from .layout import Layout, build_layout


@dataclass(frozen=True)
class TraitResidual:
    """Residual term of a multi-trait model (see module docstring)."""

    layout: Layout = field(repr=False)
    traits: tuple[str, ...]
    n_rows: int                      # data rows with at least one trait
    name: str = "Residual"
    structured = True
    multitrait = True
    n_cor = 0                        # no bounded correlation parameters (driver._fisher_z_step)

    @property
    def description(self) -> str:
        return f"unstructured {len(self.traits)} x {len(self.traits)} covariance of the traits of a record row"

    @property
    def t(self) -> int:
        return len(self.traits)

    @cached_property
    def cov(self) -> Structure:
        return Structure("us", self.t)

    @property
    def n_params(self) -> int:
        return self.cov.n_params

    def names(self) -> list[str]:
        """``Residual[y1]``, ``Residual[y2,y1]``, ... (``Residual`` for one trait, as R = sigma2 I)."""
        return self.cov.names(self.name, self.traits)

    def rows(self) -> list[tuple[str, str, str]]:
        return [(self.name, a, b) for a, b in self.cov.labels(self.traits)]

    def positive(self) -> np.ndarray:
        """Offsets of the positive scalars: r11 only (the other variances move inside R0's PD check)."""
        return np.zeros(1, dtype=np.int64)

    def start(self, resid=None) -> np.ndarray:
        """R0's parameters after r11 for R0 = I (the MME's analysis point; fits start from
        henderson.multitrait's start values)."""
        return self.cov.project(np.eye(self.t))[1:]

    @cached_property
    def fixed(self) -> np.ndarray:
        """Offsets (within the residual parameters) of the covariances of traits never recorded on the same
        row: held at 0."""
        both = np.zeros((self.t, self.t), dtype=bool)
        for pats, _ in self.patterns:
            for o in pats:
                both[np.ix_(o, o)] = True
        return np.array([j for j, (a, b) in enumerate(self.cov.pairs()) if not both[a, b]], dtype=np.int64)

    def factor_order(self) -> np.ndarray | None:
        """A position per trait in R0 = L L' (L lower triangular) under which L[a, b] = 0 holds R0[a, b] = 0
        for every held pair and every L: for each held (a, b) at positions a > b, every trait c placed before b
        is held with a or with b. The traits with the most held covariances go first (sex-limited traits
        before the traits recorded on every row), ties in trait order; None when that order does not do
        (reml.factors' finish then cannot carry R0)."""
        held = np.zeros((self.t, self.t), dtype=bool)
        for j in self.fixed:
            a, b = self.cov.pairs()[j]
            held[a, b] = held[b, a] = True
        order = np.argsort(-held.sum(axis=1), kind="stable")
        H = held[np.ix_(order, order)]
        ok = all(H[a, c] or H[b, c] for a in range(self.t) for b in range(a) if H[a, b] for c in range(b))
        return np.argsort(order) if ok else None

    def admissible(self, extra) -> bool:
        """Always: R0's positive definiteness is checked in ``at``, which sees r11 too."""
        return True

    def on_boundary(self, extra) -> list[str]:
        return []

    def matrix(self, params) -> np.ndarray:
        """R0 from its parameters (r11, r21, r22, ...)."""
        return self.cov.sigma(np.asarray(params, dtype=float))

    def at(self, sigma2: float, extra) -> TraitResidualParams:
        """R at (r11, the rest of R0's lower triangle); NotPositiveDefiniteError naming R0 when it is not PD."""
        R0 = self.matrix(np.concatenate([[sigma2], np.asarray(extra, dtype=float)]))
        try:
            np.linalg.cholesky(R0)
        except np.linalg.LinAlgError:
            raise NotPositiveDefiniteError(
                f"residual covariance of the traits {list(self.traits)} is not positive definite: {R0.tolist()}") \
                from None
        return TraitResidualParams(self, R0)

    @cached_property
    def patterns(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per size class: (the distinct trait patterns (P, s), each row's pattern number (G,))."""
        out = []
        for c in self.layout.classes:
            pats, which = np.unique(c.pos, axis=0, return_inverse=True)
            out.append((pats, np.asarray(which).ravel()))
        return out

    def em_step(self, params: np.ndarray, score: np.ndarray) -> np.ndarray:
        """EM update of R0 from the REML score: R0 + (2/N) R0 G R0 with G the symmetric matrix of
        dl/dR0[a, b] (N rows). It equals R0_new = (1/N) sum_i E[e_i e_i' | y] over the full trait vectors
        (the missing traits' residuals predicted), the EM update of a complete-data covariance, because
        dl/dR0 = -1/2 [N R0^-1 - R0^-1 (sum_i E[e_i e_i']) R0^-1]; it stays positive definite."""
        R0 = self.matrix(params)
        G = np.zeros((self.t, self.t))
        for g, (a, b) in zip(score, self.cov.pairs()):
            G[a, b] = G[b, a] = g if a == b else 0.5 * g
        new = R0 + (2.0 / self.n_rows) * R0 @ G @ R0
        return self.hold(self.cov.project(0.5 * (new + new.T)))

    def hold(self, params: np.ndarray) -> np.ndarray:
        """params with the held covariances at 0, and the others shrunk (the largest factor 2^-k) where
        that alone leaves R0 not positive definite (traits co-recorded with two traits never recorded
        together)."""
        out = np.array(params, dtype=float)
        out[self.fixed] = 0.0
        if not len(self.fixed):
            return out
        off = np.array([a != b for a, b in self.cov.pairs()])
        for k in range(60):
            trial = np.where(off, out * 0.5 ** k, out)
            if np.linalg.eigvalsh(self.matrix(trial))[0] > 0:
                return trial
        return np.where(off, 0.0, out)


def trait_residual(row_code: np.ndarray, trait_code: np.ndarray, traits) -> TraitResidual:
    """The TraitResidual of records at data rows ``row_code`` (0..n_rows-1) of traits ``trait_code``."""
    n = len(row_code)
    n_rows = int(row_code.max()) + 1 if n else 0
    layout = build_layout(np.asarray(row_code, dtype=np.int64), tuple(map(str, range(n_rows))),
                          np.asarray(trait_code, dtype=float), integer_time=True, rank_positions=False,
                          stratum=np.zeros(n, dtype=np.int64), scale=np.ones(n), what="traits")
    return TraitResidual(layout=layout, traits=tuple(traits), n_rows=n_rows)


class TraitResidualParams:
    """R at one R0: R^-1 per size class (G, s, s), log|R|, dR_j, the score over the rows' blocks."""

    def __init__(self, term: TraitResidual, R0: np.ndarray):
        self.term, self.R0 = term, R0
        self.sigma2 = float(R0[0, 0])
        inv, logdet = [], 0.0
        for pats, which in term.patterns:
            sub = R0[pats[:, :, None], pats[:, None, :]]          # (P, s, s): R0[o, o] per pattern
            chol = np.linalg.cholesky(sub)
            logdet += 2.0 * float((np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
                                   * np.bincount(which, minlength=len(pats))).sum())
            inv.append(np.linalg.inv(sub)[which])
        self.inv_blocks = inv
        self.logdet = logdet

    @cached_property
    def rinv(self) -> sp.csc_matrix:
        return self.term.layout.sparse(self.inv_blocks)

    def gather(self, x: np.ndarray) -> list[np.ndarray]:
        """x (n, ...) as (G, s, ...) arrays per size class."""
        return [x[c.idx] for c in self.term.layout.classes]

    def apply_rinv(self, x: np.ndarray) -> np.ndarray:
        """R^-1 x (a vector or a matrix of n rows), block by block."""
        out = np.empty(x.shape)
        for c, A, xg in zip(self.term.layout.classes, self.inv_blocks, self.gather(x)):
            out[c.idx] = np.einsum("gab,gb...->ga...", A, xg)
        return out

    def quad(self, e: np.ndarray) -> float:
        """e'R^-1 e."""
        return float(e @ self.apply_rinv(e))

    def derivative_times(self, j: int, x: np.ndarray) -> np.ndarray:
        """dR/dtheta_j x: E_ab on each row's traits (a record of trait a gets x of the row's trait b, and b of a)."""
        a, b = self.term.cov.pairs()[j]
        out = np.zeros(x.shape)
        for c, xg in zip(self.term.layout.classes, self.gather(x)):
            D = ((c.pos[:, :, None] == a) & (c.pos[:, None, :] == b)) | \
                ((c.pos[:, :, None] == b) & (c.pos[:, None, :] == a))
            out[c.idx] = np.einsum("gab,gb...->ga...", D.astype(float), xg)
        return out

    def score(self, H: list, r: list[np.ndarray]) -> np.ndarray:
        """dl/dtheta_j = -1/2 sum(dR_j .* (R^-1 - R^-1 H R^-1 - r r')), with the blocks summed onto R0's
        t x t positions first (H: blocks of W C^-1 W' on R's pattern, None without C; r = R^-1 e)."""
        t = self.term.t
        M = np.zeros(t * t)
        for c, A, Hb, rg in zip(self.term.layout.classes, self.inv_blocks, H, r):
            K = A - rg[:, :, None] * rg[:, None, :]
            if Hb is not None:
                K = K - A @ Hb @ A
            key = c.pos[:, :, None] * t + c.pos[:, None, :]
            M += np.bincount(key.ravel(), weights=K.ravel(), minlength=t * t)
        M = M.reshape(t, t)
        return np.array([-0.5 * (M[a, a] if a == b else M[a, b] + M[b, a]) for a, b in self.term.cov.pairs()])

    def covariance(self) -> sp.csc_matrix:
        """R (sparse)."""
        blocks = [self.R0[c.pos[:, :, None], c.pos[:, None, :]] for c in self.term.layout.classes]
        return self.term.layout.sparse(blocks)
