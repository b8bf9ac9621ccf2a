"""Boundary optima of covariance blocks (issue 14, section 4) against lme4 on 64 random designs.

tests/reference/boundary: make_designs.py writes 64 unbalanced designs with correlated slopes
(q = 2, q = 3, q = 2 with a crossed intercept; true Sigma interior, correlation +-1, zero slope,
zero intercept, rank 2), make_boundary.R fits them with lme4 (bobyqa, rhoend 1e-12) into
boundary.json. 42 of lme4's optima are singular.

Expectations: converged in a bounded number of iterations; the criterion no worse than lme4's
(interior: 1e-9 relative; singular: 2e-6, since Sigma_k keeps an eigenvalue of 1e-8 sigma2 and
the criterion there is accurate to about 5e-10 relative); the singular flag equal to lme4's
isSingular and the Satterthwaite df equal to lmerTest's (1e-2 relative; in practice 4e-3) where
both reach the same optimum (in 5 designs lme4's bobyqa stops 0.09 to 1.1 deviance units above
henderson's optimum; lme4's own deviance function at henderson's theta agrees with henderson's
criterion there); no exception from inference.
"""
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import henderson as hd
from henderson.errors import InferenceWarning
from henderson.reml import cholesky

HERE = Path(__file__).parents[1] / "reference" / "boundary"
REF = json.loads((HERE / "boundary.json").read_text())["designs"]
DATA = pd.read_csv(HERE / "designs.csv", dtype={"design": str, "g": str, "h": str})


def design(name: str) -> pd.DataFrame:
    return DATA[DATA.design == name].dropna(axis=1, how="all").reset_index(drop=True)


def fit(name: str, **kw):
    ref = REF[name]
    return hd.fit(ref["formula"], design(name), method="REML" if ref["REML"] else "ML", **kw)


@pytest.mark.parametrize("name", [pytest.param(k, id=f"{k}-{v['truth']}") for k, v in REF.items()])
def test_reaches_lme4_optimum(name):
    ref = REF[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")       # no ConvergenceWarning, no InferenceWarning
        f = fit(name)
    assert f.converged
    assert f.n_iter <= 2 * 200    # AI iterations, then at most as many L-BFGS-B iterations
    interior = not ref["isSingular"] and not f.singular
    slack = 1e-9 * abs(ref["criterion"]) if interior else 2e-6
    assert f.deviance <= ref["criterion"] + slack
    if f.deviance > ref["criterion"] - 1e-4:          # the same optimum as lme4's
        assert f.singular == ref["isSingular"]
        # lmerTest's Satterthwaite df (over lme4's theta and sigma; here over T and sigma2 at singular fits)
        np.testing.assert_allclose(f.fixed_effects["df"], ref["fixef"]["satterthwaite_df"], rtol=1e-2)
    assert np.all(np.isfinite(f.fixed_effects["df"]))
    assert np.all(np.isfinite(f.fixed_effects["std_error"]))
    assert f.to_dict()["singular"] == f.singular


def test_correlation_one_is_flagged_and_reported():
    """d05: lme4 gives correlation -1 (theta[2] = 0): the covariance is on the boundary, at
    -sqrt(s11 s22), the variances are not; summary and to_dict say the fit is singular."""
    f = fit("d05")
    vc = f.variance_components.set_index(["group", "term1", "term2"])
    cov = vc.loc[("g", "x", "(Intercept)")]
    s11, s22 = vc.loc[("g", "(Intercept)", ""), "estimate"], vc.loc[("g", "x", ""), "estimate"]
    assert cov.boundary and not vc.loc[("g", "(Intercept)", ""), "boundary"]
    np.testing.assert_allclose(cov.estimate / np.sqrt(s11 * s22), -1.0, atol=1e-6)
    ref = REF["d05"]
    s2 = ref["sigma"] ** 2
    t = np.array(ref["theta"])   # lme4: t11, t21, t22
    np.testing.assert_allclose([s11, cov.estimate, s22],
                               [s2 * t[0] ** 2, s2 * t[0] * t[1], s2 * (t[1] ** 2 + t[2] ** 2)], rtol=1e-4)
    assert f.singular and f.to_dict()["singular"] is True
    text = f.summary()
    assert "boundary (singular) fit: g correlation of (Intercept) and x -1" in text


def test_flags_of_a_zero_variance_and_of_a_correlation_of_one():
    """boundary_flags: a row of T that is its floored diagonal alone is a zero variance (variance and
    covariance on the boundary, reported 0, no SE); a floored diagonal below a non-zero row is a
    correlation of +-1 (the covariance on the boundary, no SE in the block)."""
    vm = hd.Model(REF["d02"]["formula"], design("d02")).vm
    s2, r = 2.0, cholesky.RIDGE
    zero_slope = vm.pack([s2 * np.array([[0.5, 0.0], [0.0, r]])], s2)
    f = cholesky.boundary_flags(vm, zero_slope)
    assert f.singular
    assert f.boundary.tolist() == [False, True, True, False] == f.zero.tolist()
    assert f.no_se.tolist() == [False, True, True, False]
    corr = vm.pack([s2 * (np.array([[0.5, -0.3], [-0.3, 0.18]]) + r * np.eye(2))], s2)
    f = cholesky.boundary_flags(vm, corr)
    assert f.singular
    assert f.boundary.tolist() == [False, True, False, False] and not f.zero.any()
    assert f.no_se.tolist() == [True, True, True, False]
    interior = vm.pack([s2 * np.array([[0.5, -0.3], [-0.3, 0.5]])], s2)
    f = cholesky.boundary_flags(vm, interior)
    assert not f.singular and not f.boundary.any()


def test_singular_fit_to_lme4_and_summary():
    """d10: lme4 gives correlation -1 with a small slope variance; so does henderson."""
    f = fit("d10")
    vc = f.variance_components.set_index(["group", "term1", "term2"])
    assert vc.loc[("g", "x", "(Intercept)"), "boundary"]
    ref = REF["d10"]
    t, s2 = np.array(ref["theta"]), ref["sigma"] ** 2
    np.testing.assert_allclose(vc.loc[("g", "x", ""), "estimate"], s2 * (t[1] ** 2 + t[2] ** 2), rtol=1e-3)
    assert "boundary (singular) fit: g correlation of (Intercept) and x -1" in f.summary()


def test_interior_fit_is_not_singular():
    f = fit("d02")
    assert not f.singular and not f.variance_components["boundary"].any()
    assert "singular" not in f.summary()
    assert f.criteria.get("finish") is None       # AI alone: no Cholesky finish


def test_profiled_gradient_matches_finite_differences():
    """The analytic gradient of the profiled criterion over T equals central differences of it."""
    ref = REF["d02"]
    m = hd.Model(ref["formula"], design("d02"))
    prof = cholesky.Profiled(m.objective("REML"))
    t = np.array([0.8, -0.3, 0.5])
    _, g = prof.evaluate(t)
    h = 1e-5
    fd = [(prof.evaluate(t + h * e)[0] - prof.evaluate(t - h * e)[0]) / (2 * h) for e in np.eye(3)]
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-6)


