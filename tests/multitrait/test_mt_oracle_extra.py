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
from mt_oracle import dense_mme, incidence
from oracles import tabular_a

import henderson as hd

RTOL = 1e-8


def random_pedigree(rng, n, n_founders):
    """(sire, dam) 0-based with -1 unknown; sires male, dams female; parents precede offspring."""
    male = np.arange(n) % 2 == 0
    sire, dam = np.full(n, -1), np.full(n, -1)
    for i in range(n_founders, n):
        if rng.random() > 0.15:
            sire[i] = rng.choice(np.flatnonzero(male[:i]))
        if rng.random() > 0.25:
            dam[i] = rng.choice(np.flatnonzero(~male[:i]))
    return sire, dam


def random_cov(rng, t, scale):
    """A random t x t positive-definite covariance with correlations of either sign."""
    B = rng.normal(size=(t, t + 2))
    S = B @ B.T / (t + 2)
    return scale * S


def random_data(rng, traits, n=45, n_founders=8, missing=0.3):
    """(data, pedigree frame, A, Y) with one record row for most non-founders, two rows for a few."""
    sire, dam = random_pedigree(rng, n, n_founders)
    ids = np.array([f"a{i}" for i in range(n)], dtype=object)
    recorded = rng.choice(np.arange(3, n), size=n - 8, replace=False)
    rows = np.concatenate([recorded, rng.choice(recorded, size=4, replace=False)])
    m = rows.size
    Y = rng.normal(size=(m, len(traits))) * rng.uniform(1, 5, len(traits)) + rng.uniform(-3, 20, len(traits))
    miss = rng.random(Y.shape) < missing
    miss[miss.all(axis=1), rng.integers(0, len(traits))] = False
    miss[miss.all(axis=1), 0] = False
    Y[miss] = np.nan
    data = pd.DataFrame({"id": ids[rows], "sex": rng.choice(["F", "M"], m), "herd": rng.choice(["h1", "h2", "h3"], m),
                         "x": rng.normal(size=m).round(3)})
    for k, t in enumerate(traits):
        data[t] = Y[:, k]
    ped = pd.DataFrame({"id": ids, "sire": np.where(sire >= 0, ids[np.maximum(sire, 0)], "0"),
                        "dam": np.where(dam >= 0, ids[np.maximum(dam, 0)], "0")})
    return data, ped, tabular_a(sire, dam), Y, ids


def design(data, rows, spec):
    """X of one trait with henderson's column names, from ``spec``: a list of "(Intercept)", factor
    names (treatment contrasts, first level of those present on the trait's rows the reference; without an
    intercept the first factor gets every level) and numeric columns."""
    cols, names = [], []
    intercept = "(Intercept)" in spec
    if intercept:
        cols.append(np.ones(len(data)))
        names.append("(Intercept)")
    first_factor = True
    for term in spec:
        if term == "(Intercept)":
            continue
        if not pd.api.types.is_numeric_dtype(data[term]):
            levels = sorted(data[term].iloc[rows].unique())
            keep = levels if (first_factor and not intercept) else levels[1:]
            first_factor = False
            M = incidence(data[term], levels)[:, [levels.index(v) for v in keep]]
            cols += list(M.T)
            names += [f"{term}{v}" for v in keep]
        else:
            cols.append(data[term].to_numpy(float))
            names.append(term)
    return np.column_stack(cols), names


CASES = {
    "two traits": dict(traits=["y1", "y2"], fixed={"y1": ["(Intercept)", "sex", "herd"], "y2": ["(Intercept)", "x"]},
                       animal=["y1", "y2"]),
    "three traits": dict(traits=["y1", "y2", "y3"],
                         fixed={"y1": ["(Intercept)", "sex", "herd"], "y2": ["herd"], "y3": ["(Intercept)", "x", "sex"]},
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
                oracle=o, formulas=formulas)


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


def fit_at_truth(s, G=None, R=None, data=None):
    m = hd.Model(s["formulas"], s["data"] if data is None else data, relationships={"id": hd.Pedigree.from_frame(s["ped"])})
    G = pd.DataFrame(s["G0"], index=s["animal"], columns=s["animal"]) if G is None else G
    R = pd.DataFrame(s["R0"], index=s["traits"], columns=s["traits"]) if R is None else R
    return m.solve(variances={"id": G, "Residual": R})


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("name", list(CASES))
def test_solve_equals_dense_mme(name, seed):
    s = case_setup(name, seed)
    compare(fit_at_truth(s), s)


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
    """Record rows with all traits missing are dropped: the solution is that of the data without them."""
    s = case_setup("two traits", 8)
    extra = s["data"].iloc[:3].copy()
    extra[s["traits"]] = np.nan
    data = pd.concat([s["data"], extra], ignore_index=True)
    compare(fit_at_truth(s, data=data), s)
