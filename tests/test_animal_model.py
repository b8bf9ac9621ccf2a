"""Animal models through the formula: Mrode's textbook example, dense oracles, pruning, two terms on one pedigree."""
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from oracles import tabular_a

import henderson as hd
from henderson.errors import DesignError, PedigreeError

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def mrode():
    data = pd.read_csv(DATA / "mrode_3_1_data.csv")
    ped = hd.read_pedigree(DATA / "mrode_3_1_pedigree.csv", id="calf", sire="sire", dam="dam")
    expected = json.loads((DATA / "mrode_3_1_expected.json").read_text())
    return data, ped, expected


def tabular_A(ped) -> np.ndarray:
    """A of ``ped`` (parents precede offspring in ped.ids) by the tabular method."""
    return tabular_a(ped.sire, ped.dam)


def test_mrode_example_3_1_published_solutions(mrode):
    data, ped, expected = mrode
    m = hd.Model("wwg ~ 0 + sex + (1|calf)", data, relationships={"calf": ped})
    r = m.solve(variances={"calf": expected["sigma2_a"], "Residual": expected["sigma2_e"]})
    fe = r.fixed_effects["estimate"]
    for level, value in expected["sex_solutions"].items():
        assert fe[f"sex{level}"] == pytest.approx(value, abs=6e-4)
    ebv = r.random_effects["calf"]["(Intercept)"]
    assert set(ebv.index) == set(expected["animal_solutions"])   # animals 1-3 have no records
    for animal, value in expected["animal_solutions"].items():
        assert ebv[animal] == pytest.approx(value, abs=6e-4)


def test_pev_and_reliability_against_dense_mme(mrode):
    data, ped, expected = mrode
    s2a, s2e = expected["sigma2_a"], expected["sigma2_e"]
    r = hd.Model("wwg ~ 0 + sex + (1|calf)", data, relationships={"calf": ped}).solve(
        variances={"calf": s2a, "Residual": s2e})
    ids = list(ped.ids)
    A = tabular_A(ped)
    X = pd.get_dummies(data["sex"]).reindex(columns=["Female", "Male"]).to_numpy(float)
    Z = np.zeros((len(data), len(ids)))
    Z[np.arange(len(data)), [ids.index(str(c)) for c in data["calf"]]] = 1.0
    W = np.hstack([X, Z])
    C = W.T @ W / s2e
    C[2:, 2:] += np.linalg.inv(A) / s2a
    Cinv = np.linalg.inv(C)
    sol = Cinv @ (W.T @ data["wwg"].to_numpy() / s2e)
    re = r.random_effects["calf"].reindex(ids)
    np.testing.assert_allclose(re["(Intercept)"], sol[2:], rtol=1e-10, atol=1e-12)
    pev = np.diag(Cinv)[2:]
    np.testing.assert_allclose(re["pev"], pev, rtol=1e-10)
    F = np.diag(A) - 1
    np.testing.assert_allclose(re["F"], F, atol=1e-12)
    np.testing.assert_allclose(re["reliability"], 1 - pev / (s2a * (1 + F)), rtol=1e-10)
    np.testing.assert_allclose(re["accuracy"], np.sqrt(1 - pev / (s2a * (1 + F))), rtol=1e-10)
    np.testing.assert_allclose(r.fixed_effects.loc[["sexFemale", "sexMale"], "std_error"],
                               np.sqrt(np.diag(Cinv)[:2]), rtol=1e-10)


def _simulated(seed=3, n_sires=15, n_dams=150, n_off=600):
    """A small two-generation population with repeated dams and records on the offspring."""
    rng = np.random.default_rng(seed)
    sires = [f"S{i}" for i in range(n_sires)]
    dams = [f"D{i}" for i in range(n_dams)]
    off = [f"O{i}" for i in range(n_off)]
    ped = pd.DataFrame({"id": sires + dams + off,
                        "sire": [None] * (n_sires + n_dams) + list(rng.choice(sires, n_off)),
                        "dam": [None] * (n_sires + n_dams) + list(rng.choice(dams, n_off))})
    a = dict(zip(sires + dams, rng.normal(0, 1, n_sires + n_dams)))
    bv = [0.5 * (a[s] + a[d]) + rng.normal(0, np.sqrt(0.5)) for s, d in zip(ped.sire[-n_off:], ped.dam[-n_off:])]
    mat = dict(zip(dams, rng.normal(0, 0.6, n_dams)))
    herd = rng.integers(0, 12, n_off)
    y = 10 + 0.3 * herd + np.array(bv) + np.array([mat[d] for d in ped.dam[-n_off:]]) + rng.normal(0, 1.2, n_off)
    data = pd.DataFrame({"id": off, "dam": ped.dam[-n_off:].to_numpy(), "herd": herd.astype(str), "y": y})
    return data, hd.Pedigree.from_frame(ped)


