"""The fit's result: a frozen FitRecord with the model around it; what it costs in factorizations."""
import dataclasses

import numpy as np
import pytest

import henderson as hd
from henderson import model as model_module
from henderson.fitted import build
from henderson.inference.satterthwaite import Context, coefficient_df
from henderson.inference.vcov import theta_covariance
from henderson.results import FitRecord

FORMULA = "Reaction ~ Days + (Days|Subject)"


@pytest.fixture
def counted(monkeypatch):
    """Model.fit with the numeric factorizations spent in building the result recorded."""
    spent = {}
    real = build.from_trace

    def from_trace(model, obj, trace, *args, **kw):
        n0 = obj.n_factorizations
        out = real(model, obj, trace, *args, **kw)
        spent["result"] = obj.n_factorizations - n0
        spent["obj"] = obj
        return out
    monkeypatch.setattr(model_module, "from_trace", from_trace)
    return spent


def test_result_costs_no_factorization_beyond_the_fit(data, counted):
    r = hd.Model(FORMULA, data("sleepstudy")).fit()
    assert counted["result"] == 0
    obj = counted["obj"]
    n0 = obj.n_factorizations
    df = r.fixed_effects["df"].to_numpy()      # Satterthwaite by the observed information: 2 r evaluations
    assert obj.n_factorizations - n0 == 2 * len(r.theta)
    _ = r.summary(), r.to_dict()
    assert obj.n_factorizations - n0 == 2 * len(r.theta)    # computed once
    V = theta_covariance(obj, r.theta)
    _, eager = coefficient_df(Context(obj, r.theta, r.fixed_effects["estimate"].to_numpy(), V, r.sigma2))
    np.testing.assert_allclose(df, eager, rtol=1e-10)
    np.testing.assert_allclose(r.vcov_theta_observed, V, rtol=1e-10)


def test_var_b_is_the_fixed_block_of_the_dense_inverse(data):
    m = hd.Model(FORMULA, data("sleepstudy"))
    r = m.fit()
    C = m.pattern.values(r.theta).toarray()
    Vb = np.linalg.inv(C)[:2, :2]
    np.testing.assert_allclose(r.vcov_beta, Vb, rtol=1e-9)
    np.testing.assert_allclose(r.fixed_effects["std_error"], np.sqrt(np.diag(Vb)), rtol=1e-9)
    pev = np.diag(np.linalg.inv(C))[2:2 + 18]
    np.testing.assert_allclose(r.random_effects["Subject"]["pev:(Intercept)"], pev, rtol=1e-9)


def test_record_is_frozen_and_holds_no_model(data):
    r = hd.Model(FORMULA, data("sleepstudy")).fit()
    rec = r.record
    assert isinstance(rec, FitRecord)
    assert "model" not in {f.name for f in dataclasses.fields(rec)}
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.loglik = 0.0
    assert r.loglik == rec.loglik and r.fixed_effects is rec.fixed_effects
    assert np.all(np.isfinite(rec.fixed_effects["df"]))


def test_residual_df_need_no_observed_information(data, counted):
    r = hd.Model(FORMULA, data("sleepstudy")).fit(ddf="residual")
    obj = counted["obj"]
    n0 = obj.n_factorizations
    assert r.ddf == "residual" and np.all(r.fixed_effects["df"] == 180 - 2)
    assert obj.n_factorizations == n0 and r.vcov_theta_observed is None
