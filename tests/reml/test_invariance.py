"""Fits do not depend on the location or the scale of the response.

An intercept absorbs any shift y + v, so the REML/ML criterion, the variances and all inference are
those of y; y s gives variances times s^2, fixed effects and BLUPs times s, and a criterion that
differs by exactly (n - p) log s^2 (REML) or n log s^2 (ML). Three models (sleepstudy's correlated
slopes, Penicillin's crossed intercepts, the milk animal model with its pedigree), REML and ML,
shifts 1e3..1e12 and scales 1e-9..1e9.

The shifted data fl(y + v) are themselves rounded (at v = 1e12 by ~1e-4 per value), so a shifted fit
is compared with the fit of fl(y + v) - v (an exact subtraction): the data the user gave, less a
constant. Before the MME were solved for a centred response, sleepstudy + 1e9 had a REML criterion
of 1615.66 instead of 1743.63.
"""
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from test_mme import check_against_oracle  # tests/ is on sys.path through tests/conftest.py

import henderson as hd
from henderson.mme import build_pattern, centre_value, constant_combination

MODELS = {
    "sleepstudy": ("Reaction ~ Days + (Days|Subject)", "Reaction"),
    "Penicillin": ("diameter ~ 1 + (1|plate) + (1|sample)", "diameter"),
    "milk": ("milk ~ lact + np.log(dim) + (1|id) + (1|herd)", "milk"),
}
SHIFTS = [1e3, 1e6, 1e9, 1e12]
SCALES = [1e-9, 1e-3, 1e3, 1e9]
RTOL_CRITERION = 1e-9
RTOL = 1e-7   # variances, fixed effects, standard errors, BLUPs, df (agreement is ~1e-12)


@pytest.fixture(scope="module")
def case(data):
    """case(name) -> (formula, data frame, response column, relationships), loaded once."""
    cache = {}

    def get(name):
        if name not in cache:
            formula, response = MODELS[name]
            if name == "milk":
                ped = hd.read_pedigree(hd.datasets.path("pedCows"), id="id", sire="sire", dam="dam")
                cache[name] = (formula, hd.datasets.load("milk"), response, {"id": ped})
            else:
                cache[name] = (formula, data(name), response, None)
        return cache[name]
    return get


def model_of(case, name, transform) -> hd.Model:
    """The model of case ``name`` with its response replaced by transform(response)."""
    formula, df, response, rel = case(name)
    df = df.copy()
    df[response] = transform(df[response].to_numpy(dtype=float))
    return hd.Model(formula, df, relationships=rel)


def log_scale_term(model, method, s):
    """-2 l(s y) + 2 l(y) at the same standardized theta: (n - p) log s^2 (REML) or n log s^2 (ML)."""
    k = model.design.n - (model.design.p if method == "REML" else 0)
    return k * np.log(s * s)


def _close(actual, expected, rtol=RTOL, err_msg=""):
    """Relative agreement, with an absolute floor of rtol times the largest |expected|."""
    expected = np.asarray(expected, dtype=float)
    if expected.size == 0:
        return
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * np.abs(expected).max(), err_msg=err_msg)


def check_fit(fit, ref, s=1.0, shift=0.0):
    """``fit`` of s y + shift against ``ref``, the fit of y: variances, fixed effects, inference, BLUPs."""
    _close(fit.theta / s**2, ref.theta, err_msg="theta")
    fe, fe0 = fit.fixed_effects, ref.fixed_effects
    est = fe["estimate"].to_numpy(dtype=float).copy()
    if shift:
        # the intercept carries the shift: est - shift is exact to the rounding of est (ulp of the shift)
        assert fe.index[0] == "(Intercept)"
        est[0] -= shift
        assert abs(est[0] - fe0["estimate"].iloc[0]) <= 8 * np.spacing(shift) + RTOL * abs(fe0["estimate"].iloc[0])
        est[0] = fe0["estimate"].iloc[0]
    _close(est / s, fe0["estimate"], err_msg="fixed effects")
    _close(fe["std_error"] / s, fe0["std_error"], err_msg="standard errors")
    _close(fe["df"], fe0["df"], err_msg="df")
    slopes = fe.index != "(Intercept)"
    _close(fe["t_value"][slopes], fe0["t_value"][slopes], err_msg="t values")
    vc, vc0 = fit.variance_components, ref.variance_components
    _close(vc["estimate"] / s**2, vc0["estimate"], err_msg="variance components")
    _close(vc["std_error"] / s**2, vc0["std_error"], err_msg="standard errors of variances")
    for name, re in fit.random_effects.items():
        cols = [c for c in re.columns if not c.startswith(("pev", "sep", "reliability", "accuracy", "F"))]
        _close(re[cols].to_numpy() / s, ref.random_effects[name][cols].to_numpy(), err_msg=f"BLUPs of {name}")
        pev = [c for c in re.columns if c.startswith("pev")]
        _close(re[pev].to_numpy() / s**2, ref.random_effects[name][pev].to_numpy(), err_msg=f"PEV of {name}")
    # fitted values near the shift are stored to its ulp
    np.testing.assert_allclose((fit.fitted_values - shift) / s, ref.fitted_values, rtol=RTOL,
                               atol=8 * np.spacing(shift), err_msg="fitted values")


