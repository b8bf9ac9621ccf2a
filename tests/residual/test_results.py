"""Results of structured-residual fits: summary in nlme's layout, to_json, GLS title, iteration log names."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

import henderson as hd

D = Path(__file__).parents[1] / "reference" / "nlme"


def _orth():
    return pd.read_csv(D / "Orthodont.csv")


def test_unstructured_gls_summary_in_nlme_layout():
    r = hd.fit("distance ~ Sex * C(age)", _orth(), correlation="corSymm(~ 1 | Subject)",
               variance="varIdent(~ 1 | age)")
    text = r.summary()
    assert text.startswith("Generalized least squares fit by REML")
    block = text[text.index("Correlation Structure"):text.index("Fixed effects")].splitlines()
    assert block[:4] == ["Correlation Structure: General", " Formula: ~ 1 | Subject", " Parameter estimate(s):",
                         " Correlation:"]
    assert block[5].split() == ["2", "0.571"]
    assert block[7].split() == ["4", "0.522", "0.726", "0.728"]
    assert block[8:12] == ["Variance function:", " Structure: Different standard deviations per stratum",
                           " Formula: ~ 1 | age", " Parameter estimates:"]
    assert block[12].split() == ["8", "10", "12", "14"]
    assert [round(float(x), 4) for x in block[13].split()] == [1.0, 0.8791, 1.0918, 0.9595]


def test_lme_summary_and_json():
    ov = pd.read_csv(D / "Ovary.csv", dtype={"Mare": str})
    r = hd.fit("follicles ~ s1 + c1 + (1|Mare)", ov, correlation=hd.corAR1("~ 1 | Mare"))
    text = r.summary()
    assert text.startswith("Linear mixed model fit by REML")
    assert "Correlation Structure: AR(1)\n Formula: ~ 1 | Mare\n Parameter estimate(s):\n        Phi\n   0.607" in text
    vc = json.loads(r.to_json())["variance_components"]
    phi = [row for row in vc if row["term1"] == "corAR1"]
    assert len(phi) == 1 and abs(phi[0]["estimate"] - 0.607442) < 1e-4 and phi[0]["std_error"] > 0
    assert "Residual/corAR1/Phi" in r.iterations.columns


def test_inference_methods_use_residual_df_and_exact_dC():
    """coef_table / anova run (n - p df); the Jacobian of Var(b) over a structured R equals differences."""
    import numpy as np

    from henderson.inference.vcov import coefficient_covariance
    sleep = hd.datasets.load("sleepstudy")
    m = hd.Model("Reaction ~ Days + (1|Subject)", sleep, correlation=hd.corAR1("~ Days | Subject"))
    r = m.fit()
    assert (r.coef_table()["df"] == 178).all() and r.anova()["den_df"].iloc[0] == 178
    obj = m.objective("REML")
    V, jac = coefficient_covariance(obj, r.theta)
    h = 1e-6
    for j in range(len(r.theta)):
        e = np.zeros(len(r.theta))
        e[j] = h * max(1.0, abs(r.theta[j])) if j < 2 else h
        plus, minus = coefficient_covariance(obj, r.theta + e)[0], coefficient_covariance(obj, r.theta - e)[0]
        num = (np.diag(plus) - np.diag(minus)) / (2 * e[j])
        np.testing.assert_allclose(jac[:, j], num, rtol=1e-4, atol=1e-9)


def test_solve_and_start_take_structure_parameters_by_name():
    sleep = hd.datasets.load("sleepstudy")
    m = hd.Model("Reaction ~ Days + (1|Subject)", sleep, correlation=hd.corAR1("~ Days | Subject"))
    r = m.fit()
    known = {"Subject": r.theta[0], "Residual": r.theta[1], "Residual:Phi": r.theta[2]}
    s = m.solve(variances=known)
    assert abs(s.loglik - r.loglik) < 1e-9
    again = m.fit(start=known)
    assert abs(again.loglik - r.loglik) < 1e-7


def test_variance_function_summary_names_and_solve():
    bw = pd.read_csv(D / "BodyWeight.csv", dtype={"Rat": str, "Diet": str})
    m = hd.Model("weight ~ Time * Diet + (1|Rat)", bw, variance="varPower(form = ~ Time)")
    r = m.fit()
    text = r.summary()
    block = text[text.index("Variance function:"):text.index("Fixed effects")].splitlines()
    assert block[:4] == ["Variance function:", " Structure: Power of variance covariate", " Formula: ~ Time",
                         " Parameter estimates:"]
    assert block[4].split() == ["power"] and abs(float(block[5]) - -0.190797) < 1e-5
    vc = r.variance_components
    assert list(vc.term1.iloc[2:]) == ["varPower"] and list(vc.term2.iloc[2:]) == ["power"]
    s = m.solve(variances={"Rat": r.theta[0], "Residual": r.theta[1], "Residual:power": r.theta[2]})
    assert abs(s.loglik - r.loglik) < 1e-9
