"""Profile-likelihood intervals against lme4's confint(method='profile') (which profiles the ML
likelihood and interpolates the profile by splines: agreement to ~5e-4), Wald intervals against
confint(method='Wald')."""
import numpy as np
import pandas as pd
import pytest


def _check(tab, ref, rtol):
    R = pd.DataFrame({k: ref[k] for k in ("names", "lower", "upper")}).set_index("names")
    for name in tab.index:
        np.testing.assert_allclose(tab.loc[name, ["lower", "upper"]].to_numpy(float),
                                   R.loc[name, ["lower", "upper"]].to_numpy(float), rtol=rtol, err_msg=name)


def test_profile_dyestuff(fits, inference_ref):
    tab = fits["Dyestuff"].confint("profile")
    assert list(tab.index) == ["sd_(Intercept)|Batch", "sigma"]
    _check(tab, inference_ref["confint"]["Dyestuff"]["profile"], 5e-4)


@pytest.mark.slow
def test_profile_sleepstudy(fits, inference_ref):
    tab = fits["sleepstudy"].confint("profile")
    _check(tab, inference_ref["confint"]["sleepstudy"]["profile"], 5e-4)


@pytest.mark.parametrize("key", ["sleepstudy", "Dyestuff"])
def test_wald_fixed_effects(key, fits, inference_ref):
    ref = inference_ref["confint"][key]["wald"]
    tab = fits[key].confint("wald").loc[ref["names"]]
    np.testing.assert_allclose(tab["lower"], ref["lower"], rtol=1e-6)
    np.testing.assert_allclose(tab["upper"], ref["upper"], rtol=1e-6)


def test_wald_variance_components_are_log_scale_intervals(fits):
    """Variances: exp(log(v) -/+ z se/v), never below zero (issue 14: the natural-scale interval of
    B's variance in oats went down to -116, which the old expectation est + z se accepted)."""
    r = fits["oats"]
    tab = r.confint("wald")
    vc = r.variance_components.assign(name=lambda d: ["/".join(x for x in t if x) for t in
                                                      zip(d.group, d.term1, d.term2)]).set_index("name")
    z = 1.959963984540054
    for name in ["B/(Intercept)", "Residual"]:
        est, se = vc.loc[name, "estimate"], vc.loc[name, "std_error"]
        np.testing.assert_allclose(tab.loc[name, ["lower", "upper"]].to_numpy(float),
                                   [est * np.exp(-z * se / est), est * np.exp(z * se / est)], rtol=1e-12)
        assert tab.loc[name, "scale"] == "log" and tab.loc[name, "lower"] > 0
    assert vc.loc["B/(Intercept)", "estimate"] - z * vc.loc["B/(Intercept)", "std_error"] < 0
    assert (tab.loc[r.fixed_effects.index, "scale"] == "identity").all()


def test_wald_covariance_stays_on_the_natural_scale(fits):
    r = fits["sleepstudy"]
    tab = r.confint("wald")
    vc = r.variance_components
    cov = vc[vc.term2 != ""].iloc[0]
    row = tab.loc[f"{cov.group}/{cov.term1}/{cov.term2}"]
    assert row["scale"] == "identity"
    np.testing.assert_allclose(row["upper"] - row["estimate"], 1.959963984540054 * cov.std_error, rtol=1e-12)


def test_wald_variance_at_zero_has_no_log_scale_interval():
    from henderson.inference.profile import wald_intervals
    tab = wald_intervals(["a", "v"], [0.0, 0.0], [1.0, np.nan], log_scale=[False, True])
    assert tab.loc["v", "lower"] == 0 and np.isnan(tab.loc["v", "upper"])
    assert tab.loc["a", "lower"] == pytest.approx(-1.959963984540054)
