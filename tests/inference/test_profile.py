"""Profile-likelihood intervals against lme4's confint(method='profile') (which profiles the ML
likelihood and interpolates the profile by splines: agreement to ~5e-4), Wald intervals against
confint(method='Wald')."""
import numpy as np
import pandas as pd
import pytest

import henderson as hd


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


def test_wald_variance_components_use_their_standard_errors(fits):
    r = fits["oats"]
    tab = r.confint("wald")
    vc = r.variance_components
    np.testing.assert_allclose(tab.loc["Residual", "upper"] - tab.loc["Residual", "estimate"],
                               1.959963984540054 * vc["std_error"].iloc[-1], rtol=1e-12)
