"""Monte Carlo AI-REML: the REML score with stochastic traces and PCG solves (no factorization).

For the single-trait model y = X b + Z a + e with one random term a ~ N(0, sigma2_a K) over m levels
and R = sigma2_e I, the REML score (henderson.reml.derivatives) needs one trace of C^-1:

    T = tr(K^-1 C^aa)
    dl/dsigma2_a = -1/2 [ m / sigma2_a - (T + a'K^-1 a) / sigma2_a^2 ]
    dl/dsigma2_e = -1/2 [ (n - p - m + T / sigma2_a) / sigma2_e - e'e / sigma2_e^2 ]

T is estimated by Hutchinson's estimator (Girard 1989; Hutchinson 1990) with Rademacher probes z
(entries +-1) on the levels of a. With a factor K^-1 = L L' (a pedigree's L = (I - P)' D^-1/2,
henderson.pedigree.aproduct; the identity) the sample is the quadratic form b' C^-1 b, b = [0; L z],
whose mean is tr(L' C^aa L) = T; its variance is about half that of z' (C^-1 [0; K^-1 z])_a (used
for a user's K^-1, which has no such factor), and PCG's error in it is the square of the solution's:
each probe stops once an upper bound of the error of its form is below ``probe_error`` (0.05)
Monte Carlo SEs of T, long before the residual criterion of the MME solve; the bound is Gauss-Radau's
(Meurant & Tichy) from the PCG coefficients with lambda_min 0.9 times the
smallest Ritz value of the earlier MME solves (their PCG coefficients give the Lanczos
tridiagonal). At the inexact iterates (below) a geometric tail of the last increments estimates
the error instead: cheaper, but it can fall short of the true error by 30x after a warm start
(henderson.linalg.block_pcg).
The estimate is the mean over the probes and its standard error their standard deviation /
sqrt(n_probes). The average information needs solves only: AI = 1/2 F'PF with the working variates
F = [Z a / sigma2_a, e / sigma2_e] and P F = (F - W C^-1 W'F / sigma2_e) / sigma2_e, where
C^-1 W'F / sigma2_e follows from one more solve, u = C^-1 [0; K^-1 a] (C = W'W / sigma2_e + G^-1).

The probes are drawn once and kept through the iterations (common random numbers), so the Newton
iterations converge to the root of one Monte Carlo score; that root differs from the exact REML
estimate by about AI^-1 dg, dg the score's Monte Carlo error: its standard error per parameter is
sqrt(diag(AI^-1 (dg/dT)(dg/dT)' se(T)^2 AI^-1)). Each solve starts from its solution at the previous
iterate (warm start). The MME solve and the probes' solves run side by side (one product of C with
a size x (1 + r) matrix per PCG round, henderson.linalg.block_pcg), on the equations with the
animals grouped by maternal lineage (henderson.fitted.mc_problem: the dams' rows in cache).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ConvergenceError, DesignError
from ..linalg.block_pcg import mme_matmat, pcg_block
from ..linalg.deflation import Deflation
from ..mme import centre_value, constant_combination
from ..options import N_PROBES
from .mc_problem import MCProblem

PCG_TOL = 1e-12      # ||r||^2 / ||b||^2 of the MME solve (BLUPF90's default) and of non-symmetric probes
AI_TOL = 1e-6        # of the solve for the average information: it steers the Newton steps and gives the
                     # sampling SEs, which tests/fitted/test_montecarlo.py compares with the exact fit's
PROBE_ERROR = 0.05   # bound on the PCG error of each probe's quadratic form, in Monte Carlo SEs of the trace
TOL = 1e-6           # Newton decrement score' AI^-1 score at convergence
MAX_ITER = 50
STEP_IN_SE = 0.05    # or when every Newton step is below this many Monte Carlo SEs of its parameter
LOOSE_PROBE_ERROR = 1.0   # inexact Newton: while the steps are over LOOSE_STEPS Monte Carlo SEs, the
LOOSE_PCG_TOL = 1e-8      # probes to 1 Monte Carlo SE of the trace and the MME solve to 1e-8 (not looser: its
                          # Lanczos coefficients give the lambda_min that bounds the final probes' errors)
LOOSE_STEPS = 10.0
RITZ_SAFETY = 0.9         # lambda_min(M^-1 C) taken as 0.9 x the smallest Ritz value of the MME solves so far


@dataclass(frozen=True)
class TraceEstimate:
    """Hutchinson's estimate of a trace: ``value`` (mean over probes), ``se`` (sd / sqrt(n)), ``samples``,
    and ``pcg_error``: the estimated mean shortfall of the samples from stopping PCG early (0: solved
    to the residual criterion)."""

    value: float
    se: float
    samples: np.ndarray = field(repr=False)
    pcg_error: float = 0.0


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


def probe_rhs(op, probes: np.ndarray, out: np.ndarray | None = None):
    """Right-hand sides [0; v] (size x r, into ``out`` if given) of the probes and whether they are
    symmetric: v = L z for a factor K^-1 = L L' (a pedigree's, or the identity), so
    z' L' C^aa L z = b' C^-1 b is a quadratic form; otherwise (a user's K^-1) v = K^-1 z and the
    sample is z' (C^-1 b)_a."""
    t = op.terms[0]
    B = np.zeros((op.size, probes.shape[1])) if out is None else out
    sl = slice(t.offset, t.offset + t.m)
    B[:t.offset] = 0.0
    if t.kinv is None:
        B[sl] = probes
        return B, True
    if hasattr(t.kinv, "factor_times"):
        t.kinv.factor_times(probes, out=B[sl])
        return B, True
    B[sl] = t.kinv.apply(probes.astype(np.float64))
    return B, False


