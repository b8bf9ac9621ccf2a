"""Structured covariances of random terms (henderson.structures): diag, cs, ar1.

Oracles: diag(Days | Subject) is lme4's (Days || Subject) (tests/reference/fits.json); cs and ar1
against a dense REML likelihood (V = Z (Sigma (x) I) Z' + sigma2 I, glmmTMB's definitions of the
structures) maximized by scipy; the score and AI matrix against numerical derivatives and the dense
formulas 1/2 y'P V_i P V_j P y.
"""
import numpy as np
import pandas as pd
import pytest
from oracles import reml_m2ll, reml_maximum

import henderson as hd
from henderson.errors import DesignError
from henderson.reml import derivatives
from henderson.structures import Structure


def _longitudinal(seed=3, n_sub=40, n_time=4):
    """Subjects x occasions (two records each) with AR(1)-correlated subject effects over the occasions;
    10% of the records missing."""
    rng = np.random.default_rng(seed)
    lag = np.abs(np.subtract.outer(np.arange(n_time), np.arange(n_time)))
    S = 4.0 * 0.6 ** lag * np.outer(np.linspace(1, 1.5, n_time), np.linspace(1, 1.5, n_time))
    u = rng.multivariate_normal(np.zeros(n_time), S, size=n_sub)
    sub = np.repeat(np.arange(n_sub), 2 * n_time)          # two records per subject and occasion
    time = np.tile(np.repeat(np.arange(n_time), 2), n_sub)
    y = 5 + 0.5 * time + u[sub, time] + rng.normal(0, 1.0, 2 * n_sub * n_time)
    keep = rng.random(len(y)) > 0.1          # some occasions missing
    return pd.DataFrame({"y": y, "id": [f"s{i}" for i in sub], "time": [f"t{t}" for t in time]})[keep]


def _dense_V(model, theta):
    t = model.vm.terms[0]
    S, s2 = model.vm.unpack(theta)
    Z = model.design.Z.toarray()
    return Z @ np.kron(S[0], np.eye(t.m)) @ Z.T + s2 * np.eye(len(model.design.y))


@pytest.fixture(scope="module")
def long_data():
    return _longitudinal()


@pytest.mark.parametrize("structure,q,params", [
    ("diag", 3, [1.0, 2.0, 3.0]),
    ("cs", 3, [1.0, 2.0, 3.0, 0.4]),
    ("ar1", 4, [2.0, -0.5]),
    ("us", 2, [1.0, 0.3, 2.0]),
])
def test_structure_sigma_and_derivative(structure, q, params):
    s = Structure(structure, q)
    p = np.array(params)
    S = s.sigma(p)
    if structure == "cs":
        sd = np.sqrt(p[:q])
        expect = p[q] * np.outer(sd, sd)
        np.fill_diagonal(expect, p[:q])
        np.testing.assert_allclose(S, expect)
    if structure == "ar1":
        np.testing.assert_allclose(S[0, 3], 2.0 * (-0.5) ** 3)
        np.testing.assert_allclose(np.diag(S), 2.0)
    np.testing.assert_allclose(s.project(S), p)           # project is exact on the family
    for j in range(s.n_params):
        h = 1e-6 * max(abs(p[j]), 1)
        e = np.zeros_like(p)
        e[j] = h
        num = (s.sigma(p + e) - s.sigma(p - e)) / (2 * h)
        np.testing.assert_allclose(s.derivative(p, j), num, atol=1e-7)
        for i in range(s.n_params):
            num2 = (s.derivative(p + e, i) - s.derivative(p - e, i)) / (2 * h)
            np.testing.assert_allclose(s.second_derivative(p, i, j), num2, atol=1e-6)
    np.testing.assert_allclose(s.from_sd_cor(s.to_sd_cor(p)), p)


def test_diag_equals_lme4_uncorrelated(data, fits_reference):
    ref = fits_reference["sleepstudy_uncorr"]["REML"]
    r = hd.fit("Reaction ~ Days + diag(1 + Days | Subject)", data("sleepstudy"))
    assert r.loglik == pytest.approx(ref["logLik"], rel=1e-9)
    np.testing.assert_allclose(r.variance_components["estimate"], ref["varcorr"]["vcov"], rtol=2e-5)
    np.testing.assert_allclose(r.fixed_effects["estimate"], ref["fixef"]["estimate"], rtol=1e-6)
    vc = r.variance_components
    assert list(vc["group"]) == ["Subject", "Subject", "Residual"] and list(vc["term1"][:2]) == ["(Intercept)", "Days"]
    assert r.covariance("Subject").shape == (2, 2) and r.covariance("Subject").iloc[0, 1] == 0.0


@pytest.mark.slow
@pytest.mark.parametrize("structure", ["cs", "ar1", "diag"])
def test_structure_reaches_dense_reml_maximum(long_data, structure):
    m = hd.Model(f"y ~ time + {structure}(0 + time | id)", long_data)
    r = m.fit()
    X, y = m.design.X.toarray(), m.design.y
    assert -0.5 * reml_m2ll(y, X, _dense_V(m, r.theta)) == pytest.approx(r.loglik, rel=1e-10)
    t = m.vm.terms[0]

    def V(x):
        S = t.cov.sigma(x[:-1])
        if x[-1] <= 0 or np.linalg.eigvalsh(S)[0] <= 0:
            return None
        return m.design.Z.toarray() @ np.kron(S, np.eye(t.m)) @ m.design.Z.toarray().T + x[-1] * np.eye(len(y))
    best, x = reml_maximum(y, X, V, np.asarray(r.theta) * 1.1)
    assert -0.5 * best == pytest.approx(r.loglik, abs=1e-7)
    np.testing.assert_allclose(r.theta, x, rtol=2e-3)


