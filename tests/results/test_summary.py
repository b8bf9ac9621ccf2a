"""The text summary and the JSON export: contents checked against lme4 / lmerTest reference values."""
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import henderson as hd

HERE = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def sleep():
    d = pd.read_csv(HERE / "data" / "sleepstudy.csv", dtype={"Subject": str})
    return hd.fit("Reaction ~ Days + (Days|Subject)", d)


@pytest.fixture(scope="module")
def fits_ref():
    return json.loads((HERE / "reference" / "fits.json").read_text())["models"]


@pytest.fixture(scope="module")
def lmertest():
    return json.loads((HERE / "reference" / "inference.json").read_text())["lmerTest"]["sleepstudy"]


def _number_after(text, label):
    return float(re.search(re.escape(label) + r"\s*:?\s*(-?[\d.]+)", text).group(1))


def test_summary_sections(sleep, lmertest):
    text = sleep.summary()
    for part in ["Linear mixed model fit by REML", "Satterthwaite", "Formula: Reaction ~ Days + (Days|Subject)",
                 "Scaled residuals:", "Random effects:", "Number of obs: 180, groups:  Subject, 18",
                 "Fixed effects:", "Std. Error", "Pr(>|t|)", "Convergence: converged"]:
        assert part in text, part
    lines = text.splitlines()
    days = next(l for l in lines if l.strip().startswith("Days ") and "***" in l).split()
    ref = lmertest["satterthwaite"]["coefficients"]
    np.testing.assert_allclose(float(days[1]), ref["estimate"][1], rtol=1e-3)
    np.testing.assert_allclose(float(days[3]), ref["df"][1], rtol=1e-3)
    np.testing.assert_allclose(float(days[4]), ref["t_value"][1], rtol=1e-3)


def test_summary_criterion_and_residual_quantiles(sleep, fits_ref):
    text = sleep.summary()
    ref = fits_ref["sleepstudy_corr"]["REML"]
    np.testing.assert_allclose(_number_after(text, "REML criterion at convergence"), ref["REMLcrit"], rtol=1e-6)
    e = sleep.residuals() / np.sqrt(sleep.sigma2)
    row = text.splitlines()[text.splitlines().index("Scaled residuals:") + 2].split()
    np.testing.assert_allclose([float(x) for x in row], np.quantile(e, [0, .25, .5, .75, 1]), atol=1e-4)


def test_random_effects_block_shows_correlation(sleep):
    sig, _ = sleep.model.vm.unpack(sleep.theta)
    corr = sig[0][0, 1] / np.sqrt(sig[0][0, 0] * sig[0][1, 1])
    line = next(l for l in sleep.summary().splitlines() if l.strip().startswith("Days") and "***" not in l)
    assert line.split()[-1] == f"{corr:.2f}"


def test_to_dict_and_json_hold_everything(sleep, tmp_path):
    d = sleep.to_dict()
    for key in ["formula", "method", "nobs", "loglik", "aic", "bic", "fixed_effects", "variance_components",
                "random_effects", "iterations", "versions", "ddf", "vcov_beta", "vcov_theta", "converged"]:
        assert key in d, key
    assert d["ddf"] == "satterthwaite"
    assert {"numpy", "scipy", "pandas", "python"} <= set(d["versions"])
    back = json.loads(sleep.to_json(tmp_path / "r.json"))
    assert back["fixed_effects"][1]["df"] == pytest.approx(sleep.fixed_effects["df"].iloc[1], rel=1e-12)
    assert json.loads((tmp_path / "r.json").read_text())["nobs"] == 180
    np.testing.assert_allclose(np.array(back["vcov_beta"]), sleep.vcov_beta, rtol=1e-12)


def test_solve_uses_residual_df(sleep):
    r = sleep.model.solve({"Subject": [[612.1, 9.6], [9.6, 35.1]], "Residual": 655.0})
    assert r.ddf == "residual" and np.all(r.fixed_effects["df"] == 178)
    assert "residual df" in r.summary()


def test_solve_summary_makes_no_convergence_claim(sleep):
    """solve() evaluates the criterion at the given variances: no 'fit by', no 'at convergence'."""
    r = sleep.model.solve({"Subject": [[612.1, 9.6], [9.6, 35.1]], "Residual": 655.0})
    text = r.summary()
    assert "at convergence" not in text and "fit by" not in text
    assert "solved at given variances (no estimation)" in text
    np.testing.assert_allclose(_number_after(text, "REML criterion at the given variances"), r.deviance, rtol=1e-6)


def test_unconverged_fit_summary_says_so(sleep):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = sleep.model.fit(max_iter=1)
    assert r.converged is False
    assert "REML criterion at the last iteration (NOT converged)" in r.summary()
