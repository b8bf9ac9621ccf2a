"""Covariances of the estimates and their derivatives with respect to theta.

    Var(b) = (X'V^-1X)^-1 = C^-1[fixed block]
    d C^-1 / d theta_j = -C^-1 (dC/dtheta_j) C^-1
    dC/dtheta_j = (-Sigma_k^-1 E_j Sigma_k^-1) (x) K_k^-1   on term k's block,
    dC/dsigma2  = -W'W / sigma2^2

so that, with X_L = C^-1 [L'; 0],  d(L Var(b) L')/dtheta_j = -X_L' (dC/dtheta_j) X_L.
The covariance of theta is the inverse observed information, the Hessian of the
log-likelihood taken by central differences of the exact (analytic) score.
"""
from __future__ import annotations

import numpy as np

from ..reml.derivatives import score

CHUNK = 256  # right-hand sides per sparse solve when only diagonals are wanted


def solve_fixed(obj, theta, Lt: np.ndarray) -> np.ndarray:
    """X_L = C^-1 [L'; 0] for L' given as p x m."""
    rhs = np.zeros((obj.pattern.size, Lt.shape[1]))
    rhs[:obj.pattern.p] = Lt
    return obj.solve(theta, rhs)


def _dC_quadratic(obj, theta, XL: np.ndarray, XR: np.ndarray) -> list[np.ndarray]:
    """[XL' (dC/dtheta_j) XR for every j] (m_L x m_R each)."""
    vm, pat = obj.vm, obj.pattern
    params = vm.at(theta)
    sinv = params.sinv
    out = []
    for k, t in enumerate(vm.terms):
        sl = pat.term_slice(k)
        A = XL[sl].reshape(t.q, t.m, -1)
        B = XR[sl].reshape(t.q, t.m, -1)
        KB = B if t.Kinv is None else np.stack([t.Kinv @ B[b] for b in range(t.q)])
        cross = np.einsum("aim,bin->abmn", A, KB)  # A_a' K^-1 B_b
        for j in range(t.n_params):
            D = -sinv[k] @ vm.derivative(k, j, theta) @ sinv[k]
            out.append(np.einsum("ab,abmn->mn", D, cross))
    WL, WR = pat.W @ XL, pat.W @ XR
    res = vm.residual   # dC/dtheta_j = -W'R^-1 dR_j R^-1 W
    if res.structured:
        QL, QR = params.apply_rinv(WL), params.apply_rinv(WR)
        out += [-(QL.T @ params.residual.derivative_times(j, QR)) for j in range(res.n_params)]
    else:
        out += [-res.derivative(j) * params.rinv_scale**2 * (WL.T @ WR) for j in range(res.n_params)]
    return out


def contrast_variance(obj, theta, L: np.ndarray) -> np.ndarray:
    """L Var(b) L' at theta (refactoring C there)."""
    L = np.atleast_2d(np.asarray(L, dtype=float))
    M = L @ solve_fixed(obj, theta, L.T)[:obj.pattern.p]
    return 0.5 * (M + M.T)


