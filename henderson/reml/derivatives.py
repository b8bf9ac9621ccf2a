"""Traces, score, average information and EM updates at one State.

For random term k with covariance Sigma_k (q x q) over m_k levels and K_k:

    T_k[a, b] = tr(K_k^-1 C^{kk}_{ab})     (C^-1 z-block; C_ZZ^-1 for ML)
    S_k       = U_k' K_k^-1 U_k             (U_k: m_k x q BLUPs)

    dl/dtheta_j = -1/2 [ m_k tr(Sigma^-1 E_j) - tr(A_j (T_k + S_k)) ],  A_j = Sigma^-1 E_j Sigma^-1
    dl/dsigma2  = -1/2 [ (n - p - q + sum_k tr(Sigma_k^-1 T_k)) / sigma2 - e'e / sigma2^2 ]

Working variates f_j = V_j P y are Z_k vec(U_k (E_j Sigma^-1)') and e / sigma2;
the average information is AI_ij = 1/2 f_i' P f_j, with P f from one more solve. When Sigma_k is
not linear in its parameters (structures cs, ar1), -d2l/dtheta_i dtheta_j has one more term, minus
the score along d2 Sigma_k/dtheta_i dtheta_j (``curvature``); it is added when the sum stays
positive definite (near the optimum), so that Newton steps do not oscillate there.

A structured residual R = sigma2 Lambda(phi) (henderson.residual) has, for each of its parameters
(sigma2 first, dR = Lambda),

    dl/dtheta_j = -1/2 [ tr(R^-1 dR_j) - tr(C^-1 W'R^-1 dR_j R^-1 W) - e'R^-1 dR_j R^-1 e ]

(C^-1 on C's pattern, which holds W'R^-1 dR_j R^-1 W; for ML the MME without fixed effects), working
variates f_j = dR_j R^-1 e and P F = R^-1 F - R^-1 W C^-1 W'R^-1 F.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..linalg.blas_threads import blas_threads
from ..mme import positions_in
from ..residual.kernels import hat_blocks
from .objective import Objective, State


@dataclass(frozen=True)
class Derivatives:
    """Score, average-information matrix and the trace pieces at one theta."""

    score: np.ndarray
    ai: np.ndarray = field(repr=False)
    T: tuple = field(repr=False)      # T_k per term
    S: tuple = field(repr=False)      # S_k per term
    tr_ginv_c: float                  # sum_k tr(Sigma_k^-1 T_k) = tr(G^-1 C^zz)


def blups(obj: Objective, state: State, k: int) -> np.ndarray:
    """U_k: the BLUPs of term k as an m x q matrix (levels x effects)."""
    t = obj.vm.terms[k]
    return state.sol[obj.pattern.term_slice(k)].reshape(t.q, t.m).T


def trace_blocks(obj: Objective, state: State) -> list[np.ndarray]:
    """T_k[a, b] = tr(K_k^-1 C^{kk}_{ab}) from the selected inverse on the pattern of C."""
    Sinv, pat = obj.trace_inverse(state.theta)
    T = [np.zeros((t.q, t.q)) for t in obj.vm.terms]
    for s in pat.slots:
        T[s.term][s.a, s.b] = float(s.kvals @ Sinv.data[s.pos])
    return T


def quadratic_blocks(obj: Objective, state: State) -> list[np.ndarray]:
    """S_k = U_k' K_k^-1 U_k."""
    out = []
    for k, t in enumerate(obj.vm.terms):
        U = blups(obj, state, k)
        KU = U if t.Kinv is None else t.Kinv @ U
        out.append(U.T @ KU)
    return out


def working_variates(obj: Objective, state: State) -> np.ndarray:
    """F = [f_1 ... f_r], f_j = V_j P y (n x r)."""
    sinv = state.params.sinv
    cols = []
    for k, t in enumerate(obj.vm.terms):
        U = blups(obj, state, k)
        Z = obj.pattern.W[:, obj.pattern.term_slice(k)]
        for j in range(t.n_params):
            B = obj.vm.derivative(k, j, state.theta) @ sinv[k]
            cols.append(Z @ (U @ B.T).T.ravel())
    res = obj.vm.residual
    if res.structured:
        re = state.params.apply_rinv(state.e)
        cols += [state.params.residual.derivative_times(j, re) for j in range(res.n_params)]
    else:
        cols += [res.derivative(j) * state.params.rinv_scale * state.e for j in range(res.n_params)]  # dR_j R^-1 e
    return np.column_stack(cols)


def average_information(obj: Objective, state: State, F: np.ndarray) -> np.ndarray:
    """AI = 1/2 F' P F with P F = (F - W C^-1 W'F / sigma2) / sigma2 (R^-1 F - R^-1 W C^-1 W'R^-1 F)."""
    W = obj.pattern.W
    if obj.vm.residual.structured:
        RF = state.params.apply_rinv(F)
        PF = RF - state.params.apply_rinv(W @ obj.solve(state.theta, W.T @ RF))
    else:
        s2 = state.sigma2
        sol = obj.solve(state.theta, W.T @ F)
        PF = (F - W @ sol / s2) / s2
    ai = 0.5 * F.T @ PF
    return 0.5 * (ai + ai.T)


