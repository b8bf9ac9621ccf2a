"""Grouping of the residual structures: nested forms, lme's default group, order vs time positions."""
from __future__ import annotations

import numpy as np
import pandas as pd

import henderson as hd


def _nested(seed=2):
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({"site": np.repeat(["a", "b", "c"], 40), "id": np.tile(np.repeat(np.arange(10), 4), 3),
                      "week": np.tile(np.arange(1, 5), 30)})
    e = rng.normal(size=(30, 4))
    for t in range(1, 4):   # AR(1) errors within each site/id, rho 0.6
        e[:, t] = 0.6 * e[:, t - 1] + 0.8 * e[:, t]
    d["y"] = e.ravel() + 0.1 * d["week"]
    d["site_id"] = d["site"] + ":" + d["id"].astype(str)
    return d.sample(frac=1.0, random_state=1)   # records in no particular order


def test_nested_group_equals_combined_column():
    d = _nested()
    a = hd.fit("y ~ week", d, correlation=hd.corAR1("~ week | site/id"))
    b = hd.fit("y ~ week", d, correlation=hd.corAR1("~ week | site_id"))
    assert abs(a.loglik - b.loglik) < 1e-9
    np.testing.assert_allclose(a.theta, b.theta, rtol=1e-7)


def test_time_covariate_orders_shuffled_records():
    """With ~ week | g the records' order in the data does not matter; with ~ 1 | g it does (order within group)."""
    d = _nested()
    by_time = hd.fit("y ~ week", d, correlation=hd.corSymm("~ week | site_id"))
    d_sorted = d.sort_values(["site_id", "week"])
    by_order = hd.fit("y ~ week", d_sorted, correlation=hd.corSymm("~ 1 | site_id"))
    assert abs(by_time.loglik - by_order.loglik) < 1e-8


def test_lme_default_group_is_the_random_grouping():
    d = _nested()
    a = hd.fit("y ~ week + (1|site_id)", d, correlation=hd.corCAR1("~ week"))
    b = hd.fit("y ~ week + (1|site_id)", d, correlation=hd.corCAR1("~ week | site_id"))
    assert abs(a.loglik - b.loglik) < 1e-9