@pytest.fixture(scope="module")
def base_fits(case):
    """(name, method) -> the fit of the response as given."""
    cache = {}

    def get(name, method):
        if (name, method) not in cache:
            cache[name, method] = model_of(case, name, lambda y: y).fit(method=method)
        return cache[name, method]
    return get


@pytest.mark.parametrize("method", ["REML", "ML"])
@pytest.mark.parametrize("name", list(MODELS))
def test_criterion_at_fixed_theta(case, base_fits, name, method):
    """The objective at one theta: shifted data against fl(y + v) - v, scaled data against y."""
    theta = base_fits(name, method).theta
    for v in SHIFTS:
        shifted = model_of(case, name, lambda y, v=v: y + v).objective(method)(theta)
        reference = model_of(case, name, lambda y, v=v: (y + v) - v).objective(method)(theta)
        _close(shifted, reference, RTOL_CRITERION, err_msg=f"shift {v:g}")
    base = model_of(case, name, lambda y: y).objective(method)(theta)
    for s in SCALES:
        m = model_of(case, name, lambda y, s=s: y * s)
        _close(m.objective(method)(theta * s**2) - log_scale_term(m, method, s), base, RTOL_CRITERION,
               err_msg=f"scale {s:g}")


@pytest.mark.parametrize("shift", SHIFTS)
@pytest.mark.parametrize("method", ["REML", "ML"])
@pytest.mark.parametrize("name", list(MODELS))
def test_fit_invariant_to_shift(case, name, method, shift):
    fit = model_of(case, name, lambda y: y + shift).fit(method=method)
    ref = model_of(case, name, lambda y: (y + shift) - shift).fit(method=method)
    assert fit.converged and ref.converged
    _close(fit.deviance, ref.deviance, RTOL_CRITERION, err_msg="criterion")
    assert fit.n_iter == ref.n_iter
    check_fit(fit, ref, shift=shift)


@pytest.mark.parametrize("s", SCALES)
@pytest.mark.parametrize("method", ["REML", "ML"])
@pytest.mark.parametrize("name", list(MODELS))
def test_fit_invariant_to_scale(case, base_fits, name, method, s):
    m = model_of(case, name, lambda y: y * s)
    fit, ref = m.fit(method=method), base_fits(name, method)
    assert fit.converged
    _close(fit.deviance - log_scale_term(m, method, s), ref.deviance, RTOL_CRITERION, err_msg="criterion")
    assert fit.n_iter == ref.n_iter     # the stopping rule does not depend on the units of y
    check_fit(fit, ref, s=s)


@pytest.mark.parametrize("s", [1e-9, 1e9])
def test_profile_intervals_scale_with_the_response(data, s):
    """confint('profile') of s y is s times that of y (its tolerances are relative to sigma)."""
    df = data("Dyestuff")
    ref = hd.fit("Yield ~ 1 + (1|Batch)", df).confint("profile")
    df = df.assign(Yield=df["Yield"] * s)
    tab = hd.fit("Yield ~ 1 + (1|Batch)", df).confint("profile")
    _close(tab[["estimate", "lower", "upper"]].to_numpy() / s, ref[["estimate", "lower", "upper"]].to_numpy(), 1e-6)


def no_intercept_data(seed=5, n_g=7, per=4):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_g), per)
    n = len(g)
    return pd.DataFrame({"g": [f"g{i}" for i in g], "f": np.array(["A", "B", "C"])[np.arange(n) % 3],
                         "x": rng.uniform(1, 3, size=n),
                         "y": 100 + rng.normal(size=n) + np.repeat(rng.normal(size=n_g), per)})