def _solve_with_probes(op, dinv, rhs, probes, warm, tol, probe_error, lambda_min=None, deflation=None,
                       workspace=None):
    """The MME C x = rhs and the probes' solves side by side, from ``warm`` (size x (1 + r), C order),
    which ends holding the solutions (of the deflated system, with a ``deflation`` of op's products:
    henderson.linalg.deflation). Returns (x, TraceEstimate, rounds, rounds until the last probe
    stopped, smallest Ritz value of the MME solve): x to ``tol``; symmetric probes until the
    estimated error of their quadratic forms is below ``probe_error`` Monte Carlo SEs of the trace
    (the error bounded with ``lambda_min``, see henderson.linalg.block_pcg.pcg_block), others to
    ``tol``. ``workspace`` (henderson.linalg.block_pcg.Workspace) holds the right-hand sides and
    PCG's working arrays from one call to the next."""
    t = op.terms[0]
    r = probes.shape[1]
    B = np.empty((op.size, 1 + r)) if workspace is None else workspace.arrays(op.size, 1 + r, 1, 3)[0]
    B[:, 0] = rhs
    _, symmetric = probe_rhs(op, probes, out=B[:, 1:])
    matmat, exact = (lambda V, out: mme_matmat(op, V, out)), np.zeros(1 + r)
    if deflation is not None:
        matmat, exact = deflation.matmat, deflation.exact_part(B)
        deflation.project(B, in_place=True)

    def limit(q):
        out = np.full(q.size, probe_error * (q[1:] + exact[1:]).std(ddof=1) / np.sqrt(r))
        out[0] = 0.0
        return out

    res = pcg_block(matmat, B, dinv, X0=warm, tol=tol, energy_tol=limit if symmetric else None,
                    overwrite=True, lambda_min=lambda_min, workspace=workspace)
    if not res.converged.all():
        raise ConvergenceError(f"Monte Carlo AI-REML: PCG did not converge in {res.rounds} rounds")
    if res.X is not warm:
        warm[:] = res.X
    x = res.X[:, 0] if deflation is None else deflation.solution(res.X[:, :1], rhs[:, None])[:, 0]
    if symmetric:
        samples, err = res.q[1:] + exact[1:], float(res.energy_error[1:].mean())
    else:
        sol = res.X[:, 1:] if deflation is None else deflation.solution(res.X[:, 1:], probe_rhs(op, probes)[0])
        samples, err = np.einsum("ij,ij->j", probes, sol[t.offset:t.offset + t.m]), 0.0
    se = float(samples.std(ddof=1) / np.sqrt(r)) if r > 1 else float("nan")
    return (x.copy(), TraceEstimate(float(samples.mean()), se, samples, err), res.rounds,
            int(res.column_rounds[1:].max()), res.ritz_min)


