"""The fitting options and their defaults, in one place (no heavy imports: the CLI reads it at start-up).

    Options(method="REML", algorithm="ai", max_iter=None, tol=None, tol_change=None, em_start=None, ddf="satterthwaite")

A default given as None is resolved here from the algorithm (``max_iter``, ``tol``) or from the
others (``tol_change``), so that Model.fit, the REML driver and the CLI cannot disagree.
"""
from __future__ import annotations

from dataclasses import dataclass

METHODS = ("REML", "ML")
ALGORITHMS = ("ai", "em")
ORDERINGS = ("auto", "block", "dense-last", "amd", "metis", "best", "natural")
DDF = ("satterthwaite", "residual")
SOLVERS = ("direct", "pcg")   # Model.solve: sparse factorization, or PCG on the matrix-free MME
MC_ALGORITHM = "mc-ai"        # Model.fit: Monte Carlo AI-REML by PCG (henderson.fitted.montecarlo), no factorization
N_PROBES = 100                # its Rademacher probes for the trace of C^-1

MAX_ITER = {"ai": 200, "em": 5000}   # iterations (AI steps, or EM steps) before giving up
TOL = {"ai": 1e-8, "em": 1e-11}      # Newton decrement score' AI^-1 score at convergence


def choice(name: str, value, allowed: tuple, fold=str.lower) -> str:
    """``value`` folded to the case of ``allowed`` (lower or upper), or ValueError naming the choices."""
    v = fold(value) if isinstance(value, str) else value
    if v not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(repr(a) for a in allowed)}, got {value!r}")
    return v


def ordering(value: str) -> str:
    """A valid ordering name (ValueError otherwise)."""
    if value not in ORDERINGS:
        raise ValueError(f"unknown ordering {value!r}; expected one of {ORDERINGS}")
    return value


@dataclass(frozen=True)
class Options:
    """How a fit runs. Defaults: max_iter 200 for AI and 5000 for EM; tol (Newton decrement) 1e-8 for AI
    and 1e-11 for EM; tol_change (change in log-likelihood per record) = tol; em_start: EM steps
    before AI, None for one, or none when every term has a moment start; ddf: denominator df of the
    fixed-effect t tests, "satterthwaite" (as lmerTest) or "residual" (n - p)."""

    method: str = "REML"
    algorithm: str = "ai"
    max_iter: int | None = None
    tol: float | None = None
    tol_change: float | None = None
    em_start: int | None = None
    ddf: str = "satterthwaite"
    callback: object = None

    def __post_init__(self):
        object.__setattr__(self, "method", choice("method", self.method, METHODS, str.upper))
        object.__setattr__(self, "algorithm", choice("algorithm", self.algorithm, ALGORITHMS))
        object.__setattr__(self, "ddf", choice("ddf", self.ddf, DDF))

    @property
    def iterations(self) -> int:
        """max_iter, or its default for the algorithm."""
        return self.max_iter or MAX_ITER[self.algorithm]

    @property
    def decrement_tol(self) -> float:
        """tol, or its default for the algorithm."""
        return self.tol if self.tol is not None else TOL[self.algorithm]

    @property
    def change_tol(self) -> float:
        """tol_change, or the decrement tolerance."""
        return self.tol_change if self.tol_change is not None else self.decrement_tol
