"""Multi-trait solve() at known covariances against the dense MME (mt_oracle.dense_mme) on random designs.

Random small pedigrees (founders, then animals with parents drawn from earlier animals, some unknown),
record rows on most animals (a few animals with two rows), random missing patterns per trait (no row
with every trait missing, except where a test adds one), random positive-definite G0 and R0.
Designs: two traits; three traits with different fixed effects (factors, a covariate, no intercept);
three traits where one has no animal term (its covariance with the others only through the residual).
henderson's BLUE (by name), their standard errors, BLUP and PEV (diagonal of C^-1) per trait, and the
REML log-likelihood at those covariances equal the dense oracle's to 1e-8 relative.
"""
import numpy as np
import pandas as pd
import pytest

import henderson as hd
from tests.oracles import tabular_a

from .mt_oracle import dense_mme, incidence
from .mt_random import (
    TWO_TRAIT_FIXED,
    design,
    ped_codes,
    random_cov,
    random_data,
    simulated_three_traits,
    simulated_two_traits,
)

RTOL = 1e-8


CASES = {
    "two traits": dict(traits=["y1", "y2"], fixed=TWO_TRAIT_FIXED,
                       animal=["y1", "y2"]),
    "three traits": dict(traits=["y1", "y2", "y3"],
                         fixed={"y1": ["(Intercept)", "sex", "herd"], "y2": ["herd"],
                                "y3": ["(Intercept)", "x", "sex"]},
                         animal=["y1", "y2", "y3"]),
    "one trait without animal term": dict(traits=["y1", "y2", "y3"],
                                          fixed={"y1": ["(Intercept)", "sex"], "y2": ["(Intercept)", "herd"],
                                                 "y3": ["(Intercept)", "herd", "x"]},
                                          animal=["y1", "y3"]),
}


def formula(trait, spec, animal):
    rhs = [("1" if t == "(Intercept)" else t) for t in spec]
    if "(Intercept)" not in spec:
        rhs = ["0"] + rhs
    return f"{trait} ~ " + " + ".join(rhs) + (" + (1|id)" if animal else "")


def case_setup(name, seed, **data_args):
    """Everything a comparison needs: data, formulas, covariances, the oracle."""
    case = CASES[name]
    rng = np.random.default_rng(seed)
    traits, animal = case["traits"], case["animal"]
    data, ped, A, Y, ids = random_data(rng, traits, **data_args)
    G0 = random_cov(rng, len(animal), 2.0)
    R0 = random_cov(rng, len(traits), 3.0)
    Xs, names = zip(*[design(data, np.flatnonzero(~np.isnan(Y[:, k])), case["fixed"][t])
                      for k, t in enumerate(traits)])
    Z = incidence(data["id"], list(ids))
    o = dense_mme(Y, list(Xs), Z, A, G0, R0, animal_traits=[traits.index(t) for t in animal])
    formulas = {t: formula(t, case["fixed"][t], t in animal) for t in traits}
    return dict(data=data, ped=ped, ids=list(ids), traits=traits, animal=animal, G0=G0, R0=R0, names=names,
                oracle=o, formulas=formulas, Xs=Xs, Z=Z, F=np.diag(A) - 1.0)


def close(got, want, what):
    got, want = np.asarray(got, float), np.asarray(want, float)
    scale = max(1.0, float(np.abs(want).max()))
    err = float(np.abs(got - want).max())
    assert err <= RTOL * scale, f"{what}: max |difference| {err:.3g} (scale {scale:.3g})"


def compare(r, s):
    o = s["oracle"]
    fe = r.fixed_effects
    se = np.sqrt(np.diag(o.vcov_b))
    start = 0
    for k, t in enumerate(s["traits"]):
        labels = [f"{t}:{nm}" for nm in s["names"][k]]
        close(fe.loc[labels, "estimate"], o.b[k], f"BLUE of {t}")
        close(fe.loc[labels, "std_error"], se[start:start + len(labels)], f"SE of BLUE of {t}")
        start += len(labels)
    assert len(fe) == start, f"fixed effects {list(fe.index)}"
    re = r.random_effects["id"]
    for a, t in enumerate(s["animal"]):
        close(re[t].reindex(s["ids"]), o.u[:, a], f"BLUP of {t}")
        close(re[f"pev:{t}"].reindex(s["ids"]), o.pev[:, a], f"PEV of {t}")
        if "F" in s:   # inbred animals: reliability 1 - PEV / (g_tt (1 + F))
            close(re[f"reliability:{t}"].reindex(s["ids"]), 1 - o.pev[:, a] / (s["G0"][a, a] * (1 + s["F"])),
                  f"reliability of {t}")


