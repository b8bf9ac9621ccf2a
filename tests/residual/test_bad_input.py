"""Bad input to the residual structures: typed errors and warnings naming what is at fault."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import henderson as hd
from henderson.errors import ConvergenceWarning, DesignError


def _long(n=30, t=4, seed=1):
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({"id": np.repeat([f"s{i}" for i in range(n)], t), "week": np.tile(np.arange(1, t + 1), n)})
    d["y"] = rng.normal(size=len(d)) + np.repeat(rng.normal(size=n), t)
    return d


def test_time_repeated_within_group():
    d = _long()
    d.loc[1, "week"] = 1
    with pytest.raises(DesignError, match=r"repeated within group\(s\) s0"):
        hd.Model("y ~ 1", d, correlation=hd.corSymm("~ week | id"))


def test_stratum_with_one_record():
    d = _long()
    d["arm"] = "a"
    d.loc[5, "arm"] = "b"
    with pytest.raises(DesignError, match="stratum b has a single record"):
        hd.Model("y ~ 1", d, variance=hd.varIdent("~ 1 | arm"))


@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan])
def test_weights_not_positive_or_missing(bad):
    d = _long()
    d["w"] = 1.0
    d.loc[7, "w"] = bad
    with pytest.raises(DesignError, match=r"weights: column 'w' must be positive and finite; not so in rows 7"):
        hd.Model("y ~ 1 + (1|id)", d, weights="w")


def test_weights_column_absent():
    with pytest.raises(DesignError, match="weights: column 'nope' not in the data"):
        hd.Model("y ~ 1", _long(), weights="nope")


@pytest.mark.parametrize("corr", ["corSymm(~ 1 | id)", "corCompSymm(~ 1 | id)"])
def test_random_intercept_confounded_with_unstructured_residual(corr):
    with pytest.raises(DesignError, match=r"random intercept \(1\|id\) is confounded with the residual cor"):
        hd.Model("y ~ 1 + (1|id)", _long(), correlation=corr, variance="varIdent(~ 1 | week)")


def test_coarser_random_intercept_is_allowed():
    d = _long()
    d["site"] = d["id"].str[-1]
    hd.Model("y ~ 1 + (1|site)", d, correlation=hd.corSymm("~ 1 | id"))


def test_bad_strings():
    with pytest.raises(DesignError, match="expected one of"):
        hd.Model("y ~ 1", _long(), correlation="corARMA(~ 1 | id)")
    with pytest.raises(DesignError, match="column 'nope' not in the data"):
        hd.Model("y ~ 1", _long(), correlation="corAR1(~ 1 | nope)")
    with pytest.raises(DesignError, match="must be integer"):
        d = _long()
        d["t"] = d["week"] + 0.5 * (d.index % 2)
        hd.Model("y ~ 1", d, correlation="corAR1(~ t | id)")


def test_correlation_at_one_is_reported():
    rng = np.random.default_rng(3)
    n, t = 40, 5
    d = pd.DataFrame({"id": np.repeat(np.arange(n), t), "week": np.tile(np.arange(t), n)})
    d["y"] = np.repeat(rng.normal(size=n), t) + 1e-4 * rng.normal(size=n * t)   # within-group correlation 1
    with pytest.warns(ConvergenceWarning, match="residual correlation on the boundary.*corAR1 Phi"):
        hd.fit("y ~ 1", d, correlation=hd.corAR1("~ 1 | id"))


def test_string_and_object_forms_agree():
    d = _long()
    a = hd.fit("y ~ 1", d, correlation="corAR1(form = ~ 1 | id)")
    b = hd.fit("y ~ 1", d, correlation=hd.corAR1("1 | id"))
    assert a.loglik == b.loglik


def test_em_refused_with_a_structure():
    with pytest.raises(DesignError, match="algorithm='em' has no update for the residual structure"):
        hd.fit("y ~ 1", _long(), correlation=hd.corAR1("~ 1 | id"), algorithm="em")


def test_repeated_index_labels():
    d = _long()
    ref = hd.fit("y ~ 1", d, correlation=hd.corAR1("~ week | id"))
    d.index = [0] * len(d)
    assert abs(hd.fit("y ~ 1", d, correlation=hd.corAR1("~ week | id")).loglik - ref.loglik) < 1e-10
    d.loc[:, "y"] = d["y"].where(np.arange(len(d)) != 3)
    with pytest.warns(hd.MissingDataWarning), pytest.raises(DesignError, match="index has repeated labels"):
        hd.Model("y ~ 1", d, correlation=hd.corAR1("~ week | id"))


def test_variance_covariate_zero_non_numeric_or_missing():
    d = _long()
    d["v"], d["lab"] = d.week - 1.0, d.week.astype(str)
    with pytest.raises(DesignError, match=r"varPower\(~ v\): column 'v' is 0 in rows 0, 4, 8"):
        hd.Model("y ~ 1 + (1|id)", d, variance=hd.varPower("~ v"))
    hd.Model("y ~ 1 + (1|id)", d, variance=hd.varExp("~ v"))        # exp(delta 0) = 1: fine
    with pytest.raises(DesignError, match="column 'lab' must be numeric"):
        hd.Model("y ~ 1 + (1|id)", d, variance="varExp(~ lab)")
    with pytest.raises(DesignError, match="column 'nope' not in the data"):
        hd.Model("y ~ 1 + (1|id)", d, variance="varPower(~ nope)")
    d.loc[3, "v"] = np.nan
    with pytest.raises(DesignError, match="column 'v' has missing values in rows 3"):
        hd.Model("y ~ 1 + (1|id)", d, variance=hd.varExp("~ v"))


@pytest.mark.parametrize("bad, match", [("varPower(form = ~ fitted(.))", "fitted values is not supported"),
                                        ("varExp(~ week | id)", "strata '| g' are not supported"),
                                        ("varPower(~ 1)", "takes a numeric covariate")])
def test_variance_function_forms_refused(bad, match):
    with pytest.raises(DesignError, match=match):
        hd.Model("y ~ 1 + (1|id)", _long(), variance=bad)
