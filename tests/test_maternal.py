"""Direct-maternal (correlated terms on id and dam), maternal and animal permanent environment.

Oracle: a dense REML likelihood, V = [Z_id Z_dam] (Sigma (x) A) [Z_id Z_dam]' + s2_pe Z_pe Z_pe'
+ s2 I, maximized by scipy; henderson's log-likelihood equals the oracle's at the same point and
reaches its maximum. Mrode's examples 7.1 and 4.1 could not be used: their data tables were not
found in the public sources searched (masuday/Blupf90TutorialStandard describes them without the data).
"""
import numpy as np
import pandas as pd
import pytest
from oracles import reml_m2ll, reml_maximum, tabular_a

import henderson as hd
from henderson.errors import DesignError, NotPositiveDefiniteError
from henderson.reml import derivatives


def _population(seed=11, n_base_f=30, n_base_m=6, n_gen=3, per_dam=2):
    """Three generations: females of each generation (with their own records) are dams of the next;
    direct and maternal genetic effects correlated (-0.4), a maternal permanent environment."""
    rng = np.random.default_rng(seed)
    G = np.array([[1.0, -0.25], [-0.25, 0.4]])
    L = np.linalg.cholesky(G)
    ids, sire, dam, sex, bv = [], [], [], [], []
    for i in range(n_base_f + n_base_m):
        ids.append(f"b{i}")
        sire.append(-1)
        dam.append(-1)
        sex.append("F" if i < n_base_f else "M")
        bv.append(L @ rng.normal(size=2))
    females = list(range(n_base_f))
    males = list(range(n_base_f, n_base_f + n_base_m))
    recs = []
    pe = {}
    for g in range(n_gen):
        new_f, new_m = [], []
        for d in females:
            pe.setdefault(d, rng.normal(0, np.sqrt(0.3)))
            for _ in range(per_dam):
                s = int(rng.choice(males))
                k = len(ids)
                ids.append(f"g{g}_{k}")
                sire.append(s)
                dam.append(d)
                sx = "F" if rng.random() < 0.5 else "M"
                sex.append(sx)
                bv.append(0.5 * (bv[s] + bv[d]) + np.sqrt(0.5) * (L @ rng.normal(size=2)))
                y = 10 + (0.5 if sx == "M" else 0) + bv[k][0] + bv[d][1] + pe[d] + rng.normal(0, 1.0)
                recs.append((ids[k], ids[d], sx, f"y{g}", y))
                (new_f if sx == "F" else new_m).append(k)
        females, males = new_f, new_m + males[:2]
    data = pd.DataFrame(recs, columns=["id", "dam", "sex", "year", "y"])
    data["pe"] = data["dam"]
    ped = pd.DataFrame({"id": ids, "sire": [ids[s] if s >= 0 else None for s in sire],
                        "dam": [ids[d] if d >= 0 else None for d in dam]})
    return data, ped, np.array(sire), np.array(dam)


@pytest.fixture(scope="module")
def maternal():
    data, ped, sire, dam = _population()
    P = hd.Pedigree.from_frame(ped)
    m = hd.Model("y ~ sex + year + (1|id) + (1|dam) + (1|pe)", data, relationships={"id": P, "dam": P},
                 correlated=[("id", "dam")])
    A = tabular_a(sire, dam)
    order = pd.Index(ped["id"]).get_indexer(m.design.terms[0].levels)
    return m, A[np.ix_(order, order)]


def _dense_V(m, A, Sigma, s2_pe, s2):
    Z = m.design.terms[0].Z.toarray()
    Zp = m.design.terms[1].Z.toarray()
    n = len(m.design.y)
    return Z @ np.kron(Sigma, A) @ Z.T + s2_pe * Zp @ Zp.T + s2 * np.eye(n)


def test_joint_term_layout(maternal):
    m, _ = maternal
    assert [t.name for t in m.vm.terms] == ["id+dam", "pe"]
    assert m.vm.terms[0].effects == ("id", "dam")
    assert m.vm.names() == ["id+dam[id]", "id+dam[dam,id]", "id+dam[dam]", "pe", "Residual"]


def test_direct_maternal_likelihood_equals_dense(maternal):
    m, A = maternal
    theta = m.theta({("id", "dam"): [[1.0, -0.2], [-0.2, 0.5]], "pe": 0.3, "Residual": 1.1})
    X, y = m.design.X.toarray(), m.design.y
    V = _dense_V(m, A, np.array([[1.0, -0.2], [-0.2, 0.5]]), 0.3, 1.1)
    assert m.objective("REML")(theta) == pytest.approx(reml_m2ll(y, X, V), rel=1e-10)


