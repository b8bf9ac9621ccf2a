"""Score, average information and EM update against numerical derivatives and dense formulas.

    score_i = dl/dtheta_i  (central differences of Objective.at(theta).loglik)
    AI_ij   = 1/2 y'P V_i P V_j P y,   V_i = dV/dtheta_i,  P = V^-1 - V^-1X(X'V^-1X)^-1X'V^-1
              (the same formula for REML and ML: the mean of observed and expected information)
    AI      ~ -Hessian of l at the optimum (an approximation)
    EM      never decreases l
"""
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import henderson as hd
from henderson.reml import derivatives, em_update, start_values


def _kinv_case():
    rng = np.random.default_rng(7)
    n_id, n = 40, 120
    ids = np.array([f"id{i}" for i in range(n_id)])
    B = np.tril(rng.normal(size=(n_id, n_id)) * (rng.random((n_id, n_id)) < 0.1), -1)
    K = (np.eye(n_id) + B) @ (np.eye(n_id) + B).T
    recorded = rng.choice(ids[:35], size=n)
    df = pd.DataFrame({"id": recorded, "x": rng.normal(size=n), "herd": rng.choice(["h1", "h2", "h3"], n)})
    u = np.linalg.cholesky(K) @ rng.normal(size=n_id) * 1.5
    df["y"] = 10 + df.x + pd.Series(u, index=ids).loc[df.id].to_numpy() + rng.normal(size=n)
    return hd.Model("y ~ x + herd + (1|id)", df, relationships={"id": (sp.csc_matrix(np.linalg.inv(K)), ids)})


@pytest.fixture(scope="module")
def models(data):
    return {
        "sleepstudy": hd.Model("Reaction ~ Days + (Days|Subject)", data("sleepstudy")),
        "Penicillin": hd.Model("diameter ~ 1 + (1|plate) + (1|sample)", data("Penicillin")),
        "kinv": _kinv_case(),
    }


CASES = [(name, method) for name in ("sleepstudy", "Penicillin", "kinv") for method in ("REML", "ML")]


def _away_from_optimum(model, method):
    """A theta that is not the optimum: start values (moment estimates can be close to the optimum,
    so variances are scaled by 1.6, 0.6, 1.6, ...), with a covariance for q > 1 terms."""
    obj = model.objective(method)
    theta = start_values(obj) * np.resize([1.6, 0.6], len(start_values(obj)))
    pos = 0
    for t in obj.vm.terms:
        if t.q > 1:
            sig = theta[pos:pos + t.n_params]
            # lower triangle row by row: s11, s21, s22 -> put a covariance of 0.3 * sqrt(s11 s22)
            theta[pos + 1] = 0.3 * np.sqrt(sig[0] * sig[2])
        pos += t.n_params
    return theta


def _loglik(obj, theta):
    return obj.at(np.asarray(theta, float)).loglik


def numerical_score(obj, theta, rel=1e-5):
    g = np.zeros(len(theta))
    for i in range(len(theta)):
        h = rel * max(abs(theta[i]), 1e-3 * np.abs(theta).max())
        e = np.zeros(len(theta))
        e[i] = h
        g[i] = (_loglik(obj, theta + e) - _loglik(obj, theta - e)) / (2 * h)
    return g


def numerical_hessian(obj, theta, rel=1e-4):
    k = len(theta)
    h = rel * np.maximum(np.abs(theta), 1e-3 * np.abs(theta).max())
    H = np.zeros((k, k))
    f0 = _loglik(obj, theta)
    for i in range(k):
        for j in range(i, k):
            ei, ej = np.zeros(k), np.zeros(k)
            ei[i], ej[j] = h[i], h[j]
            if i == j:
                H[i, i] = (_loglik(obj, theta + ei) - 2 * f0 + _loglik(obj, theta - ei)) / h[i] ** 2
            else:
                H[i, j] = H[j, i] = (_loglik(obj, theta + ei + ej) - _loglik(obj, theta + ei - ej)
                                     - _loglik(obj, theta - ei + ej) + _loglik(obj, theta - ei - ej)
                                     ) / (4 * h[i] * h[j])
    return H


