"""Monte Carlo AI-REML: the REML score with stochastic traces and PCG solves (no factorization).

For the single-trait model y = X b + Z a + e with one random term a ~ N(0, sigma2_a K) over m levels
and R = sigma2_e I, the REML score (henderson.reml.derivatives) needs one trace of C^-1:

    T = tr(K^-1 C^aa)
    dl/dsigma2_a = -1/2 [ m / sigma2_a - (T + a'K^-1 a) / sigma2_a^2 ]
    dl/dsigma2_e = -1/2 [ (n - p - m + T / sigma2_a) / sigma2_e - e'e / sigma2_e^2 ]

T is estimated by Hutchinson's estimator (Girard 1989; Hutchinson 1990): for Rademacher probes z
(entries +-1) on the levels of a, E[z' (C^-1 [0; K^-1 z])_a] = T, each probe one PCG solve of the
matrix-free MME (henderson.linalg.mme_operator). The estimate is the mean over the probes and its
standard error their standard deviation / sqrt(n_probes). The average information needs solves
only: AI = 1/2 F'PF with the working variates F = [Z a / sigma2_a, e / sigma2_e] and
P F = (F - W C^-1 W'F / sigma2_e) / sigma2_e (two more PCG solves; C = W'W / sigma2_e + G^-1).

The probes are drawn once and kept through the iterations (common random numbers), so the Newton
iterations converge to the root of one Monte Carlo score; that root differs from the exact REML
estimate by about AI^-1 dg, dg the score's Monte Carlo error: its standard error per parameter is
sqrt(diag(AI^-1 (dg/dT)(dg/dT)' se(T)^2 AI^-1)). Each probe's PCG starts from its solution at the
previous iterate (warm start), as does the MME solve; the probes' solves run side by side
(henderson.linalg.block_pcg), one product of C with an n x r matrix per PCG round.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ConvergenceError, DesignError
from ..linalg.block_pcg import mme_matmat, pcg_columns
from ..linalg.pcg import pcg
from ..mme import centre_value, constant_combination
from ..options import N_PROBES
from .iterative import mme_operator

PCG_TOL = 1e-10      # ||r||^2 / ||b||^2 of every PCG solve
TOL = 1e-6           # Newton decrement score' AI^-1 score at convergence
MAX_ITER = 50
STEP_IN_SE = 0.05    # or when every Newton step is below this many Monte Carlo SEs of its parameter


@dataclass(frozen=True)
class TraceEstimate:
    """Hutchinson's estimate of a trace: ``value`` (mean over probes), ``se`` (sd / sqrt(n)), ``samples``."""

    value: float
    se: float
    samples: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class MCREMLResult:
    """Monte Carlo AI-REML estimates: ``variances`` (by parameter name), ``mc_se`` (their Monte Carlo
    standard errors, from the probes' spread), ``sampling_se`` (from the inverse average information),
    ``trace`` (T = tr(K^-1 C^aa) at the estimate, with its SE), ``score`` at the estimate, ``iterations``
    (one row per AI step), ``converged``, ``n_probes``, ``pcg_rounds`` (PCG rounds of all the solves, a
    round of side-by-side solves counted once), ``seconds``."""

    variances: pd.Series
    mc_se: pd.Series
    sampling_se: pd.Series
    trace: TraceEstimate
    score: np.ndarray
    iterations: pd.DataFrame = field(repr=False)
    converged: bool
    n_probes: int
    pcg_rounds: int
    seconds: float


def check_supported(model, method: str) -> None:
    """DesignError unless ``model`` is a single-trait REML model with one 1 x 1 random term and R = sigma2 I."""
    vm = model.vm
    if method.upper() != "REML":
        raise DesignError(f"algorithm='mc-ai' estimates REML only, got method={method!r}")
    if len(vm.terms) != 1 or vm.terms[0].q != 1 or vm.terms[0].n_params != 1:
        names = [f"{t.name} ({t.q} effect(s))" for t in vm.terms]
        raise DesignError("algorithm='mc-ai' supports one random term with one effect (e.g. y ~ hy + (1|id)); "
                          f"this model has {names}: use algorithm='ai'")
    if vm.residual.structured:
        raise DesignError("algorithm='mc-ai' needs R = sigma2 I; this model has a residual structure "
                          f"({vm.residual.description}): use algorithm='ai'")


def hutchinson_trace(op, precond, probes: np.ndarray, warm: np.ndarray, tol: float = PCG_TOL):
    """T = tr(K^-1 C^aa) of the one random term of ``op`` from Rademacher ``probes`` (m x r), one PCG solve
    C x = [0; K^-1 z] per probe (all side by side, henderson.linalg.block_pcg; ``precond`` diagonal, as it
    is for terms of one effect), starting from and updating ``warm`` (size x r). (TraceEstimate, rounds)."""
    t = op.terms[0]
    sl = slice(t.offset, t.offset + t.m)
    kz = probes if t.kinv is None else t.kinv.apply(probes)
    B = np.zeros((op.size, probes.shape[1]))
    B[sl] = kz
    X, rounds, _ = pcg_columns(lambda V: mme_matmat(op, V), B, precond(np.ones(op.size)), X0=warm, tol=tol)
    warm[:] = X
    samples = np.einsum("ij,ij->j", probes, X[sl])
    se = float(samples.std(ddof=1) / np.sqrt(samples.size)) if samples.size > 1 else float("nan")
    return TraceEstimate(float(samples.mean()), se, samples), rounds


