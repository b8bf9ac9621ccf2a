"""Random small multi-trait data sets for tests/multitrait: pedigrees, covariances, records with missing
traits, and the fixed-effect design matrices of a trait under henderson's column names."""
import numpy as np
import pandas as pd

from tests.oracles import tabular_a

from .mt_oracle import incidence

TWO_TRAIT_FIXED = {"y1": ["(Intercept)", "sex", "herd"], "y2": ["(Intercept)", "x"]}


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


def ped_codes(ped):
    """(sire, dam) 0-based codes of a pedigree frame in its own order ("0" unknown)."""
    pos = {v: i for i, v in enumerate(ped["id"])}
    return [np.array([pos.get(v, -1) for v in ped[c]]) for c in ("sire", "dam")]


def _population(rng, n, G0):
    """A random pedigree of n animals (20 founders), its A, ids a0.., breeding values U (n x 2, Cov G0 (x) A),
    the recorded animals (10..n-1) and, per recorded animal, a random sex and herd."""
    sire, dam = random_pedigree(rng, n, 20)
    A = tabular_a(sire, dam)
    ids = [f"a{i}" for i in range(n)]
    U = np.linalg.cholesky(A) @ rng.standard_normal((n, 2)) @ np.linalg.cholesky(G0).T
    rows = np.arange(10, n)
    sex, herd = rng.choice(["F", "M"], rows.size), rng.choice(["h1", "h2", "h3"], rows.size)
    ped = pd.DataFrame({"id": ids, "sire": [ids[s] if s >= 0 else "0" for s in sire],
                        "dam": [ids[d] if d >= 0 else "0" for d in dam]})
    return ped, A, ids, U, rows, sex, herd


def simulated_two_traits(seed, n=220):
    """Two traits simulated from the model (G0, R0 below) on a random pedigree, 20% of y2 missing:
    (setup as case_setup's, with the dense oracle's inputs)."""
    rng = np.random.default_rng(seed)
    G0, R0 = np.array([[1.0, 0.5], [0.5, 2.0]]), np.array([[2.0, 0.6], [0.6, 3.0]])
    ped, A, ids, U, rows, sex, herd = _population(rng, n, G0)
    m = rows.size
    x = rng.normal(size=m).round(3)
    Y = np.column_stack([5 + (sex == "M") + 0.3 * (herd == "h2"), 8 + 0.5 * x]) + U[rows] + \
        rng.standard_normal((m, 2)) @ np.linalg.cholesky(R0).T
    Y[rng.random(m) < 0.2, 1] = np.nan
    data = pd.DataFrame({"id": np.array(ids, dtype=object)[rows], "sex": sex, "herd": herd, "x": x,
                         "y1": Y[:, 0], "y2": Y[:, 1]})
    fixed = TWO_TRAIT_FIXED
    Xs = [design(data, np.flatnonzero(~np.isnan(Y[:, k])), fixed[t])[0] for k, t in enumerate(["y1", "y2"])]
    return data, ped, Y, Xs, incidence(data["id"], ids), A


def simulated_three_traits(seed, n=200):
    """Three traits from the model on a random pedigree: y1 and y3 with the animal term (G0 2 x 2), y2
    without (its link to the others only through R0); missing patterns at random, no row empty.
    (data, pedigree frame, Y, X list, Z, A) with fixed effects y1 ~ 1 + sex, y2 ~ 1 + herd, y3 ~ 1 + x."""
    rng = np.random.default_rng(seed)
    G0 = np.array([[1.0, 0.4], [0.4, 1.5]])
    R0 = np.array([[2.0, 0.5, 0.3], [0.5, 1.5, -0.4], [0.3, -0.4, 2.5]])
    ped, A, ids, U, rows, sex, herd = _population(rng, n, G0)
    m = rows.size
    x = rng.normal(size=m).round(3)
    Y = np.column_stack([5 + (sex == "M"), 3 + 0.4 * (herd == "h2"), 8 + 0.5 * x]) + \
        rng.standard_normal((m, 3)) @ np.linalg.cholesky(R0).T
    Y[:, [0, 2]] += U[rows]
    miss = rng.random(Y.shape) < 0.25
    miss[miss.all(axis=1), 0] = False
    Y[miss] = np.nan
    data = pd.DataFrame({"id": np.array(ids, dtype=object)[rows], "sex": sex, "herd": herd, "x": x,
                         "y1": Y[:, 0], "y2": Y[:, 1], "y3": Y[:, 2]})
    fixed = {"y1": ["(Intercept)", "sex"], "y2": ["(Intercept)", "herd"], "y3": ["(Intercept)", "x"]}
    Xs = [design(data, np.flatnonzero(~np.isnan(Y[:, k])), fixed[t])[0] for k, t in enumerate(["y1", "y2", "y3"])]
    return data, ped, Y, Xs, incidence(data["id"], ids), A
