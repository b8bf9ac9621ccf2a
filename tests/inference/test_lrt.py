"""Likelihood-ratio tests: the boundary mixture on Dyestuff (lme4 logLik values, R's p-values),
refusal of REML fits with different fixed effects, and the AIC/BIC table."""
import numpy as np
import pytest
from scipy import stats

import henderson as hd
from henderson.errors import DesignError
from henderson.inference.lrt import aic_table, lrt


@pytest.fixture(scope="module")
def dyestuff_ml(frames):
    d = frames["Dyestuff"]
    return hd.fit("Yield ~ 1", d, method="ML"), hd.fit("Yield ~ 1 + (1|Batch)", d, method="ML")


def test_boundary_mixture_on_dyestuff(dyestuff_ml, inference_ref):
    ref = inference_ref["lrt"]["Dyestuff"]
    null, alt = dyestuff_ml
    np.testing.assert_allclose(null.loglik, ref["logLik_null_ML"], rtol=1e-8)
    np.testing.assert_allclose(alt.loglik, ref["logLik_alt_ML"], rtol=1e-8)
    res = lrt(null, alt)
    assert res.df == ref["df"] and res.boundary
    np.testing.assert_allclose(res.statistic, ref["statistic"], rtol=1e-6)
    np.testing.assert_allclose(res.p_value, ref["p_value_boundary_mixture"], rtol=1e-5)
    np.testing.assert_allclose(res.p_value_naive, ref["p_value_chisq1"], rtol=1e-5)
    assert "mixture" in res.note and "chi-square(0)" in res.note
    assert lrt(alt, null).p_value == res.p_value  # order does not matter


def test_reml_with_different_fixed_effects_is_refused(fits, frames):
    other = hd.fit("diameter ~ 1 + (1|plate) + (1|sample)", frames["Penicillin_half"])
    with pytest.raises(DesignError, match='method="ML"'):
        lrt(other, fits["Penicillin_half"])
    with pytest.raises(DesignError, match='method="ML"'):
        aic_table(other, fits["Penicillin_half"])


def test_reml_variance_test_is_allowed(fits, frames):
    """Same fixed effects, one scalar term dropped: REML LRT with the chi2(0):chi2(1) mixture."""
    small = hd.fit("diameter ~ half + (1|plate)", frames["Penicillin_half"])
    res = lrt(small, fits["Penicillin_half"])
    stat = 2 * (fits["Penicillin_half"].loglik - small.loglik)
    np.testing.assert_allclose(res.statistic, stat, rtol=1e-12)
    np.testing.assert_allclose(res.p_value, 0.5 * stats.chi2.sf(stat, 1), rtol=1e-12)


def test_aic_table(dyestuff_ml, inference_ref):
    null, alt = dyestuff_ml
    tab = aic_table(null, alt, names=["lm", "lmer"])
    ref = inference_ref["lrt"]["Dyestuff"]
    ll = np.array([ref["logLik_null_ML"], ref["logLik_alt_ML"]])
    k = np.array([2, 3])
    np.testing.assert_allclose(tab["aic"], -2 * ll + 2 * k, rtol=1e-8)
    np.testing.assert_allclose(tab["bic"], -2 * ll + np.log(30) * k, rtol=1e-8)
    assert tab["delta_aic"].min() == 0
