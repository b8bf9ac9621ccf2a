"""Aliased fixed-effect columns: dense greedy method, sparse method (p > 3000 path) and an independent oracle.

Oracle: column j is aliased iff rank(X[:, :j+1]) == rank(X[:, :j]), computed by
the Householder QR of the dense X without pivoting (|R_jj|), with R's tolerance 1e-7
on the residual norm relative to the column norm.
"""
import numpy as np
import pytest
import scipy.sparse as sp

from henderson.formula import fixed
from henderson.formula.fixed import aliased_columns
from henderson.formula.rank import aliased_columns_sparse


def qr_aliased(X: np.ndarray, tol: float = 1e-7) -> np.ndarray:
    """|R_jj| of the Householder QR of X (no pivoting) is the distance of x_j from span(x_0..x_j-1)."""
    R = np.linalg.qr(X, mode="r")
    norms = np.linalg.norm(X, axis=0)
    return np.flatnonzero(np.abs(np.diag(R)) <= tol * norms).astype(np.int64)


def indicators(codes, k):
    return sp.csc_matrix((np.ones(len(codes)), (np.arange(len(codes)), codes)), shape=(len(codes), k))


def medium_case(seed, n=2000, k1=180, k2=120, ncov=4, dependencies=True, shuffle=False):
    """Intercept, covariates and two factors (treatment coded), plus columns that are combinations of earlier ones."""
    rng = np.random.default_rng(seed)
    f1, f2 = rng.integers(0, k1, n), rng.integers(0, k2, n)
    cov = rng.normal(size=(n, ncov))
    I1, I2 = indicators(f1, k1), indicators(f2, k2)
    blocks = [sp.csc_matrix(np.column_stack([np.ones(n), cov])), I1[:, 1:], I2[:, 1:]]
    if dependencies:
        blocks += [
            sp.csc_matrix(2 * cov[:, :1] - cov[:, 1:2]),               # combination of covariates
            I1[:, 5] + I1[:, 7],                                       # two levels together
            I2,                                                        # a factor coded again in full
            sp.csc_matrix((f1 % 3 == 0).astype(float)[:, None]),       # a grouping of f1's levels
            sp.csc_matrix((n, 1)),                                     # a zero column
            sp.csc_matrix(cov[:, 2:3] * 1e-3),                         # a rescaled duplicate
        ]
    X = sp.hstack(blocks, format="csc")
    if shuffle:
        X = X[:, rng.permutation(X.shape[1])]
    return X


@pytest.mark.parametrize("seed,shuffle", [(0, False), (1, True), (2, True)])
def test_dense_and_sparse_equal_oracle(seed, shuffle):
    X = medium_case(seed, shuffle=shuffle)
    assert 400 < X.shape[1] < 600
    expected = qr_aliased(X.toarray())
    assert len(expected) > 100
    np.testing.assert_array_equal(aliased_columns(X), expected)
    np.testing.assert_array_equal(aliased_columns_sparse(X), expected)


def test_full_rank_has_no_aliased_columns():
    X = medium_case(3, dependencies=False)
    assert len(qr_aliased(X.toarray())) == 0
    assert len(aliased_columns(X)) == 0
    assert len(aliased_columns_sparse(X)) == 0


def test_order_decides_which_column_goes():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=50), rng.normal(size=50)
    X = sp.csc_matrix(np.column_stack([np.ones(50), a, b, a + b, 3 * a]))
    for method in (aliased_columns, aliased_columns_sparse):
        np.testing.assert_array_equal(method(X), [3, 4])
        np.testing.assert_array_equal(method(X[:, [0, 3, 1, 2, 4]]), [3, 4])   # now b is a combination


def test_exactly_dependent_column_with_roundoff_pivot_is_aliased():
    """Regression: an exact dependency whose Gram pivot is roundoff (1.6e-14 relative) was kept."""
    X = medium_case(0, n=3000, k1=200, k2=150, ncov=5)
    expected = qr_aliased(X.toarray())
    np.testing.assert_array_equal(aliased_columns(X), expected)


def test_dispatch_to_sparse_above_3000_columns(monkeypatch):
    import henderson.formula.rank as rank
    calls = []
    monkeypatch.setattr(rank, "aliased_columns_sparse", lambda X, tol: calls.append(X.shape) or np.zeros(0, int))
    aliased_columns(sp.identity(3001, format="csc"))
    assert calls == [(3001, 3001)]


def test_full_rank_gram_by_one_cholesky_agrees_with_the_greedy_elimination(monkeypatch):
    rng = np.random.default_rng(5)
    levels = rng.integers(0, 40, 400)
    X = sp.csc_matrix(np.column_stack([np.ones(400), levels[:, None] == np.arange(1, 40), rng.normal(size=400)]))
    dependent = sp.hstack([X, X[:, [0]] - X[:, [1]]], format="csc")     # last column aliased
    fast = [fixed.aliased_columns(M) for M in (X, dependent)]
    monkeypatch.setattr(fixed, "_full_rank", lambda *a: False)          # the greedy elimination alone
    assert [list(a) for a in fast] == [list(fixed.aliased_columns(M)) for M in (X, dependent)] == [[], [41]]