def dense_pieces(model, theta):
    """V, dV/dtheta_i (list), P and V^-1 by dense algebra from the design and the variance model."""
    X, Z, y = model.design.X.toarray(), model.design.Z.toarray(), model.design.y
    vm = model.vm
    sigmas, s2 = vm.unpack(theta)
    Ks = [np.eye(t.m) if t.Kinv is None else np.linalg.inv(t.Kinv.toarray()) for t in vm.terms]
    offs = np.cumsum([0] + [t.q * t.m for t in vm.terms])

    def zgz(k, S):
        Zk = Z[:, offs[k]:offs[k + 1]]
        return Zk @ np.kron(S, Ks[k]) @ Zk.T

    n = len(y)
    V = s2 * np.eye(n) + sum(zgz(k, S) for k, S in enumerate(sigmas))
    dV = [zgz(k, vm.derivative(k, j, theta)) for k, t in enumerate(vm.terms) for j in range(t.n_params)]
    dV.append(np.eye(n))
    Vi = np.linalg.inv(V)
    P = Vi - Vi @ X @ np.linalg.solve(X.T @ Vi @ X, X.T @ Vi)
    return dict(V=V, dV=dV, P=P, Vi=Vi, y=y)


@pytest.mark.parametrize("name,method", CASES)
def test_score_equals_numerical_derivative(models, name, method):
    model = models[name]
    obj = model.objective(method)
    theta = _away_from_optimum(model, method)
    d = derivatives(obj, obj.at(theta))
    num = numerical_score(obj, theta)
    np.testing.assert_allclose(d.score, num, rtol=1e-5, atol=1e-6 * np.abs(num).max())


@pytest.mark.parametrize("name,method", CASES)
def test_score_and_ai_equal_dense_formulas(models, name, method):
    model = models[name]
    obj = model.objective(method)
    theta = _away_from_optimum(model, method)
    d = derivatives(obj, obj.at(theta))
    D = dense_pieces(model, theta)
    P, y, dV = D["P"], D["y"], D["dV"]
    Py = P @ y
    M = D["P"] if method == "REML" else D["Vi"]
    score = np.array([-0.5 * (np.sum(M * Vi.T) - Py @ Vi @ Py) for Vi in dV])
    np.testing.assert_allclose(d.score, score, rtol=1e-8, atol=1e-10 * np.abs(score).max())
    ai = np.array([[0.5 * Py @ Vi @ P @ Vj @ Py for Vj in dV] for Vi in dV])
    np.testing.assert_allclose(d.ai, ai, rtol=1e-8, atol=1e-10 * np.abs(ai).max())


@pytest.mark.parametrize("name,method", CASES)
def test_ai_close_to_negative_hessian_at_optimum(models, name, method):
    model = models[name]
    fit = model.fit(method=method)
    obj = model.objective(method)
    theta = fit.theta
    d = derivatives(obj, obj.at(theta))
    H = numerical_hessian(obj, theta)
    assert np.all(np.linalg.eigvalsh(-H) > 0), "the fit is not at a maximum"
    # compare as matrices, scale-free: A^-1/2 (-H) A^-1/2 close to the identity
    w, U = np.linalg.eigh(d.ai)
    A_mhalf = U @ np.diag(w ** -0.5) @ U.T
    ratio = np.linalg.eigvalsh(A_mhalf @ -H @ A_mhalf)
    assert np.all(np.abs(ratio - 1) < 0.2), ratio
    # the score vanishes there
    assert np.all(np.abs(d.score) * np.sqrt(np.diag(np.linalg.inv(d.ai))) < 1e-3)


@pytest.mark.parametrize("name,method", CASES)
@pytest.mark.parametrize("start", ["default", "small", "large", "skewed"])
def test_em_is_monotone(models, name, method, start):
    model = models[name]
    obj = model.objective(method)
    theta = start_values(obj)
    n_var = len(theta) - 1
    factor = {"default": np.ones(len(theta)), "small": np.full(len(theta), 0.05),
              "large": np.full(len(theta), 20.0),
              "skewed": np.r_[np.full(n_var, 8.0), 0.1]}[start]
    theta = theta * factor
    state = obj.at(theta)
    lls = [state.loglik]
    for _ in range(8):
        theta = em_update(obj, state, derivatives(obj, state))
        assert obj.vm.is_admissible(theta)
        state = obj.at(theta)
        lls.append(state.loglik)
    steps = np.diff(lls)
    assert np.all(steps >= -1e-9 * np.abs(lls[-1])), steps
    assert lls[-1] > lls[0]
