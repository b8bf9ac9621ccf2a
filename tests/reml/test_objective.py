"""Objective: the one owner of the factorization state. Whatever theta the factor last held, solve,
diag_inverse and selected_inverse at theta equal dense NumPy on C(theta)."""
import numpy as np
import pytest

import henderson as hd


@pytest.fixture(scope="module")
def obj(data):
    return hd.Model("Reaction ~ Days + (Days|Subject)", data("sleepstudy")).objective("REML")


A = np.array([612.0, 9.6, 35.1, 655.0])
B = np.array([300.0, -5.0, 20.0, 900.0])


def test_factor_is_private(obj):
    assert not hasattr(obj, "factor")
    assert obj.factor_kind in ("Factor", "BlockFactor")


@pytest.mark.parametrize("order", [(A, B), (B, A)])
def test_queries_refactor_when_the_theta_differs(obj, order):
    first, second = order
    obj.at(first)
    C = obj.pattern.values(second).toarray()
    rhs = np.arange(C.shape[0], dtype=float)
    n0 = obj.n_factorizations
    np.testing.assert_allclose(obj.solve(second, rhs), np.linalg.solve(C, rhs), rtol=1e-9)
    np.testing.assert_allclose(obj.diag_inverse(second), np.diag(np.linalg.inv(C)), rtol=1e-9)
    S = obj.selected_inverse(second).toarray()
    on = obj.pattern.pattern.toarray() != 0
    np.testing.assert_allclose(S[on], np.linalg.inv(C)[on], rtol=1e-9, atol=1e-14)
    assert obj.n_factorizations == n0 + 1      # one refactorization for the three queries
    np.testing.assert_allclose(obj.solve(first, rhs),
                               np.linalg.solve(obj.pattern.values(first).toarray(), rhs), rtol=1e-9)
    assert obj.n_factorizations == n0 + 2


def test_state_carries_the_variance_parameters(obj):
    s = obj.at(A)
    assert s.sigma2 == 655.0
    np.testing.assert_allclose(s.params.sinv[0], np.linalg.inv([[612.0, 9.6], [9.6, 35.1]]), rtol=1e-13)
