"""The REML / ML objective at theta through one sparse factorization of the MME.

    -2 l_REML = (n - p) log 2pi + n log sigma2 + log|G| + log|C| + y'Py
    -2 l_ML   =  n      log 2pi + n log sigma2 + log|G| + log|C_ZZ| + y'Py

with y'Py = e'e / sigma2 + u'G^-1 u from the residuals e = y - X b - Z u and the BLUPs u
of the MME solution, and C_ZZ the MME of the random part alone (no fixed effects). For
REML this equals lme4's REML criterion, for ML lme4's deviance, constants included.

The residual form is the minimum of the penalized sum of squares: an error in the solution
changes it only to second order, where y'y - s'W'y loses everything to cancellation once the
mean of y is large. The solve and the residuals use the centred response (mme.MMEPattern).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ..linalg import BlockFactor, Factor
from ..mme import MMEPattern, build_pattern

ORDERINGS = ("auto", "block", "amd", "metis", "best", "natural")


def analyze_mme(pattern: MMEPattern, C, ordering: str = "auto"):
    """Symbolic analysis of the MME C on ``pattern``.

    "auto": eliminate the largest random term first when it has no relationship matrix and is at
    least half the size of the rest (BlockFactor; crossed and nested designs), otherwise CHOLMOD
    with AMD. "block" insists on block elimination; "amd", "metis", "best", "natural" give C to
    CHOLMOD whole with that ordering.
    """
    if ordering not in ORDERINGS:
        raise ValueError(f"unknown ordering {ordering!r}; expected one of {ORDERINGS}")
    if ordering in ("auto", "block"):
        blocks = pattern.leading_blocks()
        f = None if blocks is None else BlockFactor.analyze(C, blocks, ordering="amd")
        if f is not None:
            return f
        if ordering == "block":
            raise ValueError("ordering='block' needs a largest random term without a relationship matrix, "
                             "at least half the size of the rest of the MME")
        ordering = "amd"
    return Factor.analyze(C, ordering=ordering)

LOG2PI = float(np.log(2 * np.pi))


@dataclass(frozen=True)
class State:
    """Everything known at one theta after one numeric factorization and one solve."""

    theta: np.ndarray
    loglik: float
    sol: np.ndarray = field(repr=False)   # MME solution [b; u]
    e: np.ndarray = field(repr=False)     # y - X b - Z u
    yPy: float
    logdet_C: float
    logdet_G: float

    @property
    def deviance(self) -> float:
        return -2.0 * self.loglik


class Objective:
    """theta -> REML or ML log-likelihood; the factor's symbolic analysis is done once.

    Keeps the factor of the last theta evaluated, so that traces at that theta
    (``selected_inverse``) reuse it without refactoring.
    """

    def __init__(self, design, vm, method: str = "REML", ordering: str = "auto",
                 pattern: MMEPattern | None = None):
        method = method.upper()
        if method not in ("REML", "ML"):
            raise ValueError(f"method must be 'REML' or 'ML', got {method!r}")
        self.method = method
        self.pattern = pattern if pattern is not None else build_pattern(design, vm)
        self.vm = vm
        self.ordering = ordering
        self.factor = analyze_mme(self.pattern, self.pattern.values(self._any_theta()), ordering)
        self._theta = None
        self.zpattern = self.zfactor = None
        self._ztheta = None
        if method == "ML" and vm.terms:
            zdesign = dataclasses.replace(design, X=design.X[:, :0], fixed_names=())
            self.zpattern = build_pattern(zdesign, vm)
            self.zfactor = analyze_mme(self.zpattern, self.zpattern.values(self._any_theta()), ordering)

    def _any_theta(self) -> np.ndarray:
        return self.vm.pack([np.eye(t.q) for t in self.vm.terms], 1.0)

    @property
    def loglik_unit(self) -> float:
        """The reference of relative tolerances on log-likelihood changes: n, the number of records.
        Unlike |loglik|, which moves by (n - p) log s when y becomes s y, it does not depend on the
        scale of y, so fits stop at the same iteration whatever the units of the response."""
        return float(self.pattern.n)

    @property
    def n_fixed(self) -> int:
        """p in the REML constant: rank of X for REML, 0 for ML."""
        return self.pattern.p if self.method == "REML" else 0

    def factorize(self, theta: np.ndarray) -> None:
        """Refactor C(theta) numerically on the existing symbolic analysis (skip if already current)."""
        if self._theta is None or not np.array_equal(self._theta, theta):
            self.factor.refactor(self.pattern.values(theta))
            self._theta = np.array(theta, dtype=float)

    def factorize_z(self, theta: np.ndarray) -> None:
        """Refactor C_ZZ(theta), the MME without fixed effects (ML only)."""
        if self._ztheta is None or not np.array_equal(self._ztheta, theta):
            self.zfactor.refactor(self.zpattern.values(theta))
            self._ztheta = np.array(theta, dtype=float)

    def at(self, theta) -> State:
        """Factor C(theta), solve the MME and evaluate the log-likelihood."""
        theta = np.asarray(theta, dtype=float)
        pat = self.pattern
        self.factorize(theta)
        sol_c = self.factor.solve(pat.rhs(theta))
        s2 = float(theta[-1])
        e = pat.yc - pat.W @ sol_c
        yPy = float(e @ e) / s2 + pat.penalty(theta, sol_c)
        sol = pat.uncentre(sol_c)
        logdet_G = self.vm.logdet_G(theta)
        if self.method == "REML":
            logdet_C = self.factor.logdet()
            const = (pat.n - pat.p) * LOG2PI
        else:
            if self.zfactor is not None:
                self.factorize_z(theta)
                logdet_C = self.zfactor.logdet()
            else:
                logdet_C = 0.0
            const = pat.n * LOG2PI
        m2ll = const + pat.n * np.log(s2) + logdet_G + logdet_C + yPy
        return State(theta=theta, loglik=-0.5 * m2ll, sol=sol, e=e, yPy=yPy,
                     logdet_C=logdet_C, logdet_G=logdet_G)

    def __call__(self, theta) -> float:
        """-2 log-likelihood at theta (lme4's REML criterion or deviance), like lme4's devFunOnly."""
        return self.at(theta).deviance

    def trace_inverse(self, theta):
        """The selected inverse whose z-block gives the traces: C^-1 (REML) or C_ZZ^-1 (ML), and its pattern."""
        if self.method == "REML" or self.zfactor is None:
            self.factorize(theta)
            return self.factor.selected_inverse(), self.pattern
        self.factorize_z(theta)
        return self.zfactor.selected_inverse(), self.zpattern
