"""The structured residual term: R = sigma2 * Lambda(phi), Lambda = blockdiag_i D_i C_i D_i.

C_i is the correlation block of group i (correlation.py), D_i the diagonal of standard-deviation
factors (variance.py times the known w^-1/2). Its parameters, in theta after the random terms:
sigma2, the correlation parameters, the variance-function parameters (nlme's parameterization).
``at`` gives the ResidualParams the MME and the REML derivatives read: R^-1 (sparse, block diagonal),
log|R|, dR/dtheta_j and the pieces of the score, all by batched arrays per size class.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from ..errors import NotPositiveDefiniteError
from .layout import Layout


@dataclass(frozen=True)
class StructuredResidual:
    """Residual term with correlation, variance function and known weights (see module docstring)."""

    layout: Layout = field(repr=False)
    correlation: object
    variance: object
    description: str = ""
    name: str = "Residual"
    structured = True

    @property
    def n_params(self) -> int:
        return 1 + self.correlation.n_params + self.variance.n_params

    @property
    def n_cor(self) -> int:
        return self.correlation.n_params

    def names(self) -> list[str]:
        return [self.name] + [f"{self.name}:{lab}" for lab in self.correlation.labels()] + \
            [f"{self.name}:{lab}" for lab in self.variance.names()]

    def rows(self) -> list[tuple[str, str, str]]:
        """(group, term1, term2) of each parameter: the variance, then the structure's parameters."""
        return [(self.name, "", "")] + [(self.name, self.correlation.kind, lab) for lab in self.correlation.labels()] \
            + [(self.name, self.variance.kind, lab) for lab in self.variance.labels()]

    def start(self, resid: np.ndarray | None = None) -> np.ndarray:
        """Start values of the structure's parameters (not sigma2): SD ratios of ``resid`` (OLS residuals), and
        correlations from ``resid`` scaled by those SDs (corAR1; the other structures start uncorrelated)."""
        delta = self.variance.start(resid, self._stratum_of_records())
        blocks = [] if resid is None else \
            [(resid[c.idx] / (self.variance.sd(delta, c) * c.scale), c) for c in self.layout.classes]
        return np.concatenate([self.correlation.start(blocks), delta])

    def _stratum_of_records(self) -> np.ndarray:
        out = np.zeros(self.layout.n, dtype=np.int64)
        for c in self.layout.classes:
            out[c.idx] = c.stratum
        return out

    def split(self, extra) -> tuple[np.ndarray, np.ndarray]:
        extra = np.asarray(extra, dtype=float)
        return extra[:self.n_cor], extra[self.n_cor:]

    def positive(self) -> np.ndarray:
        """Offsets (within the residual parameters) of the positive scalars: sigma2 and the SD ratios (varIdent;
        varPower's and varExp's delta is unrestricted)."""
        nv = self.variance.n_params if self.variance.positive else 0
        return np.concatenate([[0], 1 + self.n_cor + np.arange(nv)]).astype(np.int64)

    def admissible(self, extra) -> bool:
        phi, delta = self.split(extra)
        return self.correlation.admissible(phi) and self.variance.admissible(delta)

    def on_boundary(self, extra) -> list[str]:
        return self.correlation.on_boundary(self.split(extra)[0])

    def at(self, sigma2: float, extra) -> ResidualParams:
        """R at (sigma2, structure parameters); NotPositiveDefiniteError when not admissible."""
        if not sigma2 > 0:
            raise NotPositiveDefiniteError(f"residual variance must be positive, got {sigma2}")
        if not self.admissible(extra):
            raise NotPositiveDefiniteError(f"residual structure parameters not admissible: {list(extra)}")
        return ResidualParams(self, float(sigma2), np.asarray(extra, dtype=float))

    def lambda_blocks(self, extra) -> list[np.ndarray]:
        """Lambda_i = D_i C_i D_i per size class."""
        phi, delta = self.split(extra)
        out = []
        for c in self.layout.classes:
            d = self.variance.sd(delta, c) * c.scale
            out.append(d[:, :, None] * self.correlation.blocks(phi, c) * d[:, None, :])
        return out

    def lambda_derivatives(self, extra) -> list[list[np.ndarray]]:
        """dLambda/dphi_j per structure parameter j (correlation, then variance), per size class."""
        phi, delta = self.split(extra)
        out = [[] for _ in range(self.n_params - 1)]
        for c in self.layout.classes:
            d = self.variance.sd(delta, c) * c.scale
            C = self.correlation.blocks(phi, c)
            for j, dC in enumerate(self.correlation.derivatives(phi, c)):
                out[j].append(d[:, :, None] * dC * d[:, None, :])
            for j, dd in enumerate(self.variance.derivatives(delta, c)):
                dd = dd * c.scale
                out[self.n_cor + j].append((dd[:, :, None] * d[:, None, :] + d[:, :, None] * dd[:, None, :]) * C)
        return out


