"""Many independent PCG solves C X = B run side by side: one product C X per round for all the columns.

Each column has its own step lengths (it is r independent CG runs, not block CG), with a diagonal
preconditioner; a column stops moving once ||b - C x||^2 / ||b||^2 < tol (true residual, checked
as in henderson.linalg.pcg). The product of C with an n x r matrix costs about as much memory
traffic as r products with vectors but runs as sparse-times-dense kernels, so the probes of
Monte Carlo REML share their passes over the data and the pedigree.
"""
from __future__ import annotations

import numpy as np

from .pcg import MAX_ITER, RECOMPUTE, TOL


def mme_matmat(op, X: np.ndarray) -> np.ndarray:
    """C X for the MMEOperator ``op`` with random terms of one effect each (X: size x r)."""
    out = (op.Wt @ (op.W @ X)) * op.rinv_scale
    for t, S in zip(op.terms, op.sinv):
        sl = slice(t.offset, t.offset + t.m)
        out[sl] += S[0, 0] * (X[sl] if t.kinv is None else t.kinv.apply(X[sl]))
    return out


def pcg_columns(matmat, B: np.ndarray, dinv: np.ndarray, X0: np.ndarray | None = None, tol: float = TOL,
                max_iter: int = MAX_ITER, recompute: int = RECOMPUTE):
    """Solve C x_j = b_j for every column by PCG with the diagonal preconditioner ``dinv`` (= diag(M)^-1).
    Returns (X, rounds, converged per column)."""
    B = np.asarray(B, dtype=np.float64)
    bb = np.einsum("ij,ij->j", B, B)
    bb = np.where(bb > 0, bb, 1.0)
    X = np.zeros_like(B) if X0 is None else np.array(X0, dtype=np.float64)
    R = B - matmat(X) if X0 is not None else B.copy()
    Z = dinv[:, None] * R
    D = Z.copy()
    rz = np.einsum("ij,ij->j", R, Z)
    crit = np.einsum("ij,ij->j", R, R) / bb
    active = crit >= tol
    k = 0
    while k < max_iter and active.any():
        k += 1
        CD = matmat(D)
        dcd = np.einsum("ij,ij->j", D, CD)
        alpha = np.where(active, rz / np.where(dcd != 0, dcd, 1.0), 0.0)
        X += alpha * D
        R -= alpha * CD
        crit = np.einsum("ij,ij->j", R, R) / bb
        if k % recompute == 0 or (active & (crit < tol)).any():
            R = B - matmat(X)      # the recurrence says converged (or drifts): the true residual
            crit = np.einsum("ij,ij->j", R, R) / bb
        active = crit >= tol
        Z = dinv[:, None] * R
        rz_new = np.einsum("ij,ij->j", R, Z)
        beta = np.where(active, rz_new / np.where(rz != 0, rz, 1.0), 0.0)
        D = Z + beta * D
        rz = rz_new
    return X, k, ~active