def test_two_terms_share_one_pedigree_and_match_dense_loglik():
    data, ped = _simulated()
    m = hd.Model("y ~ herd + (1|id) + (1|dam)", data, relationships={"id": ped, "dam": ped})
    assert m.design.term("id").m == ped.n and m.design.term("dam").m == ped.n
    theta = m.theta({"id": 0.9, "dam": 0.3, "Residual": 1.4})
    # dense REML oracle: V = Z1 A Z1' s1 + Z2 A Z2' s2 + I s2e
    A = tabular_A(ped)
    Z1 = m.design.term("id").Z.toarray()
    Z2 = m.design.term("dam").Z.toarray()
    X = m.design.X.toarray()
    y = m.design.y
    V = 0.9 * Z1 @ A @ Z1.T + 0.3 * Z2 @ A @ Z2.T + 1.4 * np.eye(len(y))
    Vi = np.linalg.inv(V)
    XVX = X.T @ Vi @ X
    b = np.linalg.solve(XVX, X.T @ Vi @ y)
    r = y - X @ b
    m2ll = (len(y) - X.shape[1]) * np.log(2 * np.pi) + np.linalg.slogdet(V)[1] + np.linalg.slogdet(XVX)[1] + r @ Vi @ r
    assert m.objective("REML")(theta) == pytest.approx(m2ll, rel=1e-10)


def test_pruning_keeps_estimates_and_likelihood():
    data, ped = _simulated()
    sub = data.iloc[:300]          # half of the offspring: the other half become prunable leaves
    full = hd.Model("y ~ herd + (1|id)", sub, relationships={"id": ped}).fit()
    pruned = hd.Model("y ~ herd + (1|id)", sub, relationships={"id": ped}, prune=True).fit()
    assert pruned.random_effects["id"].shape[0] < full.random_effects["id"].shape[0]
    assert pruned.loglik == pytest.approx(full.loglik, rel=1e-9)
    np.testing.assert_allclose(pruned.theta, full.theta, rtol=1e-5)
    common = pruned.random_effects["id"].index
    np.testing.assert_allclose(pruned.random_effects["id"]["(Intercept)"],
                               full.random_effects["id"].loc[common, "(Intercept)"], rtol=1e-4, atol=1e-6)


def test_records_of_animals_missing_from_pedigree_are_listed():
    data, ped = _simulated()
    bad = data.copy()
    bad.loc[[3, 7], "id"] = ["ghost1", "ghost2"]
    with pytest.raises(DesignError, match="ghost1.*ghost2|ghost2.*ghost1"):
        hd.Model("y ~ herd + (1|id)", bad, relationships={"id": ped})
    with pytest.raises(PedigreeError, match="ghost1"):
        hd.Model("y ~ herd + (1|id)", bad, relationships={"id": ped}, prune=True)


def _dense_reml_criterion(y, X, ZAZ, s2a, s2e):
    """-2 l_REML from V = s2a Z A Z' + s2e I densely (lme4's REML criterion, constants included)."""
    n, p = X.shape
    V = s2a * ZAZ + s2e * np.eye(n)
    Vi = np.linalg.inv(V)
    XVX = X.T @ Vi @ X
    P = Vi - Vi @ X @ np.linalg.solve(XVX, X.T @ Vi)
    return ((n - p) * np.log(2 * np.pi) + np.linalg.slogdet(V)[1] + np.linalg.slogdet(XVX)[1] + y @ P @ y)


def test_residual_variance_on_the_boundary_is_reached(mrode):
    """Mrode's Example 3.1 data (5 records, 8 animals): the REML optimum has sigma2 = 0 (V = s2a Z A Z' is
    still positive definite). The fit converges there in a few iterations, reports Residual 0 on the
    boundary, and its criterion equals the dense criterion at sigma2 = 0 maximized over s2a."""
    from scipy.optimize import minimize_scalar
    data, ped, _ = mrode
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = hd.fit("wwg ~ 0 + C(sex) + (1|calf)", data, relationships={"calf": ped})
    assert r.converged and r.n_iter < 20
    vc = r.variance_components.set_index("group")
    assert vc.loc["Residual", "boundary"] and vc.loc["Residual", "estimate"] == 0.0
    y = data["wwg"].to_numpy(float)
    X = np.column_stack([(data["sex"] == s).to_numpy(float) for s in ("Female", "Male")])
    pos = ped.positions(data["calf"].astype(str))
    A = tabular_A(ped)
    ZAZ = A[np.ix_(pos, pos)]
    best = minimize_scalar(lambda ls: _dense_reml_criterion(y, X, ZAZ, np.exp(ls), 0.0),
                           bounds=(-10, 10), method="bounded", options={"xatol": 1e-10})
    assert r.deviance == pytest.approx(best.fun, abs=1e-6)
    assert vc.loc["calf", "estimate"] == pytest.approx(np.exp(best.x), rel=1e-5)
    # and sigma2 = 0 is the optimum: a small positive sigma2 is worse in the dense criterion
    assert _dense_reml_criterion(y, X, ZAZ, np.exp(best.x), 1e-3) > best.fun