def compare_fitted(r, s):
    """fitted() per trait: X_k b_k + Z u_k on the rows where trait k is recorded, NaN elsewhere."""
    o, fitted = s["oracle"], r.fitted()
    assert list(fitted.index) == list(s["data"].index)
    for k, t in enumerate(s["traits"]):
        want = s["Xs"][k] @ o.b[k]
        if t in s["animal"]:
            want = want + s["Z"] @ o.u[:, s["animal"].index(t)]
        seen = s["data"][t].notna().to_numpy()
        close(fitted[t].to_numpy()[seen], want[seen], f"fitted values of {t}")
        assert fitted[t].isna().to_numpy()[~seen].all(), f"fitted values of {t} where it is missing"
        close(r.residuals()[t].to_numpy()[seen], s["data"][t].to_numpy()[seen] - want[seen], f"residuals of {t}")


def fit_at_truth(s, G=None, R=None, data=None):
    m = hd.Model(s["formulas"], s["data"] if data is None else data,
                 relationships={"id": hd.Pedigree.from_frame(s["ped"])})
    G = pd.DataFrame(s["G0"], index=s["animal"], columns=s["animal"]) if G is None else G
    R = pd.DataFrame(s["R0"], index=s["traits"], columns=s["traits"]) if R is None else R
    return m.solve(variances={"id": G, "Residual": R})


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("name", list(CASES))
def test_solve_equals_dense_mme(name, seed):
    s = case_setup(name, seed)
    r = fit_at_truth(s)
    compare(r, s)
    compare_fitted(r, s)


@pytest.mark.parametrize("name", list(CASES))
def test_solve_with_arrays_equals_dense_mme(name):
    """Covariances as plain arrays, in the order of the formulas (traits with the term for G0)."""
    s = case_setup(name, 7)
    compare(fit_at_truth(s, G=np.array(s["G0"]), R=np.array(s["R0"])), s)


@pytest.mark.parametrize("name", ["two traits", "three traits"])
def test_reml_loglik_at_known_covariances(name):
    """The log-likelihood of solve() equals the dense -2 l_REML of V = Z (G0 (x) A) Z' + R."""
    s = case_setup(name, 11)
    r = fit_at_truth(s)
    close(-2 * r.loglik, s["oracle"].m2ll, "-2 REML log-likelihood")


@pytest.mark.parametrize("name", list(CASES))
def test_ml_solve_equals_dense(name):
    """solve(method="ML"): the same BLUE/BLUP, and -2 l_ML of the dense V."""
    s = case_setup(name, 12)
    m = hd.Model(s["formulas"], s["data"], relationships={"id": hd.Pedigree.from_frame(s["ped"])})
    r = m.solve(variances={"id": np.array(s["G0"]), "Residual": np.array(s["R0"])}, method="ML")
    compare(r, s)
    close(-2 * r.loglik, s["oracle"].m2ll_ml, "-2 ML log-likelihood")


def test_heavy_missingness():
    """Half of each trait missing: many patterns, some trait seen on few rows."""
    s = case_setup("three traits", 5, missing=0.5)
    compare(fit_at_truth(s), s)


def test_permuted_traits_same_solution():
    """The traits given in another order (and their covariances permuted with them): the same per-trait
    solutions."""
    s = case_setup("three traits", 4)
    order = ["y3", "y1", "y2"]
    t = dict(s, formulas={k: s["formulas"][k] for k in order})
    G = pd.DataFrame(s["G0"], index=s["animal"], columns=s["animal"]).loc[order, order]
    R = pd.DataFrame(s["R0"], index=s["traits"], columns=s["traits"]).loc[order, order]
    compare(fit_at_truth(t, G=G, R=R), s)


def test_rows_with_every_trait_missing_change_nothing():
    """Record rows with all traits missing are dropped with a warning: the solution is that of the data
    without them."""
    s = case_setup("two traits", 8)
    extra = s["data"].iloc[:3].copy()
    extra[s["traits"]] = np.nan
    data = pd.concat([s["data"], extra], ignore_index=True)
    with pytest.warns(hd.errors.MissingDataWarning, match="3 row"):
        r = fit_at_truth(s, data=data)
    compare(r, s)


def test_rows_in_another_order_same_solution():
    s = case_setup("three traits", 9)
    shuffled = s["data"].sample(frac=1.0, random_state=3)
    compare(fit_at_truth(s, data=shuffled), s)


