"""Model.solve and the REML/ML objective against the dense textbook formulas.

    V = Z G Z' + sigma2 I,   b = (X'V^-1X)^-1 X'V^-1 y,   u = G Z'V^-1 (y - X b)
    Var(b) = (X'V^-1X)^-1,   PEV = diag(G - G Z' P Z G),   P = V^-1 - V^-1 X (X'V^-1X)^-1 X'V^-1
    -2 l_REML = (n-p) log 2pi + log|V| + log|X'V^-1X| + r'V^-1 r
    -2 l_ML   =  n    log 2pi + log|V| + r'V^-1 r,            r = y - X b

on small random designs (hypothesis chooses shapes, balance and variances).
"""
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import henderson as hd

LOG2PI = np.log(2 * np.pi)
KINDS = ["intercept", "slope2", "slope3", "crossed", "nested", "kinv", "kinv_and_crossed", "no_fixed"]
FORMULAS = {
    "intercept": "y ~ x + f + (1|g)",
    "slope2": "y ~ x + (1 + x|g)",
    "slope3": "y ~ x + (1 + x + z|g)",
    "crossed": "y ~ x + (1|g) + (1|h)",
    "nested": "y ~ f + (1|g/h)",
    "kinv": "y ~ x + (1|id)",
    "kinv_and_crossed": "y ~ f + (1|id) + (1|g)",
    "no_fixed": "y ~ 0 + (1|g) + (1|h)",
}


def _random_spd(rng, q, scale):
    A = rng.normal(size=(q, q))
    return scale * (A @ A.T / q + 0.3 * np.eye(q))


def make_case(seed, kind, n_g, n_h, per, balanced):
    """A data set, formula, relationships and variances for one random case."""
    rng = np.random.default_rng(seed)
    counts = np.full(n_g, per) if balanced else rng.integers(1, 2 * per + 1, size=n_g)
    counts[0] += max(0, 10 - counts.sum())      # n >= 10 > p + 1
    g = np.repeat(np.arange(n_g), counts)
    n = len(g)
    df = pd.DataFrame({
        "g": np.array([f"g{i:02d}" for i in g]),
        "h": np.array([f"h{i}" for i in (rng.integers(0, n_h, size=n) if not balanced
                                          else np.arange(n) % n_h)]),
        "x": rng.normal(size=n),
        "z": rng.uniform(-1, 1, size=n),
        "f": np.array(["A", "B", "C"])[np.arange(n) % 3],
    })
    relationships = None
    if kind.startswith("kinv"):
        n_id = n_g + 3          # 3 ids without records
        df["id"] = df["g"].str.replace("g", "a")
        ids = np.array([f"a{i:02d}" for i in range(n_id)])
        ids = ids[rng.permutation(n_id)]
        B = rng.normal(size=(n_id, n_id)) * (rng.random((n_id, n_id)) < 0.2)
        K = B @ B.T / n_id + np.eye(n_id)
        relationships = {"id": (sp.csc_matrix(np.linalg.inv(K)), ids)}
    df["y"] = rng.normal(size=n) + 2 * df.x
    model = hd.Model(FORMULAS[kind], df, relationships=relationships)
    variances = {"Residual": float(rng.uniform(0.3, 2.0))}
    for t in model.vm.terms:
        variances[t.name] = _random_spd(rng, t.q, rng.uniform(0.1, 3.0)) if t.q > 1 else float(rng.uniform(0.05, 3.0))
    return model, variances


def dense_oracle(model, variances):
    """b, Var(b), u (per term, m x q), PEV (per term), -2 l_REML, -2 l_ML by dense algebra."""
    design = model.design
    X, Z, y = design.X.toarray(), design.Z.toarray(), design.y
    n, p = X.shape
    blocks = []
    for t, tc in zip(design.terms, model.vm.terms):
        S = np.atleast_2d(variances[t.name])
        K = np.eye(t.m) if tc.Kinv is None else np.linalg.inv(tc.Kinv.toarray())
        blocks.append(np.kron(S, K))
    G = np.zeros((Z.shape[1], Z.shape[1]))
    pos = 0
    for B in blocks:
        G[pos:pos + len(B), pos:pos + len(B)] = B
        pos += len(B)
    V = Z @ G @ Z.T + variances["Residual"] * np.eye(n)
    Vi = np.linalg.inv(V)
    XtViX = X.T @ Vi @ X
    varb = np.linalg.inv(XtViX)
    b = varb @ X.T @ Vi @ y
    r = y - X @ b
    u = G @ Z.T @ Vi @ r
    P = Vi - Vi @ X @ varb @ X.T @ Vi
    pev = np.diag(G - G @ Z.T @ P @ Z @ G)
    ldV = np.linalg.slogdet(V)[1]
    quad = r @ Vi @ r
    reml = (n - p) * LOG2PI + ldV + np.linalg.slogdet(XtViX)[1] + quad
    ml = n * LOG2PI + ldV + quad
    us, pevs, pos = {}, {}, 0
    for t in design.terms:
        w = t.q * t.m
        us[t.name] = u[pos:pos + w].reshape(t.q, t.m).T
        pevs[t.name] = pev[pos:pos + w].reshape(t.q, t.m).T
        pos += w
    return dict(b=b, se=np.sqrt(np.diag(varb)), u=us, pev=pevs, reml=reml, ml=ml)