def contrast_covariance(obj, theta, L: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """L Var(b) L' and its derivatives d(L Var(b) L')/dtheta_j, j = 1..len(theta)."""
    L = np.atleast_2d(np.asarray(L, dtype=float))
    XL = solve_fixed(obj, theta, L.T)
    M = L @ XL[:obj.pattern.p]
    grads = [-0.5 * (G + G.T) for G in _dC_quadratic(obj, theta, XL, XL)]
    return 0.5 * (M + M.T), grads


def coefficient_variances(obj, theta) -> tuple[np.ndarray, np.ndarray]:
    """diag Var(b) (p) and its Jacobian d diag Var(b) / d theta (p x r) (see coefficient_covariance)."""
    V, jac = coefficient_covariance(obj, theta)
    return np.diag(V).copy(), jac


def coefficient_covariance(obj, theta) -> tuple[np.ndarray, np.ndarray]:
    """Var(b) = C^-1[fixed block] (p x p) and the Jacobian d diag Var(b) / d theta (p x r), from the
    same p solves C^-1 [I; 0] (in chunks of CHUNK columns)."""
    p = obj.pattern.p
    r = len(theta)
    V, jac = np.zeros((p, p)), np.zeros((p, r))
    vm, pat = obj.vm, obj.pattern
    params = vm.at(theta)
    sinv = params.sinv
    for start in range(0, p, CHUNK):
        idx = np.arange(start, min(start + CHUNK, p))
        Lt = np.zeros((p, len(idx)))
        Lt[idx, np.arange(len(idx))] = 1.0
        XL = solve_fixed(obj, theta, Lt)
        V[:, idx] = XL[:p]
        col = 0
        for k, t in enumerate(vm.terms):
            A = XL[pat.term_slice(k)].reshape(t.q, t.m, -1)
            KA = A if t.Kinv is None else np.stack([t.Kinv @ A[b] for b in range(t.q)])
            cross = np.einsum("aim,bim->abm", A, KA)
            for j in range(t.n_params):
                D = -sinv[k] @ vm.derivative(k, j, theta) @ sinv[k]
                jac[idx, col] = -np.einsum("ab,abm->m", D, cross)
                col += 1
        WX = pat.W @ XL
        if vm.residual.structured:
            Q = params.apply_rinv(WX)
            for j in range(vm.residual.n_params):
                jac[idx, col + j] = np.einsum("im,im->m", Q, params.residual.derivative_times(j, Q))
            continue
        for j in range(vm.residual.n_params):
            jac[idx, col + j] = vm.residual.derivative(j) * params.rinv_scale**2 * np.einsum("im,im->m", WX, WX)
    return 0.5 * (V + V.T), jac


def _steps(obj, theta: np.ndarray, rel: float) -> np.ndarray:
    """Finite-difference step per parameter: rel times its scale (covariances: sqrt of the two variances)."""
    return np.maximum(rel * obj.vm.param_scales(theta), 1e-300)


def _pair(obj, theta: np.ndarray, j: int, h: float, halvings: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """theta +- h e_j, h halved until both are admissible (near a singular covariance block the first
    step can leave the positive definite cone)."""
    for _ in range(halvings):
        tp, tm = theta.copy(), theta.copy()
        tp[j] += h
        tm[j] -= h
        if obj.vm.is_admissible(tp) and obj.vm.is_admissible(tm):
            break
        h *= 0.5
    return tp, tm


def observed_information(obj, theta, free: np.ndarray | None = None, rel: float = 1e-4) -> np.ndarray:
    """-d2 l / dtheta dtheta' over the free parameters, by central differences of the analytic score."""
    theta = np.asarray(theta, dtype=float)
    free = np.ones(len(theta), bool) if free is None else np.asarray(free, bool)
    h = _steps(obj, theta, rel)
    idx = np.flatnonzero(free)
    H = np.zeros((len(idx), len(idx)))
    for c, j in enumerate(idx):
        tp, tm = _pair(obj, theta, j, h[j])
        gp = score(obj, obj.at(tp))[idx]
        gm = score(obj, obj.at(tm))[idx]
        H[:, c] = (gp - gm) / (tp[j] - tm[j])
    return -0.5 * (H + H.T)


def theta_covariance(obj, theta, free: np.ndarray | None = None) -> np.ndarray:
    """Inverse observed information, NaN rows/columns for parameters that are not free (on the boundary)."""
    theta = np.asarray(theta, dtype=float)
    free = np.ones(len(theta), bool) if free is None else np.asarray(free, bool)
    out = np.full((len(theta), len(theta)), np.nan)
    if free.any():
        info = observed_information(obj, theta, free)
        try:
            out[np.ix_(free, free)] = np.linalg.inv(info)
        except np.linalg.LinAlgError:
            out[np.ix_(free, free)] = np.linalg.pinv(info)
    return out