@pytest.mark.parametrize("structure", ["cs", "ar1", "diag"])
def test_structure_likelihood_equals_dense(long_data, structure):
    m = hd.Model(f"y ~ time + {structure}(0 + time | id)", long_data)
    theta = np.r_[{"diag": [1.0, 2.0, 3.0, 4.0], "cs": [1.0, 2.0, 3.0, 4.0, 0.3], "ar1": [3.0, 0.5]}[structure], 1.5]
    X, y = m.design.X.toarray(), m.design.y
    assert m.objective("REML")(theta) == pytest.approx(reml_m2ll(y, X, _dense_V(m, theta)), rel=1e-10)
    S = m.vm.unpack(theta)[0][0]
    if structure == "ar1":   # glmmTMB's ar1: v rho^|i-j|
        np.testing.assert_allclose(S, 3.0 * 0.5 ** np.abs(np.subtract.outer(range(4), range(4))))
    if structure == "cs":    # glmmTMB's cs: heterogeneous variances, one correlation
        np.testing.assert_allclose(S[3, 1], 0.3 * np.sqrt(2.0 * 4.0))


@pytest.mark.parametrize("structure", ["cs", "ar1", "diag"])
def test_structure_score_and_ai(long_data, structure):
    m = hd.Model(f"y ~ time + {structure}(0 + time | id)", long_data)
    obj = m.objective("REML")
    t = m.vm.terms[0]
    start = {"diag": [1.0, 2.0, 3.0, 4.0], "cs": [1.0, 2.0, 3.0, 4.0, 0.3], "ar1": [3.0, 0.5]}[structure]
    theta = np.r_[start, 1.5]
    d = derivatives(obj, obj.at(theta))
    num = np.zeros(len(theta))
    for i in range(len(theta)):
        e = np.zeros(len(theta))
        e[i] = 1e-5
        num[i] = (obj.at(theta + e).loglik - obj.at(theta - e).loglik) / 2e-5
    np.testing.assert_allclose(d.score, num, rtol=1e-5, atol=1e-6 * np.abs(num).max())
    Z, X, y = m.design.Z.toarray(), m.design.X.toarray(), m.design.y
    V = _dense_V(m, theta)
    dV = [Z @ np.kron(m.vm.derivative(0, j, theta), np.eye(t.m)) @ Z.T for j in range(t.n_params)]
    dV.append(np.eye(len(y)))
    Vi = np.linalg.inv(V)
    P = Vi - Vi @ X @ np.linalg.solve(X.T @ Vi @ X, X.T @ Vi)
    Py = P @ y
    ai = np.array([[0.5 * Py @ a @ P @ b @ Py for b in dV] for a in dV])
    # nonlinear structures: minus the score along d2 V / dtheta_i dtheta_j is added (when PD)
    r = len(theta)
    d2V = [[np.zeros((len(y), len(y))) for _ in range(r)] for _ in range(r)]
    for i in range(t.n_params):
        for j in range(t.n_params):
            d2V[i][j] = Z @ np.kron(t.cov.second_derivative(theta[:-1], i, j), np.eye(t.m)) @ Z.T
    corr = np.array([[-(-0.5 * np.sum(P * d2V[i][j]) + 0.5 * Py @ d2V[i][j] @ Py) for j in range(r)] for i in range(r)])
    if structure == "diag":
        assert np.all(corr == 0)
    expect = ai + corr if np.linalg.eigvalsh(ai + corr)[0] > 0 else ai
    np.testing.assert_allclose(d.ai, expect, rtol=1e-8, atol=1e-10 * np.abs(ai).max())
    assert structure == "diag" or not np.allclose(expect, ai)   # the correction is exercised


def test_structure_summary_confint_json(long_data):
    r = hd.fit("y ~ time + ar1(0 + time | id)", long_data)
    assert "rho" in r.summary() and '"rho"' in r.to_json()
    ci = r.confint()
    assert ci.loc["id/rho", "scale"] == "identity" and ci.loc["id/var", "scale"] == "log"
    assert r.correlations().empty


def test_structure_names_and_bad_input(long_data):
    m = hd.Model("y ~ time + ar1(0 + time | id)", long_data)
    assert m.vm.names() == ["id[var]", "id[rho]", "Residual"]
    m = hd.Model("y ~ time + cs(0 + time | id)", long_data)
    assert m.vm.names()[-2:] == ["id[rho]", "Residual"]
    with pytest.raises(DesignError, match="at least 2"):
        hd.Model("y ~ time + ar1(1 | id)", long_data)
    with pytest.raises(DesignError, match="cannot be combined"):
        hd.Model("y ~ time + cs(0 + time || id)", long_data)
    with pytest.raises(hd.NotPositiveDefiniteError, match="'id'"):
        m.fit(start={"id": [[1.0, 1.0, 1.0, 1.0, 1.5]], "Residual": 1.0})   # rho = 1.5: not PD
    with pytest.raises(DesignError, match="not of its cs structure"):
        m.fit(start={"id": np.diag([1.0, 2.0, 3.0, 4.0]) + 0.1 * np.eye(4)[::-1], "Residual": 1.0})
    with pytest.raises(DesignError, match="algorithm='ai'"):
        m.fit(algorithm="em")


def test_diag_em_equals_ai(data):
    ai = hd.fit("Reaction ~ Days + diag(1 + Days | Subject)", data("sleepstudy"))
    em = hd.fit("Reaction ~ Days + diag(1 + Days | Subject)", data("sleepstudy"), algorithm="em")
    np.testing.assert_allclose(em.theta, ai.theta, rtol=1e-4)