def _close(actual, expected, rtol=1e-8):
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    assert actual.shape == expected.shape
    if expected.size == 0:
        return
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * max(np.abs(expected).max(), 1e-300))


def check_against_oracle(model, variances):
    ref = dense_oracle(model, variances)
    res = model.solve(variances=variances)
    fe = res.fixed_effects
    assert list(fe.index) == list(model.design.fixed_names)
    _close(fe["estimate"], ref["b"])
    _close(fe["std_error"], ref["se"])
    for t in model.design.terms:
        re = res.random_effects[t.name]
        assert list(re.index) == list(t.levels)
        _close(re[list(t.effects)].to_numpy(), ref["u"][t.name])
        pev_cols = ["pev"] if t.q == 1 else [f"pev:{e}" for e in t.effects]
        _close(re[pev_cols].to_numpy(), ref["pev"][t.name])
    theta = model.theta(variances)
    _close(model.objective("REML")(theta), ref["reml"], 1e-9)
    _close(model.objective("ML")(theta), ref["ml"], 1e-9)
    _close(res.deviance, ref["reml"], 1e-9)


case_params = st.tuples(
    st.integers(0, 2**31 - 1),      # seed
    st.integers(2, 7),              # levels of g
    st.integers(2, 4),              # levels of h
    st.integers(1, 4),              # records per level of g (mean)
    st.booleans(),                  # balanced
)


pytestmark = pytest.mark.filterwarnings("ignore::henderson.AliasedColumnsWarning")


@pytest.mark.parametrize("balanced", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_equals_dense_formulas(kind, balanced):
    model, variances = make_case(11, kind, 6, 3, 3, balanced)
    check_against_oracle(model, variances)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(KINDS), params=case_params)
def test_random_designs_equal_dense_formulas(kind, params):
    seed, n_g, n_h, per, balanced = params
    if kind in ("slope2", "slope3"):
        per = max(per, 2)
    model, variances = make_case(seed, kind, n_g, n_h, per, balanced)
    check_against_oracle(model, variances)


def test_kinv_levels_without_records_are_columns():
    model, variances = make_case(3, "kinv", 5, 2, 2, False)
    (t,) = model.design.terms
    assert t.m == 8 and set(map(str, t.levels)) == {f"a{i:02d}" for i in range(8)}
    recorded = set(model.design.terms[0].levels[np.asarray(abs(t.Z).sum(axis=0)).ravel() > 0])
    assert len(recorded) == 5
    check_against_oracle(model, variances)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n_g=st.integers(2, 8))
def test_one_way_shrinkage(seed, n_g):
    """One-way model: u_i = n_i / (n_i + sigma2/tau2) (ybar_i - mu)."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 7, size=n_g)
    g = np.repeat([f"L{i}" for i in range(n_g)], counts)
    df = pd.DataFrame({"g": g, "y": rng.normal(size=len(g)) + np.repeat(rng.normal(size=n_g), counts)})
    tau2, s2 = float(rng.uniform(0.1, 3)), float(rng.uniform(0.1, 3))
    res = hd.Model("y ~ 1 + (1|g)", df).solve(variances={"g": tau2, "Residual": s2})
    mu = res.fixed_effects["estimate"].iloc[0]
    stats = df.groupby("g")["y"].agg(["mean", "size"])
    expected = stats["size"] / (stats["size"] + s2 / tau2) * (stats["mean"] - mu)
    u = res.random_effects["g"]["(Intercept)"]
    _close(u.loc[stats.index].to_numpy(), expected.to_numpy(), 1e-9)
    # and mu is the GLS mean: weights 1 / Var(ybar_i) = n_i / (s2 + n_i tau2)
    w = stats["size"] / (s2 + stats["size"] * tau2)
    _close(mu, float((w * stats["mean"]).sum() / w.sum()), 1e-10)
