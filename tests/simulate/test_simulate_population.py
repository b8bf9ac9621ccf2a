"""Simulator structure against independent oracles: dense tabular A, binomial fractions, seeds."""
import numpy as np
import pandas as pd
import pytest
from oracles import tabular_a as tabular_A

from henderson.simulate import simulate
from henderson.simulate.population import breeding_values, simulate_population


@pytest.fixture(scope="module")
def small():
    return simulate(600, n_generations=6, n_herds=4, sires_per_generation=4, seed=11)


def test_inbreeding_equals_tabular_method(small):
    data, ped, truth = small
    pos = {a: i for i, a in enumerate(ped["id"])}
    sire = np.array([pos.get(s, -1) for s in ped["sire"]])
    dam = np.array([pos.get(d, -1) for d in ped["dam"]])
    A = tabular_A(sire, dam)
    np.testing.assert_allclose(truth["inbreeding"].loc[ped["id"]].to_numpy(), np.diag(A) - 1, atol=1e-12)
    F = pd.Series(np.diag(A) - 1).groupby(ped["born"].to_numpy()).mean()
    assert F.iloc[0] == 0 and F.iloc[-1] > F.iloc[2] > 0          # inbreeding accumulates


def test_population_structure(small):
    data, ped, truth = small
    known_dam = ped[(ped["born"] > 0) & (ped["dam"] != "0")]
    herd = ped.set_index("id")["herd"]
    assert (herd.loc[known_dam["dam"]].to_numpy() == known_dam["herd"].to_numpy()).all()   # dams within herd
    offspring_herds = ped[ped["sire"] != "0"].groupby("sire")["herd"].nunique()
    assert offspring_herds.max() > 1                                                    # AI sires across herds
    nonfounders = ped[ped["born"] > 0]
    k, n = (nonfounders["dam"] == "0").sum(), len(nonfounders)
    assert abs(k / n - 0.1) < 4 * np.sqrt(0.1 * 0.9 / n)                              # unknown dam fraction
    sex = ped.set_index("id")["sex"]
    assert (sex.loc[ped.loc[ped["sire"] != "0", "sire"]] == "M").all()
    assert (sex.loc[data["id"]] == "F").all()                                           # records on cows
    assert set(ped.loc[ped["born"] == 0, "sire"]) == {"0"}


def test_same_seed_same_population_other_seed_differs(small):
    again = simulate(600, n_generations=6, n_herds=4, sires_per_generation=4, seed=11)
    pd.testing.assert_frame_equal(again[0], small[0])
    pd.testing.assert_frame_equal(again[1], small[1])
    other = simulate(600, n_generations=6, n_herds=4, sires_per_generation=4, seed=12)
    assert not other[0]["y"].equals(small[0]["y"])


def test_breeding_values_have_covariance_A_sigma2():
    """Monte Carlo over 10000 replicates of a fixed pedigree: Cov(a) = A sigma2_a elementwise within 5.5 SE."""
    pop = simulate_population(np.random.default_rng(3), 60, 5, 2, 3, 0.2, 0.1)
    A = tabular_A(pop.sire, pop.dam)
    L = np.eye(pop.n)
    for i in range(pop.n):                                  # A = T D T' with T from parents: d_i = A_ii - ...
        if pop.sire[i] >= 0:
            L[i] -= 0.5 * np.eye(pop.n)[pop.sire[i]]
        if pop.dam[i] >= 0:
            L[i] -= 0.5 * np.eye(pop.n)[pop.dam[i]]
    dii = np.diag(L @ A @ L.T)                              # Var of Mendelian sampling / sigma2 (oracle)
    rng = np.random.default_rng(5)
    N, s2 = 10000, 2.5
    a = np.stack([breeding_values(rng, pop, dii, s2) for _ in range(N)])
    cov = a.T @ a / N
    se = s2 * np.sqrt((np.outer(np.diag(A), np.diag(A)) + A**2) / N)
    assert np.max(np.abs(cov - s2 * A) / se) < 5.5


def test_variances_and_records():
    data, ped, truth = simulate(2000, n_generations=5, lactations=3, seed=2,
                                variances={"additive": 2.0, "herd_year": 1.0, "permanent": 0.5, "residual": 3.0})
    assert truth["variances"] == {"additive": 2.0, "herd_year": 1.0, "permanent": 0.5, "residual": 3.0}
    assert data["lact"].max() == 3 and (data.groupby("id")["lact"].min() == 1).all()
    assert (data["year"] == ped.set_index("id")["born"].loc[data["id"]].to_numpy() + data["lact"]).all()
    assert (data["hy"] == data["herd"] + "_y" + data["year"].astype(str)).all()
    with pytest.raises(ValueError, match="residual"):
        simulate(1000, h2=0.9)
