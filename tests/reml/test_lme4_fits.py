"""REML and ML fits equal lme4's (tests/reference/fits.json, lme4 1.1-31, bobyqa with tight rhoend).

Deviance (REMLcrit for REML, -2 logLik for ML) to 1e-6 relative; variance components, fixed
effects (estimate, standard error) and BLUPs to 1e-4 relative (absolute 1e-6 of their scale
for values at zero); both AI and EM reach the same optimum.
"""
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import henderson as hd

REFERENCE = Path(__file__).parents[1] / "reference"
with open(REFERENCE / "fits.json") as _fh:
    FITS = json.load(_fh)["models"]

RTOL_DEV, RTOL = 1e-6, 1e-4


@pytest.fixture(scope="module")
def model(data):
    """model(name) -> the hd.Model of reference case ``name`` (built once per module)."""
    cache = {}

    def get(name):
        if name not in cache:
            ref = FITS[name]
            cache[name] = hd.Model(ref["formula"], data(ref["data"]))
        return cache[name]
    return get


def target_deviance(ref):
    return ref["REMLcrit"] if ref["REML"] else ref["minus2logLik"]


def _close(actual, expected, rtol, scale):
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=1e-6 * scale)


def _vc_key(group, a, b):
    """Variance-component key: a covariance's two effect names in either order."""
    return (group, frozenset(x for x in (a, b) if x))


def check_fit(fit, ref):
    assert fit.converged
    assert fit.nobs == ref["nobs"]
    np.testing.assert_allclose(fit.deviance, target_deviance(ref), rtol=RTOL_DEV)
    # variance components: match (group, {var1, var2}); lme4 writes covariances as (var1, var2) = (a, b)
    vc_ref = ref["varcorr"]
    expected = {_vc_key(g, v1 or "", v2 or ""): v for g, v1, v2, v in
                zip(vc_ref["grp"], vc_ref["var1"], vc_ref["var2"], vc_ref["vcov"])}
    vc = fit.variance_components
    ours = {_vc_key(g, a, b): v for g, a, b, v in zip(vc.group, vc.term1, vc.term2, vc.estimate)}
    assert ours.keys() == expected.keys()
    scale = max(abs(v) for v in expected.values())
    for key, v in expected.items():
        _close(ours[key], v, RTOL, scale)
    # fixed effects
    fe = fit.fixed_effects
    assert list(fe.index) == ref["fixef"]["names"]
    _close(fe["estimate"], ref["fixef"]["estimate"], RTOL, np.abs(ref["fixef"]["estimate"]).max())
    _close(fe["std_error"], ref["fixef"]["std_error"], RTOL, np.abs(ref["fixef"]["std_error"]).max())
    # BLUPs (conditional modes); lme4 names the second term of (x||g) by its group 'g' too
    for group, r in ref["ranef"].items():
        ours_groups = [g for g, re in fit.random_effects.items()
                       if g.split(".")[0] == group and set(r["effects"]) >= set(re.columns[:1])]
        for g in ours_groups:
            re = fit.random_effects[g]
            assert [str(v) for v in re.index] == r["levels"]
            for eff in r["effects"]:
                if eff in re.columns:
                    vals = np.asarray(r["values"][eff])
                    _close(re[eff], vals, RTOL, max(np.abs(vals).max(), np.sqrt(fit.sigma2)))


CASES = [(name, method, alg) for name in FITS for method in ("REML", "ML") for alg in ("ai", "em")]


@pytest.mark.parametrize("name,method,algorithm", CASES)
def test_fit_equals_lme4(model, name, method, algorithm):
    ref = FITS[name][method]
    with warnings.catch_warnings():
        warnings.simplefilter("error", hd.ConvergenceWarning)
        fit = model(name).fit(method=method, algorithm=algorithm)
    assert fit.method == method
    check_fit(fit, ref)


@pytest.mark.parametrize("method", ["REML", "ML"])
@pytest.mark.parametrize("algorithm", ["ai", "em"])
def test_dyestuff2_batch_variance_on_boundary(model, method, algorithm):
    fit = model("Dyestuff2").fit(method=method, algorithm=algorithm)
    vc = fit.variance_components.set_index("group")
    assert vc.loc["Batch", "estimate"] == 0.0
    assert bool(vc.loc["Batch", "boundary"])
    assert not bool(vc.loc["Residual", "boundary"])
    assert FITS["Dyestuff2"][method]["isSingular"]


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_objective_at_lme4_estimates_is_lme4_criterion(model, method):
    """The deviance function at lme4's variance estimates equals lme4's criterion (no optimizer involved)."""
    for name, entry in FITS.items():
        ref = entry[method]
        if ref["isSingular"]:
            continue
        m = model(name)
        vc = ref["varcorr"]
        variances = {"Residual": vc["vcov"][-1]}
        for t in m.vm.terms:
            S = np.zeros((t.q, t.q))
            for g, v1, v2, v in zip(vc["grp"], vc["var1"], vc["var2"], vc["vcov"]):
                if g == t.name:
                    a, b = t.effects.index(v1), t.effects.index(v2 or v1)
                    S[a, b] = S[b, a] = v
            variances[t.name] = S
        np.testing.assert_allclose(m.objective(method)(m.theta(variances)), target_deviance(ref), rtol=1e-7)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["REML", "ML"])
def test_insteval(data, method):
    with open(REFERENCE / "fits_insteval.json") as fh:
        entry = json.load(fh)["models"]["InstEval"]
    m = hd.Model(entry["formula"], data("InstEval"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hd.AliasedColumnsWarning)
        fit = m.fit(method=method)
    check_fit(fit, entry[method])
