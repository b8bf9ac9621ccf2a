"""henderson.distributions (scipy.special) against scipy.stats."""
import numpy as np
import pytest
from scipy import stats

from henderson import distributions as d

X = np.array([-3.0, -0.5, 0.0, 0.7, 2.5, 40.0])
DF = np.array([1.0, 2.5, 14.94, 100.0, 1e6, np.inf])
P = np.array([1e-6, 0.025, 0.5, 0.8, 0.975, 1 - 1e-9])


@pytest.mark.parametrize("df", DF)
def test_t(df):
    np.testing.assert_allclose(d.t_sf(X, df), stats.t.sf(X, df), rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(d.t_ppf(P, df), stats.t.ppf(P, df), rtol=1e-9)


def test_t_vectorized_df():
    np.testing.assert_allclose(d.t_ppf(0.975, DF), stats.t.ppf(0.975, DF), rtol=1e-9)
    np.testing.assert_allclose(d.t_sf(2.0, DF), stats.t.sf(2.0, DF), rtol=1e-10)


@pytest.mark.parametrize("df", [1, 2, 3.5, 30])
def test_chi2_and_f(df):
    x = np.abs(X[:-1]) + 0.1
    np.testing.assert_allclose(d.chi2_sf(x, df), stats.chi2.sf(x, df), rtol=1e-10)
    np.testing.assert_allclose(d.chi2_ppf(P, df), stats.chi2.ppf(P, df), rtol=1e-9)
    np.testing.assert_allclose(d.f_sf(x, df, 17.3), stats.f.sf(x, df, 17.3), rtol=1e-10)
    np.testing.assert_allclose(d.norm_ppf(P), stats.norm.ppf(P), rtol=1e-12)
