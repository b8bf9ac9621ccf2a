"""Variance model: theta -> G = blockdiag_k(Sigma_k (x) K_k) and R = sigma2 I (or a structured R).

theta stacks, for each random term k in order, the parameters of its q_k x q_k covariance Sigma_k
(unstructured: the lower triangle row by row, s11, s21, s22, s31, ...; diag, cs, ar1: see
henderson.structures, which maps a term's parameters to Sigma_k and dSigma_k), and last the
parameters of the residual term: its variance sigma2, then (a structured R, henderson.residual) the
correlation and variance-function parameters. K_k is the identity or a
relationship matrix given by its sparse inverse K_k^-1 (rows in the order of the term's levels).

This module owns the parameter layout: where each parameter sits in theta, its name and its
parameterization. Everything else reads theta through ``VarianceModel.at(theta)`` (a frozen
``VarianceParams``) or the position helpers here; nothing else indexes theta.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .errors import NotPositiveDefiniteError
from .structures import COR, SD, Structure  # noqa: F401  (COR, SD: kinds of sd_cor_layout, read by inference.profile)

SIGMA = "sigma"   # with structures.SD and COR: kinds of the elements of theta on lme4's scale (sd_cor_layout)


@dataclass(frozen=True)
class TermCovariance:
    """Covariance structure of one random term: Sigma (q x q) over effects, K (m x m) over levels."""

    name: str
    effects: tuple[str, ...]
    m: int
    kinv: object                # K^-1 (sparse), a function building it on first read of Kinv, or None: K = I
    logdet_K: float             # log|K|, 0 for the identity
    structure: str = "us"       # henderson.structures.STRUCTURES

    @cached_property
    def Kinv(self) -> sp.csc_matrix | None:
        """K^-1 (None: K = I); a lazy relationship (hd.SingleStep's H^-1) is built here, on first read:
        the direct solver and REML read it, PCG does not."""
        return self.kinv() if callable(self.kinv) else self.kinv

    @property
    def q(self) -> int:
        return len(self.effects)

    @cached_property
    def cov(self) -> Structure:
        """The parameterization of Sigma (henderson.structures)."""
        return Structure(self.structure, self.q)

    @property
    def unstructured(self) -> bool:
        return self.structure == "us"

    @cached_property
    def n_params(self) -> int:
        return self.cov.n_params

    def pairs(self) -> list[tuple[int, int]]:
        """(a, b), a >= b: the lower-triangle elements of an unstructured Sigma in theta order."""
        if not self.unstructured:
            raise ValueError(f"term {self.name!r} has a {self.structure} covariance: no lower-triangle layout")
        return list(self._pairs)

    @cached_property
    def _pairs(self) -> tuple[tuple[int, int], ...]:
        return tuple(self.cov.pairs())


@dataclass(frozen=True)
class ResidualCovariance:
    """The residual term R = sigma2 I over the records (one parameter, last in theta).

    The interface the MME and REML read (R^-1 as weights, log|R|, dR/dtheta) is written so that a
    structured R (heterogeneous, correlated, multi-trait) can replace it without touching them.
    """

    name: str = "Residual"
    structured = False

    @property
    def n_params(self) -> int:
        return 1

    def positive(self) -> np.ndarray:
        """Offsets (within the residual parameters) of the positive scalars: sigma2."""
        return np.zeros(1, dtype=np.int64)

    def names(self) -> list[str]:
        return [self.name]

    def derivative(self, j: int) -> float:
        """dR/dtheta_j of the j-th residual parameter, as a multiple of the identity (R = sigma2 I: 1)."""
        return 1.0

    def rows(self) -> list[tuple[str, str, str]]:
        """(group, term1, term2) of each parameter, as VarianceModel.param_table."""
        return [(self.name, "", "")]


@dataclass(frozen=True)
class VarianceParams:
    """Everything the MME, the REML step and the result builder read at one theta (frozen).

    sigmas[k], sinv[k]: Sigma_k and Sigma_k^-1; logdet_G = log|G|; sigma2: the residual variance,
    R = sigma2 I, so R^-1 = I / sigma2 (``rinv_scale``) and log|R| = n log sigma2 (``logdet_R``).
    """

    theta: np.ndarray
    sigmas: tuple
    sinv: tuple
    logdet_G: float
    sigma2: float
    residual: object = None   # henderson.residual.ResidualParams of a structured R; None for R = sigma2 I

    @property
    def rinv_scale(self) -> float:
        """R^-1 = rinv_scale * I (R = sigma2 I only)."""
        return 1.0 / self.sigma2

    def logdet_R(self, n: int) -> float:
        """log|R| over n records."""
        if self.residual is not None:
            return self.residual.logdet
        return n * float(np.log(self.sigma2))

    def quad_R(self, e: np.ndarray) -> float:
        """e'R^-1 e."""
        if self.residual is not None:
            return self.residual.quad(e)
        return float(e @ e) * self.rinv_scale

    def apply_rinv(self, x: np.ndarray) -> np.ndarray:
        """R^-1 x."""
        if self.residual is not None:
            return self.residual.apply_rinv(x)
        return x * self.rinv_scale


@dataclass(frozen=True)
class VarianceModel:
    """theta <-> (Sigma_k, residual parameters) and the derived quantities the MME and REML need."""

    terms: tuple[TermCovariance, ...]
    residual: ResidualCovariance = ResidualCovariance()

    @cached_property
    def n_params(self) -> int:
        return sum(t.n_params for t in self.terms) + self.residual.n_params

    def term_slice(self, k: int) -> slice:
        """Positions in theta of term k's parameters (its lower triangle, in pairs() order)."""
        off = self._offsets[k]
        return slice(off, off + self.terms[k].n_params)

    @cached_property
    def residual_slice(self) -> slice:
        """Positions in theta of the residual term's parameters."""
        return slice(self.n_params - self.residual.n_params, self.n_params)

    def sigma2(self, theta: np.ndarray) -> float:
        """The residual variance (the scale of R) at theta."""
        return float(np.asarray(theta, dtype=float)[self.residual_slice][0])

    def residual_extra(self, theta: np.ndarray) -> np.ndarray:
        """The residual term's parameters after sigma2 (a structured R's correlation and variance parameters)."""
        return np.asarray(theta, dtype=float)[self.residual_slice][1:]

    def with_sigma2(self, theta: np.ndarray, sigma2: float) -> np.ndarray:
        """theta with the residual variance set to ``sigma2``."""
        out = np.array(theta, dtype=float)
        out[self.residual_slice.start] = sigma2
        return out

    def single_variances(self) -> np.ndarray:
        """Positions in theta of the variances that may sit at zero alone: those of 1x1 terms and of
        diagonal structures."""
        return np.array([off + i for t, off in zip(self.terms, self.offsets()) for i in t.cov.floor_variances()],
                        dtype=np.int64)

    def positive_scalars(self) -> np.ndarray:
        """Positions of the parameters that are positive scalars: 1x1 variances, the variances of
        structured terms, and the residual variance."""
        res = self.residual_slice.start + self.residual.positive()
        mine = [off + i for t, off in zip(self.terms, self.offsets()) for i in t.cov.variances()]
        return np.append(np.array(mine, dtype=np.int64), res).astype(np.int64)

    def fixed(self) -> np.ndarray:
        """Positions in theta of the parameters held at 0, not estimated: a multi-trait residual's covariances
        of traits never recorded on the same row (residual.traits)."""
        held = getattr(self.residual, "fixed", np.zeros(0, dtype=np.int64))
        return (self.residual_slice.start + held).astype(np.int64)

    def structured(self) -> bool:
        """Whether some term has a structured (not unstructured) covariance."""
        return any(not t.unstructured for t in self.terms)

    def names(self) -> list[str]:
        """The name of each element of theta: a scalar term's variance by its group (``id``), the elements
        of a vector term's covariance by ``group[effect]`` and ``group[effect1,effect2]``, then ``Residual``."""
        out = []
        for t in self.terms:
            out += t.cov.names(t.name, t.effects)
        return out + self.residual.names()

    def labels(self) -> list[str]:
        """'group/term1/term2' (empty parts left out) of each element of theta: the iteration log's columns."""
        return ["/".join(x for x in row if x) for row in self.param_table().itertuples(index=False)]

    def sd_cor_layout(self) -> list[tuple[str, str, int, int, int]]:
        """(kind, name, term, a, b) of each element of theta on lme4's scale: standard deviations (SD) and
        correlations (COR) of each term's effects, then the residual standard deviation (SIGMA, term -1);
        names as lme4's confint(oldNames=FALSE)."""
        out = []
        for k, t in enumerate(self.terms):
            out += [(kind, name, k, a, b) for kind, name, a, b in t.cov.sd_cor_layout(t.name, t.effects)]
        return out + [(SIGMA, "sigma", -1, 0, 0)]

    def to_sd_cor(self, theta: np.ndarray) -> np.ndarray:
        """theta -> phi: standard deviations, correlations and sigma in sd_cor_layout order."""
        theta = np.asarray(theta, dtype=float)
        parts = [t.cov.to_sd_cor(theta[self.term_slice(k)]) for k, t in enumerate(self.terms)]
        return np.concatenate(parts + [[np.sqrt(self.sigma2(theta))]])

    def from_sd_cor(self, phi: np.ndarray) -> np.ndarray:
        """phi (standard deviations, correlations, sigma) -> theta."""
        phi = np.asarray(phi, dtype=float)
        parts = [t.cov.from_sd_cor(phi[self.term_slice(k)]) for k, t in enumerate(self.terms)]
        return np.concatenate(parts + [[phi[-1] ** 2]])

    def at(self, theta: np.ndarray) -> VarianceParams:
        """The frozen parameters at theta; NotPositiveDefiniteError
        names a term whose Sigma_k is not positive definite, or a residual variance that is not positive."""
        theta = np.array(theta, dtype=float)
        sigmas, s2 = self.unpack(theta)
        sinv, logdet_G = [], 0.0
        for t, S in zip(self.terms, sigmas):
            try:
                L = np.linalg.cholesky(S)
            except np.linalg.LinAlgError:
                raise NotPositiveDefiniteError(
                    f"covariance of random term {t.name!r} is not positive definite: {S.tolist()}") from None
            Li = np.linalg.inv(L)
            sinv.append(Li.T @ Li)
            logdet_G += t.m * np.linalg.slogdet(S)[1] + t.q * t.logdet_K
        if not s2 > 0:
            raise NotPositiveDefiniteError(f"residual variance must be positive, got {s2}")
        res = self.residual.at(s2, self.residual_extra(theta)) if self.residual.structured else None
        return VarianceParams(theta=theta, sigmas=tuple(sigmas), sinv=tuple(sinv), logdet_G=logdet_G, sigma2=s2,
                              residual=res)

    def offsets(self) -> list[int]:
        """Start of each term's parameters in theta."""
        return list(self._offsets)

    @cached_property
    def _offsets(self) -> tuple[int, ...]:
        out, pos = [], 0
        for t in self.terms:
            out.append(pos)
            pos += t.n_params
        return tuple(out)

    def unpack(self, theta: np.ndarray) -> tuple[list[np.ndarray], float]:
        """theta -> ([Sigma_1, ..., Sigma_K], sigma2)."""
        theta = np.asarray(theta, dtype=float)
        sigmas = [t.cov.sigma(theta[self.term_slice(k)]) for k, t in enumerate(self.terms)]
        return sigmas, self.sigma2(theta)

    def pack(self, sigmas, sigma2: float, extra=None) -> np.ndarray:
        """([Sigma_k], sigma2, residual structure parameters) -> theta; a structured term takes the parameters
        of the member of its family near Sigma_k (exact when Sigma_k is one; structures.Structure.project);
        ``extra`` defaults to the residual term's start values (none for R = sigma2 I)."""
        out = [t.cov.project(S) for t, S in zip(self.terms, sigmas)]
        return np.concatenate(out + [[float(sigma2)], self._extra(extra)])

    def _extra(self, extra) -> np.ndarray:
        if extra is None:
            extra = self.residual.start() if self.residual.structured else []
        return np.asarray(extra, dtype=float).ravel()

    def from_params(self, params, sigma2: float, extra=None) -> np.ndarray:
        """theta from each term's own parameters (structures.Structure order), the residual variance and
        the residual structure's parameters (``extra``, default their start values)."""
        for t, p in zip(self.terms, params):
            if len(p) != t.n_params:
                raise ValueError(f"term {t.name!r} has {t.n_params} parameters, got {len(p)}")
        return np.concatenate([np.asarray(p, dtype=float) for p in params] + [[float(sigma2)], self._extra(extra)])

    def param_table(self) -> pd.DataFrame:
        """One row per element of theta: group, term1, term2 (empty for a variance)."""
        rows = []
        for t in self.terms:
            rows += [(t.name, a, b) for a, b in t.cov.labels(t.effects)]
        rows += self.residual.rows()
        return pd.DataFrame(rows, columns=["group", "term1", "term2"])

    def relative_cholesky(self, theta: np.ndarray, ridge: float = 0.0, scale: float | None = None) -> list[np.ndarray]:
        """[T_k], lower triangular, with Sigma_k = s (T_k T_k' + ridge I), s = ``scale`` or else sigma2 (lme4's
        relative Cholesky factors when ridge = 0); eigenvalues of Sigma_k / s - ridge I below 1e-12 of the
        largest are raised to that first, so a Sigma_k on the boundary gives a diagonal of about 1e-6 or less."""
        sigmas, s2 = self.unpack(theta)
        s2 = s2 if scale is None else scale
        out = []
        for S in sigmas:
            R = S / s2 - ridge * np.eye(len(S))
            w, V = np.linalg.eigh(R)
            lo = max(1e-12 * max(w[-1], 0.0), 1e-300)
            if w[0] <= lo:
                R = (V * np.maximum(w, lo)) @ V.T
            out.append(np.linalg.cholesky(0.5 * (R + R.T)))
        return out

    def from_cholesky(self, factors, sigma2: float, ridge: float = 0.0) -> np.ndarray:
        """theta of Sigma_k = sigma2 (T_k T_k' + ridge I) and residual variance sigma2."""
        return self.pack([sigma2 * (T @ T.T + ridge * np.eye(len(T))) for T in factors], sigma2)

    def derivative(self, k: int, j: int, theta: np.ndarray) -> np.ndarray:
        """dSigma_k / dtheta_j at theta for the j-th parameter of term k (unstructured: a symmetric
        unit matrix; structured terms: henderson.structures)."""
        return self.terms[k].cov.derivative(np.asarray(theta, dtype=float)[self.term_slice(k)], j)

    def param_scales(self, theta: np.ndarray) -> np.ndarray:
        """A scale per element of theta (finite-difference steps): sqrt(S_aa S_bb) for a (co)variance,
        1 for a correlation parameter, sigma2 for the residual, 1 for a residual structure's parameters."""
        sigmas, s2 = self.unpack(theta)
        parts = [t.cov.scales(S) for t, S in zip(self.terms, sigmas)]
        return np.concatenate(parts + [[s2], np.ones(self.residual.n_params - 1)])

    def is_admissible(self, theta: np.ndarray, tol: float = 0.0) -> bool:
        """Every Sigma_k positive definite (smallest eigenvalue > tol * its scale) and sigma2 > 0."""
        sigmas, s2 = self.unpack(theta)
        if not s2 > 0:
            return False
        if self.residual.structured and not self.residual.admissible(self.residual_extra(theta)):
            return False
        for S in sigmas:
            w = np.linalg.eigvalsh(S)
            if w[0] <= tol * max(w[-1], 0.0) or w[0] <= 0:
                return False
        return True