def test_missing_covariate_drops_only_that_traits_record():
    """x missing on a row: the record of the trait whose formula uses x is left out, the row's other
    traits are kept (the oracle: that trait NaN on those rows)."""
    s0 = case_setup("two traits", 12)
    data = s0["data"].copy()
    holes = data.index[data["y1"].notna() & data["y2"].notna()][:4]
    data.loc[holes, "x"] = np.nan
    Y = data[s0["traits"]].to_numpy(float, copy=True)
    Y[holes, 1] = np.nan                                  # y2 ~ 1 + x: y2 is not usable there
    x_filled = data.fillna({"x": 0.0})
    fixed = TWO_TRAIT_FIXED
    Xs, names = zip(*[design(x_filled, np.flatnonzero(~np.isnan(Y[:, k])), fixed[t])
                      for k, t in enumerate(s0["traits"])])
    A = tabular_a(*ped_codes(s0["ped"]))
    o = dense_mme(Y, list(Xs), incidence(data["id"], s0["ids"]), A, s0["G0"], s0["R0"])
    compare(fit_at_truth(s0, data=data), dict(s0, oracle=o, names=names))


def test_traits_on_very_different_scales():
    """Trait 2 in units 10^4 times trait 1's (R0, G0 scaled with it): still 1e-8 relative."""
    s = case_setup("two traits", 13)
    D = np.diag([1.0, 1e4])
    data = s["data"].assign(y2=s["data"]["y2"] * 1e4)
    o = dense_mme(data[s["traits"]].to_numpy(float), *oracle_inputs(s, data), D @ s["G0"] @ D, D @ s["R0"] @ D)
    r = fit_at_truth(dict(s, G0=D @ s["G0"] @ D, R0=D @ s["R0"] @ D), data=data)
    for k, t in enumerate(s["traits"]):
        close(r.random_effects["id"][t].reindex(s["ids"]), o.u[:, k], f"BLUP of {t}")
        close(r.random_effects["id"][f"pev:{t}"].reindex(s["ids"]), o.pev[:, k], f"PEV of {t}")
        close(r.fixed_effects.loc[[f"{t}:{nm}" for nm in s["names"][k]], "estimate"], o.b[k], f"BLUE of {t}")


def oracle_inputs(s, data):
    """(X list, Z, A) of a case's design on ``data`` (same rows, same missing pattern)."""
    Y = data[s["traits"]].to_numpy(float)
    Xs = [design(data, np.flatnonzero(~np.isnan(Y[:, k])), TWO_TRAIT_FIXED[t])[0]
          for k, t in enumerate(s["traits"])]
    return Xs, incidence(data["id"], s["ids"]), tabular_a(*ped_codes(s["ped"]))


def dense_m2ll(params, Y, Xs, Z, A):
    """-2 l_REML of the dense model at params = (g11, g12, g22, r11, r12, r22)."""
    g11, g12, g22, r11, r12, r22 = params
    return dense_mme(Y, Xs, Z, A, [[g11, g12], [g12, g22]], [[r11, r12], [r12, r22]]).m2ll


def test_reml_estimates_are_the_dense_likelihoods_stationary_point():
    """AI-REML's estimates: henderson's log-likelihood there equals the dense one, whose gradient (central
    differences over the six covariance entries) vanishes and which no small move lowers."""
    data, ped, Y, Xs, Z, A = simulated_two_traits(21)
    formulas = {"y1": formula("y1", TWO_TRAIT_FIXED["y1"], True),
                "y2": formula("y2", TWO_TRAIT_FIXED["y2"], True)}
    r = hd.Model(formulas, data, relationships={"id": hd.Pedigree.from_frame(ped)}).fit()
    assert r.converged
    G = r.covariance("id").loc[["y1", "y2"], ["y1", "y2"]].to_numpy()
    R = r.covariance("Residual").loc[["y1", "y2"], ["y1", "y2"]].to_numpy()
    p = np.array([G[0, 0], G[0, 1], G[1, 1], R[0, 0], R[0, 1], R[1, 1]])
    f0 = dense_m2ll(p, Y, Xs, Z, A)
    close(-2 * r.loglik, f0, "-2 REML log-likelihood at the estimates")
    h = 1e-4
    grad = np.array([(dense_m2ll(p + h * e, Y, Xs, Z, A) - dense_m2ll(p - h * e, Y, Xs, Z, A)) / (2 * h)
                     for e in np.eye(6)])
    assert np.abs(grad).max() < 1e-3, f"gradient of -2 l_REML at the estimates: {grad}"
    rng = np.random.default_rng(0)
    for _ in range(6):
        d = rng.normal(size=6)
        assert dense_m2ll(p + 0.02 * d / np.linalg.norm(d), Y, Xs, Z, A) > f0


