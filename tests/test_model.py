"""Model: the staged API (theta from variances, objective, solve, fit) against lme4 values and itself."""
import json
from pathlib import Path

import numpy as np
import pytest

import henderson as hd
from henderson.errors import DesignError

REF = json.loads((Path(__file__).parent / "reference" / "fits.json").read_text())["models"]["sleepstudy_corr"]


@pytest.fixture(scope="module")
def model(data):
    return hd.Model("Reaction ~ Days + (Days|Subject)", data("sleepstudy"))


def _lme4_variances(method):
    v = REF[method]["varcorr"]["vcov"]
    return {"Subject": [[v[0], v[1]], [v[1], v[2]]], "Residual": v[3]}


def test_theta_packs_lower_triangle_row_by_row(model):
    theta = model.theta({"Subject": [[4.0, 1.0], [1.0, 9.0]], "Residual": 2.0})
    np.testing.assert_array_equal(theta, [4.0, 1.0, 9.0, 2.0])
    sigmas, s2 = model.vm.unpack(theta)
    np.testing.assert_array_equal(sigmas[0], [[4.0, 1.0], [1.0, 9.0]])
    assert s2 == 2.0


@pytest.mark.parametrize("variances,match", [
    ({"Subject": np.eye(2)}, "Residual"),
    ({"Residual": 1.0}, "Subject"),
    ({"Subject": np.eye(2), "Residual": 1.0, "Herd": 1.0}, "Herd"),
    ({"Subject": 1.0, "Residual": 1.0}, "2x2"),
])
def test_theta_errors(model, variances, match):
    with pytest.raises(DesignError, match=match):
        model.theta(variances)


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_objective_is_lme4_criterion_and_reused(model, method):
    obj = model.objective(method)
    assert model.objective(method.lower()) is obj
    crit = REF[method]["REMLcrit"] if method == "REML" else REF[method]["minus2logLik"]
    np.testing.assert_allclose(obj(model.theta(_lme4_variances(method))), crit, rtol=1e-7)


def test_solve_at_lme4_estimates_gives_lme4_fixed_effects(model):
    res = model.solve(variances=_lme4_variances("REML"))
    np.testing.assert_allclose(res.fixed_effects["estimate"], REF["REML"]["fixef"]["estimate"], rtol=1e-6)
    np.testing.assert_allclose(res.fixed_effects["std_error"], REF["REML"]["fixef"]["std_error"], rtol=1e-5)
    assert res.converged is None and res.n_iter == 0


def test_fit_from_the_optimum_stops_at_once(model):
    full = model.fit()
    sig, s2 = model.vm.unpack(full.theta)
    again = model.fit(start={"Subject": sig[0], "Residual": s2})
    assert again.n_iter <= 2
    np.testing.assert_allclose(again.deviance, full.deviance, rtol=1e-12)


def test_fit_function_equals_model_fit(model, data):
    a = hd.fit("Reaction ~ Days + (Days|Subject)", data("sleepstudy"), method="ML", algorithm="em")
    b = model.fit(method="ML", algorithm="ai")
    np.testing.assert_allclose(a.deviance, b.deviance, rtol=1e-9)
    np.testing.assert_allclose(a.theta, b.theta, rtol=1e-4)


def test_deviance_of_fit_is_objective_at_its_theta(model):
    fit = model.fit()
    np.testing.assert_allclose(model.objective("REML")(fit.theta), fit.deviance, rtol=1e-13)
    np.testing.assert_allclose(fit.deviance, -2 * fit.loglik)


@pytest.mark.parametrize("kwargs", [{"method": "MLE"}, {"algorithm": "newton"}])
def test_bad_options(model, kwargs):
    with pytest.raises(ValueError):
        model.fit(**kwargs)


def test_iteration_log(model):
    fit = model.fit()
    it = fit.iterations
    assert len(it) == fit.n_iter and fit.converged
    assert np.all(np.diff(it["loglik"].to_numpy()) >= -1e-8)
    np.testing.assert_allclose(it["loglik"].iloc[-1], fit.loglik)