def test_model_without_intercept_is_not_centred_and_equals_dense_oracle():
    """y ~ 0 + x: the constant is not in the column space of X, the response is used as given."""
    m = hd.Model("y ~ 0 + x + (1|g)", no_intercept_data())
    assert m.pattern.ones is None and m.pattern.centre == 0.0
    assert np.array_equal(m.pattern.yc, m.design.y)
    check_against_oracle(m, {"g": 0.7, "Residual": 1.3})


def test_criterion_when_a_covariate_absorbs_the_mean():
    """y + v x for y ~ 0 + x (x in {1, 2}, v a power of two, so y + v x is exact): not centred, the
    criterion stays that of y because y'Py comes from the residuals (y'y - s'W'y cancels: the
    criterion was off by 2e-6 relative at v = 2^20, by 9% at 2^30)."""
    rng = np.random.default_rng(1)
    df = no_intercept_data().assign(x=lambda d: rng.integers(1, 3, len(d)).astype(float))
    theta = np.array([0.8, 1.1])
    ref = hd.Model("y ~ 0 + x + (1|g)", df).objective("REML")(theta)
    for v in [2.0**20, 2.0**30, 2.0**40]:
        m = hd.Model("y ~ 0 + x + (1|g)", df.assign(y=df["y"] + v * df["x"]))
        assert m.pattern.ones is None
        _close(m.objective("REML")(theta), ref, 1e-7 if v < 2.0**40 else 1e-5, err_msg=f"v = {v:g}")


def test_cell_means_model_is_centred_and_equals_dense_oracle():
    """y ~ 0 + f: the indicators of f sum to 1, so y is centred and the solution shifted back."""
    m = hd.Model("y ~ 0 + f + (1|g)", no_intercept_data())
    np.testing.assert_array_equal(m.pattern.ones, [1.0, 1.0, 1.0])
    assert m.pattern.centre in m.design.y
    check_against_oracle(m, {"g": 0.7, "Residual": 1.3})


@pytest.mark.parametrize("shift", [1e6, 1e12])
def test_cell_means_fit_invariant_to_shift(shift):
    """y ~ 0 + f: every cell mean carries the shift."""
    df = no_intercept_data()
    y = df["y"].to_numpy()
    fit = hd.fit("y ~ 0 + f + (1|g)", df.assign(y=y + shift))
    ref = hd.fit("y ~ 0 + f + (1|g)", df.assign(y=(y + shift) - shift))
    _close(fit.deviance, ref.deviance, RTOL_CRITERION)
    _close(fit.theta, ref.theta)
    np.testing.assert_allclose(fit.fixed_effects["estimate"] - shift, ref.fixed_effects["estimate"],
                               rtol=RTOL, atol=8 * np.spacing(shift))
    _close(fit.random_effects["g"]["(Intercept)"], ref.random_effects["g"]["(Intercept)"])


def test_constant_combination():
    ones = np.ones(6)
    f = sp.csc_matrix(np.eye(3)[[0, 1, 2, 0, 1, 2]])
    x = np.arange(6.0)[:, None]
    assert list(constant_combination(sp.csc_matrix(np.column_stack([ones, x])))) == [1, 0]
    assert list(constant_combination(sp.hstack([sp.csc_matrix(x), f], format="csc"))) == [0, 1, 1, 1]
    # a factor after another one that already covers every row: its columns are not taken
    g = sp.csc_matrix(np.eye(2)[[0, 0, 0, 1, 1, 1]])
    assert list(constant_combination(sp.hstack([f, g], format="csc"))) == [1, 1, 1, 0, 0]
    assert constant_combination(sp.csc_matrix(x)) is None
    assert constant_combination(sp.csc_matrix(np.column_stack([ones * 2, x]))) is None
    assert constant_combination(f[:, :2]) is None            # rows of the third level uncovered


def test_centre_is_a_data_value_and_centring_is_exact():
    y = np.array([5.0, 1.0, 4.0, 2.0, 3.0, 6.0]) + 1e12
    assert centre_value(y) == 3.0 + 1e12
    df = pd.DataFrame({"y": y, "g": list("aabbcc")})
    pat = hd.Model("y ~ 1 + (1|g)", df).pattern
    np.testing.assert_array_equal(pat.yc, [2.0, -2.0, 1.0, -1.0, 0.0, 3.0])
    np.testing.assert_array_equal(pat.wty[:1], [3.0])
    assert build_pattern(hd.Model("y ~ 1 + (1|g)", df).design, pat.vm).centre == pat.centre
