"""Start values of the REML iterations (moment estimates by backfitted one-way ANOVA) against
lme4's REML fit and the classic expected-mean-squares estimators, and the log-scale AI candidate."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import henderson as hd
from henderson.reml.driver import _candidate, _start, start_values

DATA = Path(__file__).parents[1] / "data"


def test_balanced_one_way_equals_lme4_reml(data, fits_reference):
    """Dyestuff (6 batches of 5): the ANOVA estimator is the REML estimate when it is positive."""
    ref = fits_reference["Dyestuff"]["REML"]
    vc = dict(zip(ref["varcorr"]["grp"], ref["varcorr"]["vcov"]))
    m = hd.Model("Yield ~ 1 + (1|Batch)", data("Dyestuff"))
    obj = m.objective("REML")
    assert list(obj.vm.param_table().group) == ["Batch", "Residual"]
    theta = start_values(obj)
    # lme4's bobyqa optimum is itself 3e-8 (relative) from the closed form, hence 1e-7 here ...
    np.testing.assert_allclose(theta, [vc["Batch"], vc["Residual"]], rtol=1e-7)
    # ... and the closed form: (MS_between - MS_within) / n per batch, MS_within
    df = data("Dyestuff")
    groups = df.groupby("Batch")["Yield"]
    k, n = groups.ngroups, int(groups.size().iloc[0])
    assert (groups.size() == n).all()
    ms_between = n * float(((groups.mean() - df["Yield"].mean()) ** 2).sum()) / (k - 1)
    ms_within = float(groups.var(ddof=1).mean())
    np.testing.assert_allclose(theta, [(ms_between - ms_within) / n, ms_within], rtol=1e-12)
    theta2, all_moments = _start(obj)
    assert all_moments is True
    assert np.array_equal(theta2, theta)


def crossed(seed, a=8, b=6, r=3, var_a=4.0, var_b=3.0, sigma2=1.0):
    """Balanced two-way crossed design without interaction, r records per cell."""
    rng = np.random.default_rng(seed)
    ia = np.repeat(np.arange(a), b * r)
    ib = np.tile(np.repeat(np.arange(b), r), a)
    y = (10.0 + np.sqrt(var_a) * rng.normal(size=a)[ia] + np.sqrt(var_b) * rng.normal(size=b)[ib]
         + np.sqrt(sigma2) * rng.normal(size=a * b * r))
    df = pd.DataFrame(dict(y=y, A=[f"a{i}" for i in ia], B=[f"b{i}" for i in ib]))
    return df, ia, ib


def expected_mean_squares(y, ia, ib):
    """Classic ANOVA estimators of (var_A, var_B, sigma2) for y = mu + a_i + b_j + e, balanced:
    E[MS_A] = s2 + b r var_A, E[MS_B] = s2 + a r var_B, E[MS_E] = s2 (interaction pooled in E)."""
    N = y.size
    a, b = ia.max() + 1, ib.max() + 1
    # dense least squares for the sums of squares: fitted values of y on [1, A] and [1, A, B]
    XA = np.column_stack([np.ones(N), np.eye(a)[ia][:, 1:]])
    XB = np.column_stack([np.ones(N), np.eye(b)[ib][:, 1:]])
    XAB = np.column_stack([XA, np.eye(b)[ib][:, 1:]])

    def rss(X):
        beta = np.linalg.lstsq(X, y, rcond=None)[0]
        return float(np.sum((y - X @ beta) ** 2))

    sst = float(np.sum((y - y.mean()) ** 2))
    ssa, ssb, sse = sst - rss(XA), sst - rss(XB), rss(XAB)
    r = N // (a * b)
    mse = sse / (N - a - b + 1)
    return np.array([(ssa / (a - 1) - mse) / (b * r), (ssb / (b - 1) - mse) / (a * r), mse])


@pytest.mark.parametrize("seed", [4, 5, 8])
def test_balanced_crossed_close_to_anova(seed):
    df, ia, ib = crossed(seed)
    anova = expected_mean_squares(df["y"].to_numpy(), ia, ib)
    assert np.all(anova > 0.5)  # well away from zero
    m = hd.Model("y ~ 1 + (1|A) + (1|B)", df)
    obj = m.objective("REML")
    assert list(obj.vm.param_table().group) == ["A", "B", "Residual"]
    theta, all_moments = _start(obj)
    assert all_moments is True
    np.testing.assert_allclose(theta, anova, rtol=0.10)
    # the oracle itself: for balanced data the positive ANOVA estimates are the REML estimates
    np.testing.assert_allclose(m.fit().theta, anova, rtol=1e-5)


def ols_residual_variance(X, y):
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    e = y - X @ beta
    return float(e @ e) / (len(y) - np.linalg.matrix_rank(X))


def slope_data(seed=3, n=200, m=20):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, m, n)
    x = rng.normal(1.0, 1.0, n)
    y = 2.0 + 0.5 * x + 0.8 * rng.normal(size=m)[g] * x + 0.4 * rng.normal(size=m)[g] + rng.normal(size=n)
    return pd.DataFrame(dict(y=y, x=x, g=[f"g{i:02d}" for i in g]))


def check_start(obj):
    theta, all_moments = _start(obj)
    assert all_moments is False
    assert np.all(np.isfinite(theta))
    sigmas, s2 = obj.vm.unpack(theta)
    assert s2 > 0
    for S in sigmas:
        assert np.all(np.linalg.eigvalsh(S) > 0)
    assert obj.vm.is_admissible(theta)
    return sigmas, s2


def test_random_slope_only():
    """No moment estimate: the slope gets half of the OLS residual variance v, scaled by mean(x^2)."""
    df = slope_data()
    obj = hd.Model("y ~ x + (0 + x | g)", df).objective("REML")
    sigmas, s2 = check_start(obj)
    x, y = df["x"].to_numpy(), df["y"].to_numpy()
    v = ols_residual_variance(np.column_stack([np.ones_like(x), x]), y)
    np.testing.assert_allclose(s2, 0.5 * v, rtol=1e-10)
    np.testing.assert_allclose(sigmas[0], [[0.5 * v / np.mean(x ** 2)]], rtol=1e-10)


@pytest.mark.parametrize("formula", ["y ~ x + (1 + x | g)", "y ~ x + (1 | g) + (0 + x | g)"])
def test_slope_with_intercept_not_all_moments(formula):
    check_start(hd.Model(formula, slope_data()).objective("REML"))


def test_relationship_matrix_term():
    """An animal model: no moment estimate; v shared half and half (one record per animal row)."""
    data = pd.read_csv(DATA / "mrode_3_1_data.csv")
    ped = hd.read_pedigree(DATA / "mrode_3_1_pedigree.csv", id="calf", sire="sire", dam="dam")
    obj = hd.Model("wwg ~ 0 + sex + (1|calf)", data, relationships={"calf": ped}).objective("REML")
    sigmas, s2 = check_start(obj)
    X = pd.get_dummies(data["sex"]).to_numpy(float)
    v = ols_residual_variance(X, data["wwg"].to_numpy(float))
    np.testing.assert_allclose(s2, 0.5 * v, rtol=1e-10)
    np.testing.assert_allclose(sigmas[0], [[0.5 * v]], rtol=1e-10)


def test_candidate_log_scale_for_lowered_positive_parameters():
    theta = np.array([2.0, 0.5, -0.3, 1.5, 0.8, 3.0])
    step = np.array([-1.0, 0.2, -0.4, 0.6, -0.5, -2.0])
    positive = np.array([0, 1, 3, 4, 5])   # index 2 is a covariance: always additive
    theta0, step0 = theta.copy(), step.copy()
    for lam in (1.0, 0.5, 0.125):
        cand = _candidate(theta, step, lam, positive)
        assert np.array_equal(theta, theta0) and np.array_equal(step, step0)
        expected = theta + lam * step
        for j in (0, 4, 5):   # positive and lowered: v exp(lam step / v)
            expected[j] = theta[j] * np.exp(lam * step[j] / theta[j])
        np.testing.assert_allclose(cand, expected, rtol=1e-14)
        assert np.all(cand[positive] > 0)


def test_candidate_huge_decrease_stays_positive_and_lower():
    theta = np.array([0.1, 1.0])
    step = np.array([-5.0, -0.1])    # the plain step would take theta[0] to -4.9
    cand = _candidate(theta, step, 1.0, np.array([0, 1]))
    assert 0 < cand[0] < theta[0] * np.exp(-1.0)
    np.testing.assert_allclose(cand[1], np.exp(-0.1), rtol=1e-14)
    # not in ``positive``: the plain additive step, even below zero
    np.testing.assert_allclose(_candidate(theta, step, 1.0, np.array([1]))[0], -4.9, rtol=1e-14)
