"""Start values of the residual structure's parameters from the OLS residuals (corAR1's phi from lag
correlations), against a loop over the records and on simulated data with a known phi."""
from __future__ import annotations

import numpy as np
import pandas as pd

import henderson as hd
from henderson.residual.correlation import AR1, lag_correlations


def _simulate(groups, occasions, phi, sd_u, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(occasions)
    cov = sd_u ** 2 + phi ** np.abs(t[:, None] - t[None, :])
    e = rng.multivariate_normal(np.zeros(occasions), cov, size=groups)
    return pd.DataFrame({"g": np.repeat(np.arange(groups), occasions).astype(str), "t": np.tile(t, groups),
                         "y": e.ravel() + 0.5 * np.tile(t, groups)})


def _term(d, formula="y ~ C(t) + (1|g)"):
    return hd.Model(formula, d, correlation=hd.corAR1("~ t | g")).vm.residual


def test_lag_correlations_equal_a_loop_over_pairs():
    d = _simulate(40, 5, 0.5, 0.0, 1)
    d = d.drop(index=np.arange(0, len(d), 7)).reset_index(drop=True)   # missing occasions: groups of 4 and 5
    z = np.random.default_rng(2).normal(size=len(d))
    term = _term(d)
    got = lag_correlations([(z[c.idx], c) for c in term.layout.classes], 3)
    num, cnt = np.zeros(4), np.zeros(4)
    for _, rows in d.groupby("g").groups.items():
        for a in rows:
            for b in rows:
                k = abs(int(d.t[a]) - int(d.t[b]))
                if k <= 3:
                    num[k] += z[a] * z[b]
                    cnt[k] += 1
    mean = num / cnt
    np.testing.assert_allclose(got, mean[1:] / mean[0], rtol=1e-12)


def test_ar1_start_recovers_phi_with_and_without_random_intercept():
    for sd_u in (0.0, 1.0):
        d = _simulate(3000, 6, 0.6, sd_u, 3)
        resid = d.y.to_numpy() - d.groupby("t").y.transform("mean").to_numpy()
        phi = _term(d).start(resid)[0]
        assert abs(phi - 0.6) < 0.05, (sd_u, phi)


def test_ar1_start_falls_back_to_lag_one_and_to_zero():
    d = _simulate(500, 2, 0.4, 0.0, 4)          # pairs only: no r_2, r_3
    resid = d.y.to_numpy() - d.groupby("t").y.transform("mean").to_numpy()
    term = _term(d, "y ~ C(t)")
    z = [(resid[c.idx] / resid.std(), c) for c in term.layout.classes]
    assert np.isclose(term.start(resid)[0], lag_correlations(z, 1)[0], rtol=1e-12)
    assert abs(term.start(resid)[0] - 0.4) < 0.1
    assert term.start()[0] == 0.0 and AR1(continuous=True).start(z)[0] == 0.2
