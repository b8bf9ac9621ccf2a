"""Takahashi kernels on explicit Cholesky factors, against dense inv(L L')."""

import numpy as np
import pytest
import scipy.sparse as sp

from henderson.linalg import selinv


def filled_factor(D):
    """Return (Lp, Li, Lx): L = chol(D) stored on the symbolic filled pattern (CSC, sorted)."""
    n = D.shape[0]
    L = np.linalg.cholesky(D)
    struct = [None] * n
    parent_of = {}
    for j in range(n):
        rows = set((np.flatnonzero(D[j:, j]) + j).tolist())
        for k, p in parent_of.items():
            if p == j:
                rows |= {i for i in struct[k] if i >= j}
        struct[j] = sorted(rows)
        below = [i for i in struct[j] if i > j]
        if below:
            parent_of[j] = below[0]
    Lp = np.zeros(n + 1, np.int64)
    Lp[1:] = np.cumsum([len(s) for s in struct])
    Li = np.concatenate([np.array(s, np.int64) for s in struct])
    Lx = np.concatenate([L[s, j] for j, s in enumerate(struct)])
    return Lp, Li, Lx


@pytest.mark.parametrize("kind", ["dense", "tridiagonal", "arrow", "random"])
def test_takahashi_matches_dense_inverse(kind):
    rng = np.random.default_rng(0)
    n = 30
    if kind == "dense":
        M = rng.random((n, n))
        D = M @ M.T + n * np.eye(n)
    elif kind == "tridiagonal":
        D = np.diag(np.full(n, 4.0)) + np.diag(np.full(n - 1, -1.0), 1) + np.diag(np.full(n - 1, -1.0), -1)
    elif kind == "arrow":
        D = np.eye(n) * n
        D[-1, :] = D[:, -1] = 1.0
        D[-1, -1] = n
    else:
        M = sp.random(n, n, density=0.08, random_state=1).toarray()
        D = M + M.T + n * np.eye(n)
    Lp, Li, Lx = filled_factor(D)
    sup = selinv.find_supernodes(Lp, Li)
    zx = selinv.takahashi(Lp, Li, Lx, sup)
    Dinv = np.linalg.inv(D)
    cols = np.repeat(np.arange(n), np.diff(Lp))
    np.testing.assert_allclose(zx, Dinv[Li, cols], rtol=1e-10, atol=1e-12)


def test_find_supernodes_on_known_patterns():
    n = 6
    D = np.ones((n, n)) + n * np.eye(n)
    Lp, Li, _ = filled_factor(D)
    assert selinv.find_supernodes(Lp, Li).tolist() == [0, n]  # one dense supernode
    D = np.eye(n) * 2
    Lp, Li, _ = filled_factor(D)
    assert selinv.find_supernodes(Lp, Li).tolist() == list(range(n + 1))  # diagonal: singletons


def test_pattern_positions_maps_both_triangles():
    Lp = np.array([0, 3, 5, 6])
    Li = np.array([0, 1, 2, 1, 2, 2])
    C = sp.csc_matrix(np.array([[2.0, 1, 0], [1, 2, 1], [0, 1, 2]]))
    C.sort_indices()
    perm = np.array([2, 0, 1])  # row k of P C P' is row perm[k] of C
    pinv = np.empty(3, np.int64)
    pinv[perm] = np.arange(3)
    pos = selinv.pattern_positions(C.indptr, C.indices, pinv, Lp, Li)
    cols = np.repeat(np.arange(3), np.diff(C.indptr))
    for q in range(C.nnz):
        a, b = pinv[C.indices[q]], pinv[cols[q]]
        lo, hi = min(a, b), max(a, b)
        assert Li[pos[q]] == hi and Lp[lo] <= pos[q] < Lp[lo + 1]


@pytest.mark.parametrize("max_cols", [1, 3, 7, 1000])
def test_takahashi_chunked_supernodes(max_cols):
    rng = np.random.default_rng(2)
    n = 25
    M = rng.random((n, n))
    D = M @ M.T + n * np.eye(n)
    D[:10, 15:] = D[15:, :10] = 0.0  # a wide dense tail supernode below a sparse part
    Lp, Li, Lx = filled_factor(D)
    sup = selinv.find_supernodes(Lp, Li)
    zx = selinv.takahashi(Lp, Li, Lx, sup, max_cols)
    cols = np.repeat(np.arange(n), np.diff(Lp))
    np.testing.assert_allclose(zx, np.linalg.inv(D)[Li, cols], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("max_cols", [1, 3, 1000])
@pytest.mark.parametrize("blas_work", [0, 2**62])
def test_dense_root_and_both_products(max_cols, blas_work):
    """dpotri on a wide last supernode, and Z[R, R] products by BLAS or straight from zx."""
    rng = np.random.default_rng(3)
    n = 40
    M = sp.random(n, n, density=0.06, random_state=4).toarray()
    D = M + M.T + n * np.eye(n)
    B = rng.random((10, 10))
    D[30:, 30:] += B + B.T  # a dense last block
    D[25:, :8] = D[:8, 25:] = 0.5  # long rows R below the first columns
    Lp, Li, Lx = filled_factor(D)
    sup = selinv.find_supernodes(Lp, Li)
    cols = np.repeat(np.arange(n), np.diff(Lp))
    expected = np.linalg.inv(D)[Li, cols]
    np.testing.assert_allclose(selinv.takahashi(Lp, Li, Lx, sup, max_cols, blas_work), expected,
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(selinv.selected_inverse_values(Lp, Li, Lx, sup, max_cols), expected,
                               rtol=1e-10, atol=1e-12)
