"""Many traits on one design: Model.with_response and fit_traits share the symbolic analysis of the MME
and give the fits of separate models (same ordering, so the same numbers up to rounding)."""
import warnings

import numpy as np
import pandas as pd
import pytest

import henderson as hd
from henderson.errors import DesignError, MissingDataWarning
from henderson.model import trait_models

TOL = dict(rel=1e-8, abs=1e-8)


def assert_same_fit(a, b, rel=1e-8):
    assert a.loglik == pytest.approx(b.loglik, rel=rel, abs=rel)
    np.testing.assert_allclose(a.theta, b.theta, rtol=rel, atol=rel)
    np.testing.assert_allclose(a.fixed_effects["estimate"], b.fixed_effects["estimate"], rtol=rel, atol=rel)
    for name in a.random_effects:
        np.testing.assert_allclose(a.random_effects[name].to_numpy(), b.random_effects[name].to_numpy(),
                                   rtol=rel, atol=rel)


def crossed(seed: int, traits: int = 3) -> pd.DataFrame:
    """A random crossed design (g with 30 levels, h with 8, covariate x) and ``traits`` responses."""
    rng = np.random.default_rng(seed)
    n = 240
    d = pd.DataFrame({"g": rng.integers(0, 30, n).astype(str), "h": rng.integers(0, 8, n).astype(str),
                      "x": rng.normal(size=n)})
    ug, uh = rng.normal(size=(traits, 30)), rng.normal(size=(traits, 8))
    for k in range(traits):
        d[f"y{k}"] = (10 * k + 2 * d["x"] + 1.5 * ug[k][d["g"].astype(int)] + 0.7 * uh[k][d["h"].astype(int)]
                      + rng.normal(size=n))
    return d


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("method", ["REML", "ML"])
def test_shared_analysis_equals_separate_fits_on_random_designs(seed, method):
    d = crossed(seed)
    formula = "~ x + (1|g) + (1|h)"
    shared = hd.fit_traits(formula, ["y0", "y1", "y2"], d, method=method)
    for trait, fit in shared.items():
        assert_same_fit(fit, hd.fit(f"{trait} ~ x + (1|g) + (1|h)", d, method=method))


def test_models_share_one_analysis_and_refactor_numerically():
    d = crossed(3)
    base = hd.Model("y0 ~ x + (1|g) + (1|h)", d)
    other = base.with_response("y1")
    assert other.shares_analysis and not base.shares_analysis
    assert other.objective()._factor is base.objective()._factor
    assert other.vm is base.vm
    # alternate between the models: each refactors when the other one last held the factor
    theta = base.fit().theta
    a1, b1 = base.objective()(theta), other.objective()(theta)
    assert base.objective()(theta) == a1 and other.objective()(theta) == b1
    assert a1 == pytest.approx(hd.Model("y0 ~ x + (1|g) + (1|h)", d).objective()(theta), rel=1e-12)
    assert b1 == pytest.approx(hd.Model("y1 ~ x + (1|g) + (1|h)", d).objective()(theta), rel=1e-12)


def test_traits_missing_on_other_rows_get_their_own_analysis():
    d = crossed(4, traits=4)
    d.loc[[3, 50, 77], "y1"] = np.nan      # other rows than y0
    d.loc[[5, 6], "y3"] = np.nan
    d.loc[[5, 6], "y0"] = np.nan            # y0 and y3: the same rows
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingDataWarning)
        models = trait_models("~ x + (1|g) + (1|h)", ["y0", "y1", "y2", "y3"], d)
        assert [m.shares_analysis for m in models.values()] == [False, False, False, True]
        shared = hd.fit_traits("~ x + (1|g) + (1|h)", ["y0", "y1", "y2", "y3"], d)
        for trait, fit in shared.items():
            separate = hd.fit(f"{trait} ~ x + (1|g) + (1|h)", d)
            assert fit.nobs == separate.nobs
            assert_same_fit(fit, separate)


def test_animal_model_traits_share_the_analysis():
    data, ped, _ = hd.simulate(400, n_generations=4, record_fraction=1.0, seed=5)
    rng = np.random.default_rng(6)
    data["y1"] = data["y"] * 0.5 + rng.normal(size=len(data))
    data["y2"] = data["y"] + 3 * rng.normal(size=len(data))
    data.loc[data.index[:7], "y2"] = np.nan
    rels = {"id": hd.Pedigree.from_frame(ped)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingDataWarning)
        shared = hd.fit_traits("~ 1 + (1|herd) + (1|id)", ["y", "y1", "y2"], data, relationships=rels)
        for trait, fit in shared.items():
            assert_same_fit(fit, hd.fit(f"{trait} ~ 1 + (1|herd) + (1|id)", data, relationships=rels))


def test_warm_start_reaches_the_same_estimates():
    d = crossed(7, traits=3)
    cold = hd.fit_traits("~ x + (1|g) + (1|h)", ["y0", "y1", "y2"], d)
    warm = hd.fit_traits("~ x + (1|g) + (1|h)", ["y0", "y1", "y2"], d, warm_start=True)
    for trait in cold:
        assert warm[trait].converged
        assert warm[trait].loglik == pytest.approx(cold[trait].loglik, rel=1e-9)
        np.testing.assert_allclose(warm[trait].theta, cold[trait].theta, rtol=1e-4)
    assert_same_fit(warm["y0"], cold["y0"])      # the first trait starts cold either way


def test_start_as_a_theta_vector_is_checked():
    d = crossed(8)
    m = hd.Model("y0 ~ x + (1|g) + (1|h)", d)
    r = m.fit()
    assert_same_fit(m.fit(start=r.theta), r, rel=1e-6)
    with pytest.raises(DesignError, match="theta of 3 values"):
        m.fit(start=[1.0, 2.0])


def test_bad_trait_lists_are_design_errors():
    d = crossed(9)
    with pytest.raises(DesignError, match="more than once"):
        hd.fit_traits("~ x + (1|g)", ["y0", "y0"], d)
    with pytest.raises(DesignError, match="at least one trait"):
        hd.fit_traits("~ x + (1|g)", [], d)
    with pytest.raises(DesignError, match="no '~'"):
        hd.fit_traits("x + (1|g)", ["y0"], d)
    with pytest.raises(DesignError, match=r"'nope'"):
        hd.fit_traits("~ x + (1|g)", ["y0", "nope"], d)
