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

from ..covariance import VarianceParams
from ..linalg import BlockFactor, Factor
from ..mme import MMEPattern, build_pattern
from ..options import METHODS, ORDERINGS, choice  # noqa: F401 (ORDERINGS: re-exported)
from ..options import ordering as valid_ordering


def analyze_mme(pattern: MMEPattern, C, ordering: str = "auto"):
    """Symbolic analysis of the MME C on ``pattern``.

    "auto": eliminate the largest random term first when it has no relationship matrix and is at
    least half the size of the rest (BlockFactor; crossed and nested designs), otherwise CHOLMOD
    with "dense-last" (AMD on the sparse columns of C, its dense columns last: sires with many
    progeny, large fixed-effect levels; henderson.linalg.ordering). "block" insists on block
    elimination; "dense-last", "amd", "metis", "best", "natural" give C to CHOLMOD whole with that
    ordering.
    """
    if valid_ordering(ordering) in ("auto", "block"):
        blocks = pattern.leading_blocks()
        f = None if blocks is None else BlockFactor.analyze(C, blocks, ordering="amd")
        if f is not None:
            return f
        if ordering == "block":
            raise ValueError("ordering='block' needs a largest random term without a relationship matrix, "
                             "at least half the size of the rest of the MME")
        ordering = "dense-last"
    return Factor.analyze(C, ordering=ordering)


def _check_shareable(shared: Objective, new: Objective) -> None:
    """A shared analysis needs the same method, variance model and MME pattern (ValueError otherwise)."""
    a, b = shared.pattern.pattern, new.pattern.pattern
    if shared.method != new.method or shared.vm is not new.vm or shared.ordering != new.ordering \
            or a.shape != b.shape or not (np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)):
        raise ValueError("a shared symbolic analysis needs the same method, variance model, ordering and MME pattern")


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
    params: VarianceParams = field(repr=False)   # the variance model at theta

    @property
    def sigma2(self) -> float:
        return self.params.sigma2

    @property
    def deviance(self) -> float:
        return -2.0 * self.loglik


class Objective:
    """theta -> REML or ML log-likelihood; the one owner of the factorization state.

    The factor of C (and of C_ZZ for ML) is private: ``at``, ``solve``, ``diag_inverse``,
    ``selected_inverse`` and ``trace_inverse`` take theta and refactor only when the factor holds
    another theta, so callers never re-sync it. The symbolic analysis is done once.

    ``shared``: an Objective of the same method on the same MME pattern (another response on the same
    design and rows): its symbolic analysis is reused, only numeric refactorizations are done here.
    The factors are then shared, and each Objective refactors them whenever the other one last did.
    """

    def __init__(self, design, vm, method: str = "REML", ordering: str = "auto",
                 pattern: MMEPattern | None = None, shared: Objective | None = None):
        self.method = choice("method", method, METHODS, str.upper)
        self.pattern = pattern if pattern is not None else build_pattern(design, vm)
        self.vm = vm
        self.ordering = ordering
        if shared is not None:
            _check_shareable(shared, self)
            self._factor, self._holder = shared._factor, shared._holder
        else:
            self._factor = analyze_mme(self.pattern, self.pattern.values(self._any_theta()), ordering)
            self._holder = {"C": None, "Z": None}   # the Objective whose theta each factor holds
        self._theta = self._params = None
        self._zpattern = self._zfactor = None
        self._ztheta = None
        if self.method == "ML" and vm.terms:
            if shared is not None:
                self._zpattern, self._zfactor = shared._zpattern.with_response(design.y), shared._zfactor
            else:
                zdesign = dataclasses.replace(design, X=design.X[:, :0], fixed_names=())
                self._zpattern = build_pattern(zdesign, vm)
                self._zfactor = analyze_mme(self._zpattern, self._zpattern.values(self._any_theta()), ordering)

    def _any_theta(self) -> np.ndarray:
        return self.vm.pack([np.eye(t.q) for t in self.vm.terms], 1.0)

    @property
    def factor_kind(self) -> str:
        """The factorization in use: "BlockFactor" (block elimination) or "Factor" (CHOLMOD)."""
        return type(self._factor).__name__

    @property
    def n_factorizations(self) -> int:
        """Numeric factorizations of C done so far."""
        return self._factor.n_factorizations

    @property
    def nnz_L(self) -> int:
        """Nonzeros of the Cholesky factor of C."""
        return self._factor.nnz_L

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

    def _current(self, theta) -> np.ndarray:
        """Make the factor of C hold theta (refactor numerically unless it already does); theta as floats."""
        theta = np.asarray(theta, dtype=float)
        if self._theta is None or self._holder["C"] is not self or not np.array_equal(self._theta, theta):
            params = self.vm.at(theta)
            self._theta = None    # until the refactorization succeeds
            self._factor.refactor(self.pattern.coefficients(params))
            self._theta, self._params = theta.copy(), params
            self._holder["C"] = self
        return theta

    def _current_z(self, theta) -> None:
        """Make the factor of C_ZZ, the MME without fixed effects (ML only), hold theta."""
        if self._ztheta is None or self._holder["Z"] is not self or not np.array_equal(self._ztheta, theta):
            self._ztheta = None
            self._zfactor.refactor(self._zpattern.coefficients(self.vm.at(theta)))
            self._ztheta = np.array(theta, dtype=float)
            self._holder["Z"] = self

    def solve(self, theta, rhs: np.ndarray) -> np.ndarray:
        """C(theta)^-1 rhs (one or more right-hand sides)."""
        self._current(theta)
        return self._factor.solve(rhs)

    def diag_inverse(self, theta) -> np.ndarray:
        """diag C(theta)^-1 (prediction error variances, Var(b_j))."""
        self._current(theta)
        return self._factor.diag_inverse()

    def selected_inverse(self, theta):
        """C(theta)^-1 on the pattern of C (Takahashi), as a sparse matrix on ``pattern``."""
        self._current(theta)
        return self._factor.selected_inverse()

    def trace_inverse(self, theta):
        """The selected inverse whose z-block gives the traces: C^-1 (REML) or C_ZZ^-1 (ML), and its pattern."""
        if self.method == "REML" or self._zfactor is None:
            return self.selected_inverse(theta), self.pattern
        self._current_z(np.asarray(theta, dtype=float))
        return self._zfactor.selected_inverse(), self._zpattern

    def at(self, theta) -> State:
        """Factor C(theta), solve the MME and evaluate the log-likelihood."""
        theta = self._current(theta)
        pat = self.pattern
        params = self._params
        sol_c = self._factor.solve(pat.rhs(params))
        e = pat.yc - pat.W @ sol_c
        yPy = params.quad_R(e) + pat.penalty(params, sol_c)
        sol = pat.uncentre(sol_c)
        if self.method == "REML":
            logdet_C = self._factor.logdet()
            const = (pat.n - pat.p) * LOG2PI
        else:
            if self._zfactor is not None:
                self._current_z(theta)
                logdet_C = self._zfactor.logdet()
            else:
                logdet_C = 0.0
            const = pat.n * LOG2PI
        m2ll = const + params.logdet_R(pat.n) + params.logdet_G + logdet_C + yPy
        return State(theta=theta, loglik=-0.5 * m2ll, sol=sol, e=e, yPy=yPy,
                     logdet_C=logdet_C, logdet_G=params.logdet_G, params=params)

    def __call__(self, theta) -> float:
        """-2 log-likelihood at theta (lme4's REML criterion or deviance), like lme4's devFunOnly."""
        return self.at(theta).deviance