def hutchinson_trace(op, precond, probes: np.ndarray, warm: np.ndarray, tol: float = PCG_TOL,
                     probe_error: float = PROBE_ERROR):
    """T = tr(K^-1 C^aa) of the one random term of ``op`` from Rademacher ``probes`` (m x r), one PCG solve
    per probe (all side by side, henderson.linalg.block_pcg; ``precond`` diagonal, as it is for terms
    of one effect; right-hand sides from probe_rhs), starting from and updating ``warm`` (size x r).
    (TraceEstimate, rounds)."""
    w = np.column_stack([np.zeros(op.size), warm])
    _, est, rounds, _, _ = _solve_with_probes(op, precond(np.ones(op.size)), np.zeros(op.size), probes, w, tol,
                                        probe_error)
    warm[:] = w[:, 1:]
    return est, rounds


def rademacher(m: int, n_probes: int, seed) -> np.ndarray:
    """m x n_probes matrix of independent +-1 entries (int8: an eighth of the memory of floats)."""
    z = np.random.default_rng(seed).integers(0, 2, size=(m, n_probes), dtype=np.int8)
    z *= 2
    z -= 1
    return z


def _start(model, yc: np.ndarray) -> np.ndarray:
    """Half the variance of y to each component."""
    v = float(np.var(yc)) / 2.0 or 1.0
    return model.vm.pack([np.array([[v]])], v)


class _Iterate:
    """The solves at one theta: MME solution, trace estimate, score and average information.

    ``warm`` (size x (1 + r): the MME solution, then the probes') and ``warm_ai`` (size) are the
    previous iterate's solutions, updated in place."""

    def __init__(self, model, problem, theta, probes, warm, warm_ai, tol, probe_error, lambda_min=None):
        vm, design = model.vm, model.design
        op = problem.operator(vm.at(theta))
        yc = problem.yc
        dinv = op.preconditioner()(np.ones(op.size))
        t = op.terms[0]
        sl = slice(t.offset, t.offset + t.m)
        defl = Deflation(lambda V, out: mme_matmat(op, V, out), problem.subspace)
        self.sol, self.trace, rounds, self.probe_rounds, self.ritz_min = _solve_with_probes(
            op, dinv, op.rhs(yc), probes, warm, tol, probe_error, lambda_min, defl, problem.workspace)
        a = self.sol[sl]
        e = yc - op.W @ self.sol
        ka = a if t.kinv is None else t.kinv.apply(a)
        S = float(a @ ka)
        (sa,), se = theta[vm.term_slice(0)], float(theta[vm.residual_slice][0])
        T, n, p = self.trace.value, design.n, design.p
        self.score = np.array([-0.5 * (t.m / sa - (T + S) / sa**2),
                               -0.5 * ((n - p - t.m + T / sa) / se - float(e @ e) / se**2)])
        self.dscore_dT = np.array([0.5 / sa**2, -0.5 / (sa * se)])
        self.ai, r = self._average_information(op, dinv, defl, sl, a, ka, e, sa, se, warm_ai, problem.workspace)
        self.rounds = rounds + r

    @staticmethod
    def _average_information(op, dinv, defl, sl, a, ka, e, sa, se, warm_ai, workspace):
        """AI = 1/2 F'PF, F = [Z a / sa, e / se]: C^-1 W'F / se from one solve u = C^-1 [0; K^-1 a] (deflated
        by ``defl``), as W'e / se = G^-1 x = [0; K^-1 a] / sa and W'Z a / se = (C - G^-1) [0; a]."""
        g = np.zeros((op.size, 1))
        g[sl, 0] = ka
        res = pcg_block(defl.matmat, defl.project(g), dinv, X0=warm_ai[:, None], tol=AI_TOL, workspace=workspace)
        warm_ai[:] = res.X[:, 0]
        u = defl.solution(res.X, g)[:, 0]
        X = np.zeros((op.size, 2))
        X[sl, 0] = a / sa
        X[:, 0] -= u / sa**2
        X[:, 1] = u / (sa * se)
        F = np.column_stack([op.W[:, sl] @ a / sa, e / se])
        PF = (F - op.W @ X) / se
        ai = 0.5 * F.T @ PF
        return 0.5 * (ai + ai.T), res.rounds

    def mc_cov(self) -> np.ndarray:
        """Monte Carlo covariance of the root of the score: AI^-1 (dg/dT)(dg/dT)' se(T)^2 AI^-1."""
        v = np.linalg.solve(self.ai, self.dscore_dT)
        return np.outer(v, v) * self.trace.se**2


