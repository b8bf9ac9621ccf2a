"""Aliased columns of a large sparse X without dense p x p work.

Column j of X is aliased when it is a linear combination of columns 0..j-1. That
set depends only on the null space N of X: j is aliased exactly when some v in N
has v_j != 0 and v_k = 0 for every k > j, i.e. when P e_j is not in the span of
{P e_k : k > j} (P the orthogonal projector onto N). So any basis of N, reduced
from the last column backwards, gives the aliased set, whatever elimination order
found N. Here N comes from one sparse Cholesky factorization, in a fill-reducing
order, of the column-scaled ridge matrix

    C = D^-1/2 X'X D^-1/2 + eps I,   D = diag(X'X),

for which eps C^-1 = P + O(eps / lambda_min(nonzero)): columns with a large
eps (C^-1)_jj form the small candidate set S, and the null basis is read from
eps C^-1[S, S]. Dense work is |S| x |S| only (S = columns touching a dependency).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..errors import NotPositiveDefiniteError
from ..linalg import Factor

RIDGE = 1e-10          # eps relative to the unit diagonal of the scaled X'X
CANDIDATE = 1e-6       # eps (C^-1)_jj above this: column j may touch the null space


def _scaled_gram(X: sp.csc_matrix) -> tuple[sp.csc_matrix, np.ndarray]:
    """D^-1/2 X'X D^-1/2 (CSC, sorted) and the indices of zero columns (aliased with anything)."""
    A = sp.csc_matrix(X.T @ X)
    d = A.diagonal()
    zero = np.flatnonzero(d <= 0)
    s = np.where(d > 0, 1.0 / np.sqrt(np.where(d > 0, d, 1.0)), 0.0)
    A = sp.csc_matrix(sp.diags(s) @ A @ sp.diags(s))
    A = A + sp.diags(np.where(d > 0, 0.0, 1.0))   # zero columns: unit diagonal, handled separately
    A = sp.csc_matrix(A)
    A.sort_indices()
    return A, zero


def _ridge_factor(A: sp.csc_matrix, eps: float) -> Factor:
    C = sp.csc_matrix(A + eps * sp.identity(A.shape[0], format="csc"))
    C.sort_indices()
    f = Factor.analyze(C, ordering="amd")
    f.refactor(C)
    return f


def _null_basis(f: Factor, S: np.ndarray, p: int, eps: float) -> np.ndarray:
    """Orthonormal basis (|S| x d) of the null space restricted to S, from eps C^-1[S, S] ~ P[S, S]."""
    E = np.zeros((p, len(S)))
    E[S, np.arange(len(S))] = 1.0
    B = eps * f.solve(E)[S]
    B = 0.5 * (B + B.T)
    w, U = np.linalg.eigh(B)
    return U[:, w > 0.5]


def _right_echelon_pivots(Q: np.ndarray, tol: float) -> list[int]:
    """Rows j of Q (scanned last to first) not in the span of the rows after them."""
    d = Q.shape[1]
    basis = np.zeros((0, d))
    out = []
    for j in range(Q.shape[0] - 1, -1, -1):
        r = Q[j] - basis.T @ (basis @ Q[j]) if len(basis) else Q[j].copy()
        nr = np.linalg.norm(r)
        if nr > tol:
            out.append(j)
            basis = np.vstack([basis, r / nr])
            if len(basis) == d:
                break
    return out


def aliased_columns_sparse(X: sp.spmatrix, tol: float = 1e-7) -> np.ndarray:
    """Indices (ascending) of columns of X that are linear combinations of earlier columns.

    Same result as the dense greedy method for exact dependencies; near-dependencies
    count when the scaled X'X has an eigenvalue below about RIDGE (``tol`` sets the
    threshold of the backward reduction). Zero columns are always aliased.
    """
    X = sp.csc_matrix(X, dtype=float)
    p = X.shape[1]
    if p == 0:
        return np.zeros(0, dtype=np.int64)
    A, zero = _scaled_gram(X)
    eps = RIDGE
    for _ in range(4):
        try:
            f = _ridge_factor(A, eps)
            break
        except NotPositiveDefiniteError:
            eps *= 100.0
    else:
        raise NotPositiveDefiniteError("X'X + ridge could not be factorized while looking for aliased columns")
    score = eps * f.diag_inverse()
    score[zero] = 0.0
    S = np.flatnonzero(score > CANDIDATE)
    out = set(zero.tolist())
    if len(S):
        Q = _null_basis(f, S, p, eps)
        if Q.shape[1]:
            out.update(int(S[j]) for j in _right_echelon_pivots(Q, max(tol, 1e-6)))
    return np.array(sorted(out), dtype=np.int64)