def test_reml_one_trait_dict_equals_single_trait_fit():
    """Model({"y1": f}) fitted by REML: the single-trait fit's estimates, log-likelihood and EBVs."""
    data, ped, *_ = simulated_two_traits(22)
    f = formula("y1", TWO_TRAIT_FIXED["y1"], True)
    p = hd.Pedigree.from_frame(ped)
    one = hd.Model({"y1": f}, data, relationships={"id": p}).fit()
    plain = hd.Model(f, data, relationships={"id": p}).fit()
    close(one.loglik, plain.loglik, "log-likelihood")
    est = plain.variance_components.set_index("group")["estimate"]
    close(one.covariance("id").to_numpy().ravel(), [est["id"]], "sigma2_a")
    close(one.covariance("Residual").to_numpy().ravel(), [est["Residual"]], "sigma2_e")
    close(one.random_effects["id"]["y1"], plain.random_effects["id"]["(Intercept)"], "EBV")


@pytest.mark.parametrize("seed", [1, 2])
def test_second_random_term_in_some_traits(seed):
    """(1|herd), iid, in y1 and y3 with a 2 x 2 covariance; the animal term in y1 and y2: BLUE, both terms'
    BLUPs and PEVs equal the dense MME's."""
    rng = np.random.default_rng(100 + seed)
    traits = ["y1", "y2", "y3"]
    data, ped, A, Y, ids = random_data(rng, traits, n=60)
    herds = sorted(data["herd"].unique())
    G0, H0, R0 = random_cov(rng, 2, 2.0), random_cov(rng, 2, 1.0), random_cov(rng, 3, 3.0)
    fixed = {"y1": ["(Intercept)", "sex"], "y2": ["(Intercept)", "x"], "y3": ["(Intercept)"]}
    Xs, names = zip(*[design(data, np.flatnonzero(~np.isnan(Y[:, k])), fixed[t]) for k, t in enumerate(traits)])
    Z = incidence(data["id"], list(ids))
    o = dense_mme(Y, list(Xs), Z, A, G0, R0, animal_traits=[0, 1],
                  extra=[(incidence(data["herd"], herds), np.eye(len(herds)), H0, [0, 2])])
    formulas = {"y1": "y1 ~ 1 + sex + (1|herd) + (1|id)", "y2": "y2 ~ 1 + x + (1|id)", "y3": "y3 ~ 1 + (1|herd)"}
    m = hd.Model(formulas, data, relationships={"id": hd.Pedigree.from_frame(ped)})
    r = m.solve(variances={"id": G0, "herd": H0, "Residual": R0})
    for k, t in enumerate(traits):
        close(r.fixed_effects.loc[[f"{t}:{nm}" for nm in names[k]], "estimate"], o.b[k], f"BLUE of {t}")
    for term, U, P, owners, levels in (("id", o.u, o.pev, ["y1", "y2"], list(ids)),
                                       ("herd", o.u_extra[0], o.pev_extra[0], ["y1", "y3"], herds)):
        re = r.random_effects[term]
        for a, t in enumerate(owners):
            close(re[t].reindex(levels), U[:, a], f"BLUP of {term} for {t}")
            close(re[f"pev:{t}"].reindex(levels), P[:, a], f"PEV of {term} for {t}")
    close(-2 * r.loglik, o.m2ll, "-2 REML log-likelihood")


def test_reml_three_traits_one_without_animal_term_stationary_point():
    """As the two-trait test: y2 has no animal term; nine parameters (G0 over y1, y3; R0 3 x 3)."""
    data, ped, Y, Xs, Z, A = simulated_three_traits(31)
    formulas = {"y1": "y1 ~ 1 + sex + (1|id)", "y2": "y2 ~ 1 + herd", "y3": "y3 ~ 1 + x + (1|id)"}
    r = hd.Model(formulas, data, relationships={"id": hd.Pedigree.from_frame(ped)}).fit()
    assert r.converged
    G = r.covariance("id").loc[["y1", "y3"], ["y1", "y3"]].to_numpy()
    R = r.covariance("Residual").loc[["y1", "y2", "y3"], ["y1", "y2", "y3"]].to_numpy()
    iu2, iu3 = np.triu_indices(2), np.triu_indices(3)
    p = np.concatenate([G[iu2], R[iu3]])

    def m2ll(q):
        g, s = np.zeros((2, 2)), np.zeros((3, 3))
        g[iu2], s[iu3] = q[:3], q[3:]
        g, s = g + np.triu(g, 1).T, s + np.triu(s, 1).T
        return dense_mme(Y, Xs, Z, A, g, s, animal_traits=[0, 2]).m2ll
    f0 = m2ll(p)
    close(-2 * r.loglik, f0, "-2 REML log-likelihood at the estimates")
    h = 1e-4
    grad = np.array([(m2ll(p + h * e) - m2ll(p - h * e)) / (2 * h) for e in np.eye(len(p))])
    assert np.abs(grad).max() < 1e-3, f"gradient of -2 l_REML at the estimates: {grad}"
