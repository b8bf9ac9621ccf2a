"""The dense-last ordering: AMD on the sparse columns, dense ones last; estimates do not depend on it."""
import numpy as np
import pytest
import scipy.sparse as sp

import henderson as hd
from henderson.linalg import Factor, ordering
from henderson.linalg.cholmod import amd_permutation


def arrow(n_sparse, dense_degrees, seed):
    """SPD matrix: a sparse random block bordered by columns with the given numbers of entries."""
    rng = np.random.default_rng(seed)
    B = sp.random(n_sparse, n_sparse, density=2.0 / n_sparse, random_state=rng)
    cols = [sp.csc_matrix((np.ones(k), (rng.choice(n_sparse, k, replace=False), np.zeros(k, int))),
                          shape=(n_sparse, 1)) for k in dense_degrees]
    X = sp.hstack(cols)
    C = sp.bmat([[X.T @ X + 100 * sp.identity(len(cols)), X.T], [X, B + B.T + 50 * sp.identity(n_sparse)]])
    C = sp.csc_matrix(C)
    C.sort_indices()
    return C


def test_dense_columns_are_the_densest_few_in_increasing_degree():
    C = arrow(2000, [300, 100, 70, 500], seed=1)
    # 4 columns above DENSE_MIN, plus the sparse ones they touch: only the 4 borders have > 64 entries
    deg = np.diff(C.indptr)
    dense = ordering.dense_columns(C)
    assert list(dense) == [2, 1, 0, 3] and np.all(np.diff(deg[dense]) > 0)
    p = ordering.dense_last_order(C, amd_permutation)
    assert sorted(p) == list(range(C.shape[0])) and list(p[-4:]) == [2, 1, 0, 3]


def test_dense_columns_capped_at_a_fraction(monkeypatch):
    C = arrow(500, [100, 90, 80, 70], seed=2)   # 1% of 504 columns: 5 -> all 4; at 0.5%: the 2 densest
    assert ordering.dense_columns(C).size == 4
    monkeypatch.setattr(ordering, "DENSE_FRACTION", 0.005)
    assert list(ordering.dense_columns(C)) == [1, 0]


def test_dense_last_factor_equals_amd_factor():
    C = arrow(3000, [400, 200, 90], seed=3)
    a, d = Factor.analyze(C, "amd"), Factor.analyze(C, "dense-last")
    a.refactor(C), d.refactor(C)
    b = np.linspace(-1, 1, C.shape[0])
    np.testing.assert_allclose(d.solve(b), a.solve(b), rtol=1e-12)
    assert d.logdet() == pytest.approx(a.logdet(), rel=1e-13)
    np.testing.assert_allclose(d.diag_inverse(), a.diag_inverse(), rtol=1e-11)
    np.testing.assert_allclose(d.selected_inverse().toarray(), a.selected_inverse().toarray(), rtol=1e-10, atol=1e-16)
    assert list(d.perm[-3:]) == [2, 1, 0]
    with pytest.raises(ValueError, match="pattern"):
        d.refactor(sp.csc_matrix(sp.identity(C.shape[0])))


def test_orderings_leave_estimates_unchanged(monkeypatch):
    monkeypatch.setattr(ordering, "DENSE_MIN", 20)
    data, ped_frame, _ = hd.simulate(1000, n_generations=3, h2=0.3, seed=4)
    ped = hd.Pedigree.from_frame(ped_frame)
    fits = {}
    for o in ("dense-last", "amd", "natural"):
        m = hd.Model("y ~ hy + (1|id)", data, relationships={"id": ped}, ordering=o)
        fits[o] = m.fit()
        if o == "dense-last":
            assert ordering.dense_columns(m.pattern.values(m.theta({"id": 1.0, "Residual": 1.0}))).size > 0
            assert m.objective("REML").factor_kind == "Factor"
    ref = fits.pop("dense-last")
    for o, r in fits.items():
        assert r.loglik == pytest.approx(ref.loglik, rel=1e-10), o
        np.testing.assert_allclose(r.variance_components["estimate"], ref.variance_components["estimate"], rtol=1e-10)
        np.testing.assert_allclose(r.fixed_effects["estimate"], ref.fixed_effects["estimate"], rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(r.random_effects["id"]["ebv"], ref.random_effects["id"]["ebv"], atol=1e-10)