def fit_mc(model, start: np.ndarray | None = None, n_probes: int = N_PROBES, seed=0, tol: float = TOL,
           max_iter: int = MAX_ITER, pcg_tol: float = PCG_TOL, probe_error: float = PROBE_ERROR,
           callback=None) -> MCREMLResult:
    """Monte Carlo AI-REML (module docstring): Newton steps with the average information on the score
    with Hutchinson traces over ``n_probes`` fixed Rademacher probes (``seed``), step-halving to keep
    the variances positive; converged when score' AI^-1 score < ``tol`` or every step is below 0.05 of its
    parameter's Monte Carlo SE (the PCG solves' own error keeps the decrement from falling much below
    that), at an iterate whose MME solve stopped at ``pcg_tol`` and each probe once the error of its
    quadratic form was below ``probe_error`` Monte Carlo SEs of the trace. The iterates before are
    solved less accurately (inexact Newton): to LOOSE_PROBE_ERROR and LOOSE_PCG_TOL until a step is
    below LOOSE_STEPS Monte Carlo SEs.
    ``callback(row)`` per step."""
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
    problem = MCProblem(model, yc, vm.at(theta))
    probes = problem.probes(rademacher(m, n_probes, seed))
    warm, warm_ai = np.zeros((size, 1 + n_probes)), np.zeros(size)
    rows, rounds, converged, err, ritz = [], 0, False, max(LOOSE_PROBE_ERROR, probe_error), None
    for it in range(1, max_iter + 1):
        t1 = time.perf_counter()
        final = err <= probe_error
        cur = _Iterate(model, problem, theta, probes, warm, warm_ai,
                       pcg_tol if final else max(pcg_tol, LOOSE_PCG_TOL), err,
                       None if ritz is None or not final else RITZ_SAFETY * ritz)
        if cur.ritz_min is not None:
            ritz = cur.ritz_min if ritz is None else min(ritz, cur.ritz_min)
        rounds += cur.rounds
        step = np.linalg.solve(cur.ai, cur.score)
        decrement = float(cur.score @ step)
        row = dict(iteration=it, **{f"theta{i}": v for i, v in enumerate(theta)}, trace=cur.trace.value,
                   trace_se=cur.trace.se, trace_pcg_error=cur.trace.pcg_error, probe_error=err,
                   decrement=decrement, pcg_rounds=cur.rounds, probe_rounds=cur.probe_rounds,
                   seconds=time.perf_counter() - t1)
        rows.append(row)
        if callback is not None:
            callback(row)
        in_se = np.abs(step) / np.sqrt(np.diag(cur.mc_cov()))
        small = decrement < tol or np.all(in_se < STEP_IN_SE)
        if small and final:
            converged = True
            break
        if in_se.max() < LOOSE_STEPS:
            err = probe_error
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
