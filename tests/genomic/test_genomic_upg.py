"""Unknown parent groups (Quaas-Pollak transformation) against a dense oracle with the groups as extra
fixed effects: y = x b + Z Q g + Z u + e, u ~ N(0, A s2a); henderson's animal solutions are u + Q g."""
import numpy as np
import pandas as pd
import pytest
from oracles import tabular_a

import henderson as hd

VAR = {"id": 0.4, "Residual": 0.6}


def q_matrix(ped, sire_group, dam_group, n_groups):
    """Expected fraction of each animal's genes from each group: Q_i = (Q_sire + Q_dam) / 2, a group for an
    unknown parent contributes 1/2 to that group."""
    Q = np.zeros((ped.n, n_groups))
    for i in range(ped.n):
        for par, grp in ((ped.sire[i], sire_group[i]), (ped.dam[i], dam_group[i])):
            if par >= 0:
                Q[i] += 0.5 * Q[par]
            elif grp >= 0:
                Q[i, grp] += 0.5
    return Q


def test_quaas_pollak_equals_groups_as_fixed_effects(population):
    _, ped, _, data = population
    rng = np.random.default_rng(5)
    data = data.assign(x=rng.normal(size=len(data)))
    names = ["early", "late"]
    gen = ped.generation
    grp_of = np.where(gen <= 1, 0, 1)
    has_unknown = (ped.sire < 0) | (ped.dam < 0)
    groups = pd.Series([names[k] for k in grp_of[has_unknown]], index=ped.ids[has_unknown])
    upg = hd.ParentGroups(ped, groups)
    r = hd.Model("y ~ 0 + x + (1|id)", data, relationships={"id": upg}).solve(VAR)
    sol = r.random_effects["id"]["(Intercept)"]

    sg = np.where(ped.sire < 0, grp_of, -1)
    dg = np.where(ped.dam < 0, grp_of, -1)
    Q = q_matrix(ped, sg, dg, 2)
    Z = (data["id"].astype(str).to_numpy()[:, None] == ped.ids[None, :]).astype(float)
    X = np.column_stack([data["x"], Z @ Q])
    lam = VAR["Residual"] / VAR["id"]
    Ainv = np.linalg.inv(tabular_a(ped.sire, ped.dam))
    C = np.block([[X.T @ X, X.T @ Z], [Z.T @ X, Z.T @ Z + lam * Ainv]])
    s = np.linalg.solve(C, np.concatenate([X.T @ data["y"], Z.T @ data["y"]]))
    g, u = s[1:3], s[3:]
    np.testing.assert_allclose(sol.reindex(ped.ids).to_numpy(), u + Q @ g, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(sol.loc[["group:early", "group:late"]].to_numpy(), g, rtol=1e-8)
    assert r.fixed_effects["estimate"].iloc[0] == pytest.approx(s[0], rel=1e-8)
    # PEV of u* = Q g + u: k' C^-1 k sigma2_e with k = (0, Q_i, e_i)
    K = np.hstack([np.zeros((ped.n, 1)), Q, np.eye(ped.n)])
    pev = np.einsum("ij,ij->i", K @ np.linalg.inv(C), K) * VAR["Residual"]
    np.testing.assert_allclose(r.random_effects["id"]["pev"].reindex(ped.ids).to_numpy(), pev, rtol=1e-8)


def test_fit_with_parent_groups_is_refused(population):
    _, ped, _, data = population
    unknown = (ped.sire < 0) | (ped.dam < 0)
    upg = hd.ParentGroups(ped, pd.Series("g", index=ped.ids[unknown]))
    data = data.assign(x=np.arange(len(data), dtype=float))
    with pytest.raises(hd.DesignError, match=r"parent groups.*use solve\(variances\)"):
        hd.Model("y ~ 0 + x + (1|id)", data, relationships={"id": upg}).fit()
