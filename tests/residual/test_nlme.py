"""Structured residuals against nlme (tests/reference/nlme/make_nlme.R writes nlme_fits.json and the data):
log-likelihood to 1e-6 relative, fixed effects and structure parameters to 1e-4, REML and ML, lme and gls."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import henderson as hd

D = Path(__file__).parents[1] / "reference" / "nlme"
REF = json.loads((D / "nlme_fits.json").read_text())
MALE = "C(Sex, Treatment('Male'))"


def _data(name):
    return pd.read_csv(D / f"{name}.csv", dtype={"Rat": str, "Diet": str, "Mare": str, "Subject": str})


CASES = {
    "orthodont_varident_lme": (f"distance ~ age * {MALE} + (1|Subject)", "Orthodont",
                               dict(variance=hd.varIdent("~ 1 | Sex"))),
    "bodyweight_car1_lme": ("weight ~ Time * Diet + (1|Rat)", "BodyWeight",
                            dict(correlation=hd.corCAR1("~ Time | Rat"))),
    "ovary_ar1_lme": ("follicles ~ s1 + c1 + (1|Mare)", "Ovary", dict(correlation=hd.corAR1("~ 1 | Mare"))),
    "orthodont_un_gls": (f"distance ~ {MALE} * C(age)", "Orthodont",
                         dict(correlation=hd.corSymm("~ 1 | Subject"), variance=hd.varIdent("~ 1 | age"))),
    "orthmissing_un_gls": (f"distance ~ {MALE} * C(age)", "OrthodontMissing",
                           dict(correlation="corSymm(~ occ | Subject)", variance="varIdent(~ 1 | age)")),
    "orthmissing_ar1_lme": (f"distance ~ age + {MALE} + (1|Subject)", "OrthodontMissing",
                            dict(correlation=hd.corAR1("~ occ | Subject"))),
    "orthodont_cs_gls": (f"distance ~ age + {MALE}", "Orthodont", dict(correlation=hd.corCompSymm("~ 1 | Subject"))),
    "bodyweight_car1_gls": ("weight ~ Time * Diet", "BodyWeight", dict(correlation=hd.corCAR1("~ Time | Rat"))),
    "ovary_ar1_gls": ("follicles ~ s1 + c1", "Ovary", dict(correlation=hd.corAR1("~ 1 | Mare"))),
    "orthodont_weights_lme": ("distance ~ age + (1|Subject)", "Orthodont", dict(weights="w")),
    "orthodont_weights_ar1_gls": ("distance ~ age", "Orthodont",
                                  dict(weights="w", correlation="corAR1(~ 1 | Subject)")),
    "bodyweight_power_lme": ("weight ~ Time * Diet + (1|Rat)", "BodyWeight",
                             dict(variance="varPower(form = ~ Time)")),
    "orthodont_exp_gls": (f"distance ~ age + {MALE}", "Orthodont", dict(variance=hd.varExp("~ age"))),
}


def _close(a, b, tol=1e-4):
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert np.all(np.abs(a - b) <= tol * np.maximum(1.0, np.abs(b))), (a, b)


@pytest.mark.parametrize("method", ["REML", "ML"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_equal_to_nlme(case, method):
    formula, data, kw = CASES[case]
    ref = REF[f"{case}_{method}"]
    r = hd.fit(formula, _data(data), method=method, tol=1e-12, **kw)
    assert r.converged
    assert abs(r.loglik - ref["logLik"]) <= 1e-6 * abs(ref["logLik"])
    _close(r.fixed_effects["estimate"].to_numpy(), list(ref["coef"].values()))
    vc = r.variance_components
    res = vc[vc.group == "Residual"]
    cor = res[res.term1.str.startswith("cor")].estimate.to_numpy()
    _close(cor, ref["cor"] or [])
    scale = 1.0
    fun = res[res.term1.isin(["varPower", "varExp"])]
    if len(fun):     # nlme's power / expon
        _close(fun.estimate.to_numpy(), list(ref["var"].values()))
    elif ref["var"]:   # nlme's reference stratum is its first after its own reordering: compare ratios
        sd = dict(zip(res[res.term1 == "varIdent"].term2, res[res.term1 == "varIdent"].estimate))
        first = next(k for k in ref["var"] if k not in sd)
        sd[first] = 1.0
        scale = sd[next(iter(ref["var"]))]
        _close([sd[k] / scale for k in ref["var"]], list(ref["var"].values()))
    _close(res.estimate.iloc[0] * scale**2, ref["sigma"] ** 2, 2e-4)   # sigma2 is flat: nlme stops ~1e-4 away
    if "re_var" in ref:
        _close(vc.estimate.iloc[0], ref["re_var"], 2e-4)


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_marginal_covariance_is_getVarCov(method):
    formula, data, kw = CASES["orthodont_un_gls"]
    r = hd.fit(formula, _data(data), method=method, tol=1e-12, **kw)
    _close(r.marginal_covariance("Subject", "M01").to_numpy(), REF[f"orthodont_un_gls_{method}"]["varcov_M01"], 2e-4)
    formula, data, kw = CASES["orthmissing_un_gls"]
    r = hd.fit(formula, _data(data), method=method, tol=1e-12, **kw)
    _close(r.marginal_covariance("Subject", "M03").to_numpy(), REF[f"orthmissing_un_gls_{method}"]["varcov_M03"],
           2e-4)
