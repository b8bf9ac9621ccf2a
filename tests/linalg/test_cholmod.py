"""Factor (CHOLMOD wrapper) and its selected inverse against dense NumPy oracles."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from henderson.errors import NotPositiveDefiniteError
from henderson.linalg import Factor

ORDERINGS = ["amd", "metis", "best", "natural", "dense-last"]
RTOL = 1e-10


def random_spd(n, density, seed, n_zeros=3):
    """Random sparse SPD matrix (both triangles, sorted) with explicit zeros in its pattern."""
    rng = np.random.default_rng(seed)
    A = sp.random(n, n, density=density, random_state=rng, format="csc")
    A = (A + A.T).tocsc()
    A = (A + sp.identity(n) * (abs(A).sum(axis=1).max() + 1.0)).tocsc()
    A.sort_indices()
    off = np.flatnonzero(A.indices != np.repeat(np.arange(n), np.diff(A.indptr)))
    if off.size:
        cols = np.repeat(np.arange(n), np.diff(A.indptr))
        for q in rng.choice(off, size=min(n_zeros, off.size), replace=False):
            i, j = A.indices[q], cols[q]
            A[i, j] = 0.0
            A[j, i] = 0.0
    return with_pattern(A)


def with_pattern(A):
    """A in CSC with sorted indices, keeping explicit zeros."""
    A = sp.csc_matrix(A)
    A.sort_indices()
    return A


def mme_like(n_dense, n_sparse, seed):
    """Arrowhead-like SPD matrix: a few dense rows/columns bordering a large sparse block."""
    rng = np.random.default_rng(seed)
    B = sp.random(n_sparse, n_sparse, density=3.0 / n_sparse, random_state=rng)
    B = B + B.T + sp.diags(np.full(n_sparse, 8.0))
    X = sp.csc_matrix(rng.random((n_sparse, n_dense)) * (rng.random((n_sparse, n_dense)) < 0.6))
    top = sp.csc_matrix(X.T @ X + n_sparse * np.eye(n_dense))
    C = sp.bmat([[top, X.T], [X, B + sp.diags(np.asarray(abs(X).sum(axis=1)).ravel())]])
    return with_pattern(C)


def dense_check(C, f):
    """Assert selected_inverse, diag_inverse, logdet, solve of f agree with dense NumPy."""
    D = C.toarray()
    Dinv = np.linalg.inv(D)
    S = f.selected_inverse()
    assert np.array_equal(S.indptr, C.indptr) and np.array_equal(S.indices, C.indices)
    cols = np.repeat(np.arange(C.shape[0]), np.diff(C.indptr))
    scale = np.abs(Dinv).max()
    np.testing.assert_allclose(S.data, Dinv[C.indices, cols], rtol=RTOL, atol=RTOL * scale)
    np.testing.assert_allclose(f.diag_inverse(), np.diag(Dinv), rtol=RTOL)
    sign, logdet = np.linalg.slogdet(D)
    assert sign == 1.0
    np.testing.assert_allclose(f.logdet(), logdet, rtol=RTOL, atol=RTOL)
    b = np.arange(C.shape[0], dtype=float) - 2.0
    np.testing.assert_allclose(f.solve(b), np.linalg.solve(D, b), rtol=RTOL, atol=RTOL * scale)
    B = np.column_stack([b, np.ones_like(b)])
    x = f.solve(B)
    assert x.shape == B.shape
    np.testing.assert_allclose(x, np.linalg.solve(D, B), rtol=RTOL, atol=RTOL * scale)


@pytest.mark.parametrize("ordering", ORDERINGS)
@pytest.mark.parametrize("n,density", [(1, 1.0), (2, 0.5), (15, 0.2), (80, 0.05), (250, 0.02)])
def test_random_spd_against_dense(n, density, ordering):
    C = random_spd(n, density, seed=n)
    f = Factor.analyze(C, ordering=ordering)
    f.refactor(C)
    dense_check(C, f)


@pytest.mark.parametrize("mode", ["supernodal", "simplicial"])
def test_modes_against_dense(mode):
    C = random_spd(200, 0.05, seed=7)
    f = Factor.analyze(C, ordering="amd", mode=mode)
    f.refactor(C)
    dense_check(C, f)


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_mme_like_block_structure(ordering):
    C = mme_like(n_dense=6, n_sparse=300, seed=3)
    f = Factor.analyze(C, ordering=ordering)
    f.refactor(C)
    dense_check(C, f)


def test_large_supernodes_dense_matrix():
    rng = np.random.default_rng(5)
    M = rng.random((300, 300))  # one supernode wider than the 256-column chunk
    C = with_pattern(M @ M.T + 300 * np.eye(300))
    f = Factor.analyze(C, ordering="amd", mode="supernodal")
    f.refactor(C)
    dense_check(C, f)


def test_refactor_new_values_same_analysis():
    C = mme_like(n_dense=4, n_sparse=150, seed=11)
    f = Factor.analyze(C, ordering="amd")
    perm = f.perm
    f.refactor(C)
    S1 = f.selected_inverse().toarray()
    C2 = C.copy()
    C2.data = C2.data * np.linspace(1.0, 1.5, C2.nnz)
    C2 = with_pattern((C2 + C2.T) / 2 + sp.identity(C.shape[0]) * 20)  # symmetric, same pattern
    assert np.array_equal(C2.indices, C.indices)
    f.refactor(C2)
    assert f.perm is perm
    assert f.n_factorizations == 2
    dense_check(C2, f)
    assert not np.allclose(f.selected_inverse().toarray(), S1)


def test_refactor_rejects_other_pattern():
    C = random_spd(30, 0.1, seed=1)
    f = Factor.analyze(C)
    with pytest.raises(ValueError, match="pattern"):
        f.refactor(with_pattern(sp.identity(30)))


def test_not_positive_definite_names_column():
    C = random_spd(40, 0.1, seed=2)
    D = C.toarray()
    bad = 17
    D[bad, bad] = -abs(D[bad]).sum()  # makes the leading minor containing column 17 indefinite
    Cbad = sp.csc_matrix(C)
    Cbad.data = D[C.indices, np.repeat(np.arange(40), np.diff(C.indptr))]
    f = Factor.analyze(C, ordering="natural")
    f.refactor(C)
    with pytest.raises(NotPositiveDefiniteError, match="column 17") as info:
        f.refactor(Cbad)
    assert info.value.column == bad
    with pytest.raises(RuntimeError):
        f.solve(np.ones(40))
    f.refactor(C)  # the same analysis still factors a good matrix
    dense_check(C, f)


@pytest.mark.parametrize("mode", ["supernodal", "simplicial"])
def test_not_positive_definite_with_permutation(mode):
    C = random_spd(60, 0.08, seed=9)
    D = C.toarray()
    D[5, 5] = -1.0
    Cbad = sp.csc_matrix(C)
    Cbad.data = D[C.indices, np.repeat(np.arange(60), np.diff(C.indptr))]
    f = Factor.analyze(C, ordering="amd", mode=mode)
    with pytest.raises(NotPositiveDefiniteError) as info:
        f.refactor(Cbad)
    # the failing pivot is the first k of P C P' whose leading k x k block is not PD
    P = f.perm
    Dp = D[np.ix_(P, P)]
    k = next(k for k in range(1, 61) if np.linalg.eigvalsh(Dp[:k, :k]).min() <= 0) - 1
    assert info.value.column == P[k]


def test_nnz_L_and_perm():
    C = random_spd(100, 0.04, seed=4)
    f = Factor.analyze(C, ordering="amd")
    f.refactor(C)
    assert sorted(f.perm) == list(range(100))
    Dp = C.toarray()[np.ix_(f.perm, f.perm)]
    exact_nnz = np.count_nonzero(np.abs(np.linalg.cholesky(Dp)) > 0)
    assert f.nnz_L >= exact_nnz  # L's pattern includes the structural fill (and amalgamation)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 40),
    density=st.floats(0.0, 0.4),
    seed=st.integers(0, 2**31 - 1),
    ordering=st.sampled_from(ORDERINGS),
)
def test_property_selected_inverse(n, density, seed, ordering):
    C = random_spd(n, density, seed)
    f = Factor.analyze(C, ordering=ordering)
    f.refactor(C)
    dense_check(C, f)