class ResidualParams:
    """R = sigma2 Lambda at one parameter vector: R^-1 (sparse, block diagonal), log|R|, dR_j per size class."""

    def __init__(self, term: StructuredResidual, sigma2: float, extra: np.ndarray):
        self.term, self.sigma2, self.extra = term, sigma2, extra
        self.lam = term.lambda_blocks(extra)
        inv, logdet = [], 0.0
        for c, L in zip(term.layout.classes, self.lam):
            try:
                chol = np.linalg.cholesky(L)
            except np.linalg.LinAlgError:
                raise NotPositiveDefiniteError(
                    f"residual covariance not positive definite at {list(extra)} (groups of {c.s} records)") from None
            logdet += 2.0 * float(np.log(np.diagonal(chol, axis1=1, axis2=2)).sum())
            inv.append(np.linalg.inv(L) / sigma2)
        self.inv_blocks = inv
        self.logdet = logdet + term.layout.n * np.log(sigma2)
        self.rinv = term.layout.sparse(inv)

    def apply_rinv(self, x: np.ndarray) -> np.ndarray:
        """R^-1 x."""
        return self.rinv @ x

    def quad(self, e: np.ndarray) -> float:
        """e'R^-1 e."""
        return float(e @ (self.rinv @ e))

    def d_blocks(self, j: int) -> list[np.ndarray]:
        """dR/dtheta_j per size class: Lambda for sigma2 (j = 0), sigma2 dLambda/dphi otherwise."""
        if j == 0:
            return self.lam
        return [self.sigma2 * b for b in self._dlam[j - 1]]

    @cached_property
    def _dlam(self):
        return self.term.lambda_derivatives(self.extra)

    def gather(self, x: np.ndarray) -> list[np.ndarray]:
        """x (n,) as (G, s) arrays per size class."""
        return [x[c.idx] for c in self.term.layout.classes]

    def derivative_times(self, j: int, x: np.ndarray) -> np.ndarray:
        """dR_j x for x of n rows (a vector or a matrix)."""
        out = np.empty(x.shape)
        for c, D, xg in zip(self.term.layout.classes, self.d_blocks(j), self.gather(x)):
            out[c.idx] = np.einsum("gab,gb...->ga...", D, xg)
        return out

    def score(self, H: list, r: list[np.ndarray]) -> np.ndarray:
        """dl/dtheta_j = -1/2 sum(dR_j .* (R^-1 - R^-1 H R^-1 - r r')) per parameter j, summed over the size
        classes: H the blocks of W C^-1 W' on R's pattern (None: no C, ML without random terms), r = R^-1 e."""
        K = []
        for A, Hb, rg in zip(self.inv_blocks, H, r):
            Kb = A - rg[:, :, None] * rg[:, None, :]
            K.append(Kb if Hb is None else Kb - A @ Hb @ A)
        n = self.term.n_params
        return np.array([-0.5 * sum(float(np.einsum("gab,gab->", D, Kb)) for D, Kb in zip(self.d_blocks(j), K))
                         for j in range(n)])

    def covariance(self) -> sp.csc_matrix:
        """R (sparse)."""
        return self.term.layout.sparse([self.sigma2 * L for L in self.lam])
