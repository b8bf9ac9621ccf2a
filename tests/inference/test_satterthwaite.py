"""Satterthwaite df, standard errors, t and p of the fixed effects against lmerTest 3.1-3;
the analytic derivative of Var(b) against finite differences of a dense (X'V^-1X)^-1."""
import numpy as np
import pytest
from scipy import stats

from henderson.inference.vcov import contrast_covariance

KEYS = ["sleepstudy", "Penicillin_half", "oats"]


@pytest.mark.parametrize("key", KEYS)
def test_coefficients_equal_lmertest(key, fits, inference_ref):
    ref = inference_ref["lmerTest"][key]["satterthwaite"]["coefficients"]
    fe = fits[key].fixed_effects
    assert list(fe.index) == ref["names"]
    assert fits[key].ddf == "satterthwaite"
    for ours, theirs in [("estimate", "estimate"), ("std_error", "std_error"), ("df", "df"),
                         ("t_value", "t_value"), ("p_value", "p_value")]:
        np.testing.assert_allclose(fe[ours], ref[theirs], rtol=1e-4, err_msg=ours)


@pytest.mark.parametrize("key", KEYS)
def test_coef_table_methods_agree(key, fits):
    """coef_table() recomputes what the fit stored; ddf='residual' uses n - p (scipy t as oracle)."""
    r = fits[key]
    sat = r.coef_table()
    np.testing.assert_allclose(sat["df"], r.fixed_effects["df"], rtol=1e-8)
    res = r.coef_table(ddf="residual")
    dfr = r.nobs - r.n_fixed
    assert np.all(res["df"] == dfr)
    t = r.fixed_effects["estimate"] / r.fixed_effects["std_error"]
    np.testing.assert_allclose(res["p_value"], 2 * stats.t.sf(np.abs(t), dfr), rtol=1e-10)
    np.testing.assert_allclose(res["ci_upper"] - res["estimate"],
                               stats.t.ppf(0.975, dfr) * r.fixed_effects["std_error"], rtol=1e-10)


def _dense_vb(model, theta):
    """(X'V^-1X)^-1 with V = Z G Z' + sigma2 I, all dense."""
    d, vm = model.design, model.vm
    sigmas, s2 = vm.unpack(theta)
    X = d.X.toarray()
    V = s2 * np.eye(d.n)
    for t, S in zip(d.terms, sigmas):
        Z = t.Z.toarray()
        V += Z @ np.kron(S, np.eye(t.m)) @ Z.T
    return np.linalg.inv(X.T @ np.linalg.solve(V, X))


@pytest.mark.parametrize("key", ["sleepstudy", "Penicillin_half"])
def test_variance_derivative_against_finite_differences(key, fits):
    r = fits[key]
    obj = r.model.objective("REML")
    rng = np.random.default_rng(1)
    L = rng.normal(size=(2, r.n_fixed))
    M, grads = contrast_covariance(obj, r.theta, L)
    np.testing.assert_allclose(M, L @ _dense_vb(r.model, r.theta) @ L.T, rtol=1e-9)
    for j in range(len(r.theta)):
        h = 1e-5 * abs(r.theta[j]) + 1e-6
        tp, tm = r.theta.copy(), r.theta.copy()
        tp[j] += h
        tm[j] -= h
        fd = L @ (_dense_vb(r.model, tp) - _dense_vb(r.model, tm)) @ L.T / (2 * h)
        np.testing.assert_allclose(grads[j], fd, rtol=1e-5, atol=1e-9 * np.abs(fd).max())
