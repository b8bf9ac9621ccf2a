"""Score and AI of the structured residual's parameters against numerical derivatives (central
differences of the REML/ML log-likelihood; dV/dtheta by differences of the dense V(theta))."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import henderson as hd
from henderson.reml.derivatives import derivatives

D = Path(__file__).parents[1] / "reference" / "nlme"


def _orth():
    d = pd.read_csv(D / "Orthodont.csv")
    d = d[d.Subject.isin(sorted(d.Subject.unique())[::2])].reset_index(drop=True)
    d["w"] = 1.0 + (np.arange(len(d)) % 3) / 2
    return d


def _bw():
    d = pd.read_csv(D / "BodyWeight.csv", dtype={"Rat": str, "Diet": str})
    return d[d.Rat.isin([str(i) for i in range(1, 9)])].reset_index(drop=True)


MODELS = {
    "un_gls": lambda: hd.Model("distance ~ Sex + C(age)", _orth(), correlation=hd.corSymm("~ 1 | Subject"),
                               variance=hd.varIdent("~ 1 | age")),
    "ar1_lme": lambda: hd.Model("distance ~ age + (1|Subject)", _orth(), correlation=hd.corAR1("~ occ | Subject")),
    "car1_lme": lambda: hd.Model("weight ~ Time + (1|Rat)", _bw(), correlation=hd.corCAR1("~ Time | Rat")),
    "cs_gls": lambda: hd.Model("distance ~ age", _orth(), correlation=hd.corCompSymm("~ 1 | Subject")),
    "varident_lme": lambda: hd.Model("distance ~ age + (1|Subject)", _orth(), variance=hd.varIdent("~ 1 | Sex")),
    "weights_lme": lambda: hd.Model("distance ~ age + (1|Subject)", _orth(), weights="w"),
    "power_lme": lambda: hd.Model("weight ~ Time + (1|Rat)", _bw(), variance=hd.varPower("~ Time")),
    "exp_ar1_gls": lambda: hd.Model("distance ~ age", _orth(), correlation=hd.corAR1("~ 1 | Subject"),
                                    variance=hd.varExp("~ age")),
    "ar1_varident_lme": lambda: hd.Model("distance ~ age + (1|Subject)", _orth(),
                                         correlation=hd.corAR1("~ 1 | Subject"), variance=hd.varIdent("~ 1 | Sex")),
}


def _theta(model):
    """A point away from the optimum with every structure parameter inside its range."""
    vm = model.vm
    theta = vm.pack([np.eye(t.q) * 2.0 for t in vm.terms], 3.0)
    res = vm.residual
    extra = np.concatenate([np.linspace(0.2, 0.4, res.n_cor), 0.8 + 0.1 * np.arange(res.variance.n_params)])
    theta[vm.residual_slice.start + 1:] = extra
    return theta


def _dense_V(model, theta):
    vm, design = model.vm, model.design
    Z = design.Z.toarray()
    params = vm.at(theta)
    G = np.zeros((Z.shape[1],) * 2)
    pos = 0
    for t, S in zip(vm.terms, params.sigmas):
        G[pos:pos + t.q * t.m, pos:pos + t.q * t.m] = np.kron(S, np.eye(t.m))
        pos += t.q * t.m
    return Z @ G @ Z.T + params.residual.covariance().toarray()


@pytest.mark.parametrize("method", ["REML", "ML"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_score_and_ai_equal_numerical(name, method):
    model = MODELS[name]()
    obj = model.objective(method)
    theta = _theta(model)
    d = derivatives(obj, obj.at(theta))
    h = 1e-5
    num = np.empty(len(theta))
    dV = []
    for j in range(len(theta)):
        e = np.zeros(len(theta))
        e[j] = h * max(1.0, abs(theta[j])) if j < model.vm.residual_slice.start + 1 else h
        num[j] = (obj.at(theta + e).loglik - obj.at(theta - e).loglik) / (2 * e[j])
        dV.append((_dense_V(model, theta + e) - _dense_V(model, theta - e)) / (2 * e[j]))
    np.testing.assert_allclose(d.score, num, rtol=1e-5, atol=1e-6 * np.abs(num).max())
    X, y = model.design.X.toarray(), model.design.y
    Vi = np.linalg.inv(_dense_V(model, theta))
    P = Vi - Vi @ X @ np.linalg.solve(X.T @ Vi @ X, X.T @ Vi)
    Py = P @ y
    ai = np.array([[0.5 * Py @ A @ P @ B @ Py for B in dV] for A in dV])
    np.testing.assert_allclose(d.ai, ai, rtol=1e-5, atol=1e-7 * np.abs(ai).max())