def test_profiled_criterion_equals_the_criterion_at_sigma2_hat():
    ref = REF["d02"]
    m = hd.Model(ref["formula"], design("d02"))
    obj = m.objective("ML")
    prof = cholesky.Profiled(obj)
    t = np.array([0.8, -0.3, 0.5])
    value, _ = prof.evaluate(t)
    theta = prof.theta(t)
    np.testing.assert_allclose(value, obj(theta), rtol=1e-12)
    for s in (0.9, 1.1):    # sigma2_hat minimizes over sigma2 at fixed relative covariance
        assert obj(np.append(theta[:-1] * s, theta[-1] * s)) > value


def test_inference_failure_does_not_lose_the_fit(monkeypatch):
    """A Satterthwaite step that raises gives NaN df and an InferenceWarning, not an exception."""
    from henderson.errors import NotPositiveDefiniteError
    from henderson.fitted import build

    def broken(*args, **kwargs):
        raise NotPositiveDefiniteError("covariance of random term 'g' is not positive definite")

    monkeypatch.setattr(build, "satterthwaite_parts", broken)
    with pytest.warns(InferenceWarning, match="Satterthwaite degrees of freedom could not be computed"):
        f = fit("d02")
        _ = f.fixed_effects    # the observed-information df are computed when first asked for
    assert f.converged and np.all(np.isnan(f.fixed_effects["df"]))
    assert np.all(np.isfinite(f.fixed_effects["estimate"]))


def test_satterthwaite_in_cholesky_coordinates_equals_covariance_elements_inside():
    """At an interior optimum the df do not depend on the parameterization: over (T, sigma2) by
    numerical derivatives as over the covariance elements by analytic ones."""
    from henderson.inference.satterthwaite import coefficient_df
    from henderson.inference.singular import cholesky_context

    f = fit("d02")
    obj = f.model.objective("REML")
    _, df = coefficient_df(cholesky_context(obj, f.theta, f.fixed_effects["estimate"].to_numpy()))
    np.testing.assert_allclose(df, f.fixed_effects["df"], rtol=2e-3)


def test_contrasts_of_a_singular_fit_use_the_cholesky_coordinates():
    f = fit("d05")
    np.testing.assert_allclose(f.coef_table()["df"], f.fixed_effects["df"], rtol=1e-10)
    np.testing.assert_allclose(f.fixed_effects["df"], REF["d05"]["fixef"]["satterthwaite_df"], rtol=2e-3)


def test_rank_deficient_block_without_unit_correlation_is_called_singular():
    """d01 (q = 3): lme4's optimum has rank 2 with no correlation of +-1; the summary says so."""
    f = fit("d01")
    assert f.singular and REF["d01"]["isSingular"]
    assert "boundary (singular) fit: g covariance matrix singular" in f.summary()