def _score_parts(obj: Objective, state: State):
    """(score, T_k, S_k, tr(G^-1 C^zz)) at ``state`` (one selected inversion)."""
    vm = obj.vm
    sinv, s2 = state.params.sinv, state.sigma2
    T = trace_blocks(obj, state) if vm.terms else []
    S = quadratic_blocks(obj, state)
    g = np.empty(vm.n_params)
    for k, t in enumerate(vm.terms):
        sl = vm.term_slice(k)
        g[sl] = [_along(t.m, sinv[k], vm.derivative(k, j, state.theta), T[k], S[k]) for j in range(t.n_params)]
    tr_gc = float(sum(np.sum(si * Tk) for si, Tk in zip(sinv, T)))
    if vm.residual.structured:
        g[vm.residual_slice] = residual_score(obj, state)
        return g, T, S, tr_gc
    trP = (obj.pattern.n - obj.n_fixed - obj.pattern.q + tr_gc) / s2
    ee = float(state.e @ state.e)
    g[vm.residual_slice] = -0.5 * (trP - ee / s2**2)
    return g, T, S, tr_gc


def _along(m: int, sinv: np.ndarray, E: np.ndarray, T: np.ndarray, S: np.ndarray) -> float:
    """dl along dSigma_k = E: -1/2 [m tr(Sigma^-1 E) - tr(Sigma^-1 E Sigma^-1 (T + S))]."""
    return -0.5 * (m * np.trace(sinv @ E) - np.sum((sinv @ E @ sinv) * (T + S)))


def curvature(obj: Objective, state: State, T, S) -> np.ndarray:
    """The part of -d2l/dtheta_i dtheta_j that the average information leaves out when Sigma_k is not
    linear in its parameters (cs, ar1): -dl along d2 Sigma_k/dtheta_i dtheta_j (zero for linear terms)."""
    vm = obj.vm
    out = np.zeros((vm.n_params, vm.n_params))
    sinv = state.params.sinv
    for k, t in enumerate(vm.terms):
        if t.cov.linear():
            continue
        sl = vm.term_slice(k)
        p = state.theta[sl]
        for i in range(t.n_params):
            for j in range(i + 1):
                E2 = t.cov.second_derivative(p, i, j)
                out[sl.start + i, sl.start + j] = out[sl.start + j, sl.start + i] = \
                    -_along(t.m, sinv[k], E2, T[k], S[k])
    return out


def residual_score(obj: Objective, state: State) -> np.ndarray:
    """dl/dtheta_j of a structured residual's parameters (module docstring): the traces as sums over R's
    blocks of R^-1 dR_j R^-1 times the blocks of W C^-1 W' (residual_hat_blocks)."""
    res = state.params.residual
    r = res.gather(res.apply_rinv(state.e))
    with_c = obj.method == "REML" or bool(obj.vm.terms)
    H = residual_hat_blocks(obj, state) if with_c else [None] * len(r)
    return res.score(H, r)


def residual_hat_blocks(obj: Objective, state: State) -> list[np.ndarray]:
    """W C^-1 W' on the blocks of a structured R, per size class: W_g S W_g' with S the selected inverse
    (C^-1, or C_ZZ^-1 for ML), on C's pattern, which holds every entry these products read."""
    Sinv, pat = obj.trace_inverse(state.theta)
    P = pat.pattern
    same = Sinv.nnz == P.nnz and np.array_equal(Sinv.indptr, P.indptr) and np.array_equal(Sinv.indices, P.indices)
    data = Sinv.data if same else sp.csc_matrix(Sinv).data[positions_in(sp.csc_matrix(Sinv), P)]
    return hat_blocks(pat.residual_blocks, np.asarray(data))


def score(obj: Objective, state: State) -> np.ndarray:
    """dl/dtheta at ``state`` (no average information)."""
    return _score_parts(obj, state)[0]


def derivatives(obj: Objective, state: State) -> Derivatives:
    """Score and AI matrix at ``state`` (one selected inversion, one multi-RHS solve). With a structured
    residual, BLAS runs on one thread: its many small and tall-thin products are slower with OpenBLAS's
    worker threads spinning against the other pools (see linalg.blas_threads)."""
    with blas_threads(1) if obj.vm.residual.structured else contextlib.nullcontext():
        g, T, S, tr_gc = _score_parts(obj, state)
        ai = average_information(obj, state, working_variates(obj, state))
    if obj.vm.structured():   # nonlinear structures: AI plus the curvature of Sigma(theta), kept where PD
        observed = ai + curvature(obj, state, T, S)
        if np.linalg.eigvalsh(observed)[0] > 0:
            ai = observed
    return Derivatives(score=g, ai=ai, T=tuple(T), S=tuple(S), tr_ginv_c=tr_gc)


def em_update(obj: Objective, state: State, d: Derivatives) -> np.ndarray:
    """One EM step: Sigma_k = (S_k + T_k) / m_k, sigma2 = (e'e + sigma2 (p + q - tr(G^-1 C^zz))) / n."""
    s2 = state.sigma2
    sigmas = [(Sk + Tk) / t.m for t, Sk, Tk in zip(obj.vm.terms, d.S, d.T)]
    pat = obj.pattern
    res = obj.vm.residual
    if getattr(res, "multitrait", False):   # R0 by the EM update of a complete-data covariance (residual.traits)
        new = res.em_step(state.theta[obj.vm.residual_slice], d.score[obj.vm.residual_slice])
        return obj.vm.pack(sigmas, new[0], new[1:])
    if res.structured:   # sigma2 as the scale of R, the structure's parameters held
        s2_new = s2 * (state.params.quad_R(state.e) + obj.n_fixed + pat.q - d.tr_ginv_c) / pat.n
        return obj.vm.pack(sigmas, s2_new, obj.vm.residual_extra(state.theta))
    s2_new = (float(state.e @ state.e) + s2 * (obj.n_fixed + pat.q - d.tr_ginv_c)) / pat.n
    return obj.vm.pack(sigmas, s2_new)