def rademacher(m: int, n_probes: int, seed) -> np.ndarray:
    """m x n_probes matrix of independent +-1 entries."""
    return np.random.default_rng(seed).integers(0, 2, size=(m, n_probes)).astype(np.float64) * 2.0 - 1.0


def _start(model, yc: np.ndarray) -> np.ndarray:
    """Half the variance of y to each component."""
    v = float(np.var(yc)) / 2.0 or 1.0
    return model.vm.pack([np.array([[v]])], v)


class _Iterate:
    """The solves at one theta: MME solution, trace estimate, score and average information."""

    def __init__(self, model, yc, theta, probes, warm, sol0, tol):
        vm, design = model.vm, model.design
        params = vm.at(theta)
        op = mme_operator(model, params)
        M = op.preconditioner()
        t = op.terms[0]
        sl = slice(t.offset, t.offset + t.m)
        res = pcg(op.matvec, op.rhs(yc), M, x0=sol0, tol=tol)
        self.sol, rounds = res.x, res.n_iter
        a = self.sol[sl]
        e = yc - op.W @ self.sol
        S = float(a @ (a if t.kinv is None else t.kinv.apply(a)))
        self.trace, r = hutchinson_trace(op, M, probes, warm, tol)
        rounds += r
        (sa,), se = theta[vm.term_slice(0)], float(theta[vm.residual_slice][0])
        T, n, p = self.trace.value, design.n, design.p
        self.score = np.array([-0.5 * (t.m / sa - (T + S) / sa**2),
                               -0.5 * ((n - p - t.m + T / sa) / se - float(e @ e) / se**2)])
        self.dscore_dT = np.array([0.5 / sa**2, -0.5 / (sa * se)])
        F = np.column_stack([op.W[:, sl] @ a / sa, e / se])
        WtF = op.Wt @ F / se
        X, r, _ = pcg_columns(lambda V: mme_matmat(op, V), WtF, M(np.ones(op.size)), tol=tol)
        rounds += r
        PF = (F - op.W @ X) / se
        ai = 0.5 * F.T @ PF
        self.ai = 0.5 * (ai + ai.T)
        self.rounds = rounds

    def mc_cov(self) -> np.ndarray:
        """Monte Carlo covariance of the root of the score: AI^-1 (dg/dT)(dg/dT)' se(T)^2 AI^-1."""
        v = np.linalg.solve(self.ai, self.dscore_dT)
        return np.outer(v, v) * self.trace.se**2


def fit_mc(model, start: np.ndarray | None = None, n_probes: int = N_PROBES, seed=0, tol: float = TOL,
           max_iter: int = MAX_ITER, pcg_tol: float = PCG_TOL, callback=None) -> MCREMLResult:
    """Monte Carlo AI-REML (module docstring): Newton steps with the average information on the score
    with Hutchinson traces over ``n_probes`` fixed Rademacher probes (``seed``), step-halving to keep
    the variances positive; converged when score' AI^-1 score < ``tol`` or every step is below 0.05 of its
    parameter's Monte Carlo SE (the PCG solves' own error keeps the decrement from falling much below
    that). ``callback(row)`` per step."""
    t0 = time.perf_counter()
    check_supported(model, "REML")
    if n_probes < 2:
        raise ValueError(f"n_probes must be at least 2 (the standard error needs two), got {n_probes}")
    design, vm = model.design, model.vm
    ones = constant_combination(design.X) if design.p else None
    yc = design.y - (0.0 if ones is None else centre_value(design.y))
    theta = np.asarray(_start(model, yc) if start is None else start, dtype=float)
    m = vm.terms[0].m
    size = design.p + m
    probes = rademacher(m, n_probes, seed)
    warm = np.zeros((size, n_probes))
    sol, rows, rounds, converged = None, [], 0, False
    for it in range(1, max_iter + 1):
        cur = _Iterate(model, yc, theta, probes, warm, sol, pcg_tol)
        sol, rounds = cur.sol, rounds + cur.rounds
        step = np.linalg.solve(cur.ai, cur.score)
        decrement = float(cur.score @ step)
        row = dict(iteration=it, **{f"theta{i}": v for i, v in enumerate(theta)}, trace=cur.trace.value,
                   trace_se=cur.trace.se, decrement=decrement, pcg_rounds=cur.rounds)
        rows.append(row)
        if callback is not None:
            callback(row)
        if decrement < tol or np.all(np.abs(step) < STEP_IN_SE * np.sqrt(np.diag(cur.mc_cov()))):
            converged = True
            break
        for _ in range(30):
            if np.all(theta + step > 0):
                break
            step = step / 2
        else:
            raise ConvergenceError("Monte Carlo AI-REML: no step keeps the variances positive")
        theta = theta + step
    names = vm.names()
    mc = np.sqrt(np.diag(cur.mc_cov()))
    sampling = np.sqrt(np.diag(np.linalg.inv(cur.ai)))
    return MCREMLResult(pd.Series(theta, index=names), pd.Series(mc, index=names),
                        pd.Series(sampling, index=names), cur.trace, cur.score, pd.DataFrame(rows),
                        converged, n_probes, rounds, time.perf_counter() - t0)
