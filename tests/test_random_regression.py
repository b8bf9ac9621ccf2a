"""Random regression on Legendre polynomials: leg(x, k), (leg(dim, 2) | id) with a pedigree,
daily heritabilities and eigenfunctions (a small simulated test-day data set of benchmarks/testday.py).

Oracles: the polynomials' closed forms and orthonormality on [-1, 1]; the REML likelihood against a
dense V = sum_k Z_k (K_k (x) A_k) Z_k' + sigma2 I; the score against numerical derivatives; h2(t)
and the eigen-decomposition against NumPy.
"""
import numpy as np
import pandas as pd
import pytest
from oracles import reml_m2ll, tabular_a

import henderson as hd
from benchmarks.testday import FORMULA, simulate_testday
from henderson.formula.legendre import legendre_matrix, standardize
from henderson.reml import derivatives


def test_legendre_closed_forms_and_orthonormality():
    t = np.array([-1.0, -0.3, 0.0, 0.5, 1.0])
    P = legendre_matrix(t, 3)
    np.testing.assert_allclose(P[:, 0], np.sqrt(0.5))
    np.testing.assert_allclose(P[:, 1], np.sqrt(1.5) * t)
    np.testing.assert_allclose(P[:, 2], np.sqrt(2.5) * (3 * t**2 - 1) / 2)
    np.testing.assert_allclose(P[:, 3], np.sqrt(3.5) * (5 * t**3 - 3 * t) / 2)
    x, w = np.polynomial.legendre.leggauss(10)
    Q = legendre_matrix(x, 4)
    np.testing.assert_allclose(Q.T @ (w[:, None] * Q), np.eye(5), atol=1e-12)
    np.testing.assert_allclose(standardize([5, 155, 305], 5, 305), [-1, 0, 1])


@pytest.fixture(scope="module")
def testday():
    data, ped = simulate_testday(60, 5, seed=4)
    P = hd.Pedigree.from_frame(ped)
    m = hd.Model("y ~ htd + leg(dim, 2) + (leg(dim, 2) | id) + (leg(dim, 2) | pe)", data, relationships={"id": P})
    return data, ped, m


def _dense_A(ped, levels):
    idx = {v: i for i, v in enumerate(ped["id"])}
    sire = np.array([idx.get(s, -1) for s in ped["sire"]])
    dam = np.array([idx.get(d, -1) for d in ped["dam"]])
    order = pd.Index(ped["id"]).get_indexer(levels)
    return tabular_a(sire, dam)[np.ix_(order, order)]


def test_rr_design_and_likelihood_equal_dense(testday):
    data, ped, m = testday
    t = m.design.term("id")
    assert t.effects == ("leg(dim, 2)0", "leg(dim, 2)1", "leg(dim, 2)2")   # phi_0 is the intercept
    row = data.index[0]
    phi = legendre_matrix(standardize([data.loc[row, "dim"]], data.dim.min(), data.dim.max()), 2)[0]
    col = t.levels.get_loc(data.loc[row, "id"])
    np.testing.assert_allclose(t.Z.toarray()[0, [col, col + t.m, col + 2 * t.m]], phi)
    Kg = np.array([[3.0, 0.4, -0.3], [0.4, 0.6, 0.05], [-0.3, 0.05, 0.3]])
    Kp = np.array([[2.0, 0.1, 0.0], [0.1, 0.5, 0.0], [0.0, 0.0, 0.2]])
    theta = m.theta({"id": Kg, "pe": Kp, "Residual": 2.0})
    A = _dense_A(ped, t.levels)
    Zg, Zp = t.Z.toarray(), m.design.term("pe").Z.toarray()
    mp = m.design.term("pe").m
    V = Zg @ np.kron(Kg, A) @ Zg.T + Zp @ np.kron(Kp, np.eye(mp)) @ Zp.T + 2.0 * np.eye(len(m.design.y))
    assert m.objective("REML")(theta) == pytest.approx(reml_m2ll(m.design.y, m.design.X.toarray(), V), rel=1e-10)
    obj = m.objective("REML")
    d = derivatives(obj, obj.at(theta))
    num = np.array([(obj.at(theta + e).loglik - obj.at(theta - e).loglik) / 2e-5 for e in np.eye(len(theta)) * 1e-5])
    np.testing.assert_allclose(d.score, num, rtol=1e-4, atol=1e-6 * np.abs(num).max())


def test_rr_fit_daily_heritability_and_eigen(testday):
    data, ped, m = testday
    r = m.fit()
    assert r.converged
    days = [5, 100, 200, 305]
    h = r.daily_heritability({"dim": days})
    Phi = legendre_matrix(standardize(days, data.dim.min(), data.dim.max()), 2)
    Kg, Kp = r.covariance("id").to_numpy(), r.covariance("pe").to_numpy()
    vg = np.einsum("ia,ab,ib->i", Phi, Kg, Phi)
    vp = np.einsum("ia,ab,ib->i", Phi, Kp, Phi)
    np.testing.assert_allclose(h["var(id)"], vg)
    np.testing.assert_allclose(h["h2"], vg / (vg + vp + r.sigma2))
    assert np.all(h["h2_std_error"] > 0)
    e = r.eigen("id")
    np.testing.assert_allclose(e["eigenvalue"], np.sort(np.linalg.eigvalsh(Kg))[::-1])
    V = e[list(r.covariance("id").columns)].to_numpy()
    np.testing.assert_allclose(V.T @ np.diag(e["eigenvalue"]) @ V, Kg, atol=1e-10)


@pytest.mark.slow
def test_rr_testday_with_nested_curves_recovers_simulated_covariances():
    data, ped = simulate_testday(400, 10, seed=2)
    r = hd.fit(FORMULA, data, relationships={"id": hd.Pedigree.from_frame(ped)})
    assert r.converged
    assert r.sigma2 == pytest.approx(2.0, rel=0.1)
    assert r.covariance("pe").iloc[0, 0] == pytest.approx(4.0, rel=0.35)