@pytest.mark.slow
def test_direct_maternal_reaches_dense_maximum(maternal):
    m, A = maternal
    X, y = m.design.X.toarray(), m.design.y
    r = m.fit()
    assert r.converged

    def v_of(x):
        S = np.array([[x[0], x[1]], [x[1], x[2]]])
        if np.linalg.eigvalsh(S)[0] <= 0 or x[3] <= 0 or x[4] <= 0:
            return None
        return _dense_V(m, A, S, x[3], x[4])
    best, x = reml_maximum(y, X, v_of, np.asarray(r.theta) * 1.05)
    assert r.loglik == pytest.approx(-0.5 * best, abs=1e-6)
    np.testing.assert_allclose(r.theta, x, rtol=5e-3, atol=5e-3)
    S = r.covariance("id", "dam")
    assert list(S.index) == ["id", "dam"] and S.iloc[0, 1] == pytest.approx(r.theta[1])
    assert r.covariance("dam").iloc[0, 0] == pytest.approx(r.theta[2])
    h2 = r.heritability()
    total = r.theta.sum()
    np.testing.assert_allclose(h2["estimate"], [r.theta[0] / total, r.theta[2] / total])
    assert np.all(h2["std_error"] > 0)
    assert "id+dam" in r.to_json() and "rho" not in r.summary()


def test_direct_maternal_score_and_ai_equal_numerical(maternal):
    m, _ = maternal
    obj = m.objective("REML")
    theta = np.array([1.2, -0.3, 0.6, 0.2, 1.0])
    d = derivatives(obj, obj.at(theta))
    num = np.array([(obj.at(theta + e).loglik - obj.at(theta - e).loglik) / 2e-5 for e in np.eye(5) * 1e-5])
    np.testing.assert_allclose(d.score, num, rtol=1e-5, atol=1e-6 * np.abs(num).max())


@pytest.mark.slow
def test_repeatability_pe_repeats_id():
    """(1|id) with the pedigree + (1|pe) where pe repeats id: a dense oracle at the optimum."""
    data, ped, sire, dam = _population(seed=5)
    rep = pd.concat([data.assign(y=data.y + np.random.default_rng(i).normal(0, 1, len(data)), lact=str(i))
                     for i in range(2)], ignore_index=True)
    rep["pe"] = rep["id"]
    P = hd.Pedigree.from_frame(ped)
    m = hd.Model("y ~ lact + (1|id) + (1|pe)", rep, relationships={"id": P})
    r = m.fit()
    order = pd.Index(ped["id"]).get_indexer(m.design.term("id").levels)
    A = tabular_a(sire, dam)[np.ix_(order, order)]
    Z, Zp = m.design.term("id").Z.toarray(), m.design.term("pe").Z.toarray()
    X, y = m.design.X.toarray(), m.design.y
    V = r.theta[0] * Z @ A @ Z.T + r.theta[1] * Zp @ Zp.T + r.theta[2] * np.eye(len(y))
    assert r.loglik == pytest.approx(-0.5 * reml_m2ll(y, X, V), rel=1e-10)
    best, _ = reml_maximum(y, X, lambda x: None if min(x) <= 0 else
                           x[0] * Z @ A @ Z.T + x[1] * Zp @ Zp.T + x[2] * np.eye(len(y)), r.theta * 1.05)
    assert r.loglik == pytest.approx(-0.5 * best, abs=1e-6)
    rp = r.repeatability(["id", "pe"])
    assert rp["estimate"].iloc[0] == pytest.approx(r.theta[:2].sum() / r.theta.sum())


def test_joint_term_predicts_each_part_on_its_column(maternal):
    m, _ = maternal
    r = m.solve(variances={"id+dam": [[1.0, -0.2], [-0.2, 0.5]], "pe": 0.3, "Residual": 1.1})
    np.testing.assert_allclose(r.predict(m.data), r.fitted(), rtol=1e-10)
    assert '"id+dam"' in r.to_json() and "id+dam   id" in r.summary()
    u = r.random_effects["id+dam"]
    row = m.data.iloc[[0]]
    only = r.predict(row, random=["id+dam"]) - r.predict(row, random=False)
    assert only[0] == pytest.approx(u.loc[row.id.iloc[0], "id"] + u.loc[row.dam.iloc[0], "dam"])


def test_correlated_bad_input(maternal):
    data, ped, _, _ = _population()
    P = hd.Pedigree.from_frame(ped)
    with pytest.raises(DesignError, match="differ in size"):
        hd.Model("y ~ sex + (1|id) + (1|dam)", data, relationships={"id": P}, correlated=[("id", "dam")])
    with pytest.raises(DesignError, match="not random terms"):
        hd.Model("y ~ sex + (1|id) + (1|dam)", data, relationships={"id": P, "dam": P}, correlated=[("id", "sire")])
    m, _ = maternal
    with pytest.raises(NotPositiveDefiniteError, match="id\\+dam"):
        m.fit(start={"id+dam": [[1.0, 2.0], [2.0, 1.0]], "pe": 0.3, "Residual": 1.0})
