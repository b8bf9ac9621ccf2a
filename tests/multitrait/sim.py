"""Small simulated multi-trait data on a pedigree, and the dense multi-trait REML oracle."""
import numpy as np
import pandas as pd

import henderson as hd
from tests.oracles import reml_m2ll, tabular_a


def pedigree_frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """n animals: the first n // 4 founders, the rest with a random sire (an even earlier animal) and dam
    (an odd earlier one, unknown for a fifth); (frame id, sire, dam with "0" unknown, sire and dam positions)."""
    rng = np.random.default_rng(seed)
    f = max(n // 4, 4)
    sire = np.full(n, -1)
    dam = np.full(n, -1)
    for i in range(f, n):
        sire[i] = 2 * rng.integers(0, (i + 1) // 2)
        dam[i] = 2 * rng.integers(0, i // 2) + 1 if rng.random() > 0.2 else -1
    ids = [f"a{i}" for i in range(n)]
    frame = pd.DataFrame({"id": ids, "sire": [ids[s] if s >= 0 else "0" for s in sire],
                          "dam": [ids[d] if d >= 0 else "0" for d in dam]})
    return frame, sire, dam


def pedigree(n: int, seed: int):
    """(Pedigree, A as a DataFrame by id, ids) of pedigree_frame(n, seed)."""
    frame, sire, dam = pedigree_frame(n, seed)
    ids = list(frame["id"])
    A = pd.DataFrame(tabular_a(sire, dam), index=ids, columns=ids)
    return hd.Pedigree.from_frame(frame, id="id", sire="sire", dam="dam"), A, ids


def traits_data(n: int, G, R, seed: int, missing=0.25, herd_sd=0.0):
    """One record row per animal: traits y1..yt = mu_t + sex effect + a + e, some traits missing."""
    rng = np.random.default_rng(seed)
    G, R = np.asarray(G, float), np.asarray(R, float)
    t = len(G)
    ped, A, ids = pedigree(n, seed)
    La = np.linalg.cholesky(A.to_numpy() + 1e-12 * np.eye(n))
    a = La @ rng.standard_normal((n, t)) @ np.linalg.cholesky(G).T
    e = rng.standard_normal((n, t)) @ np.linalg.cholesky(R).T
    sex = rng.choice(["F", "M"], n)
    herds = [f"h{i}" for i in range(12)]
    herd = rng.choice(herds, n)
    hv = rng.standard_normal((12, t)) * herd_sd     # herd effects, independent between traits
    y = 10.0 + np.arange(t) + (sex == "M")[:, None] * 0.5 + a + e + hv[pd.Index(herds).get_indexer(herd)]
    df = pd.DataFrame({"id": ids, "sex": sex, "herd": herd})
    for j in range(t):
        col = y[:, j].copy()
        if j > 0:
            col[rng.random(n) < missing] = np.nan
        df[f"y{j + 1}"] = col
    return df, ped, A


def dense_system(model):
    """(y, X, Z blocks, record rows/traits) of a MultiTraitModel's stacked design, densely."""
    d = model.design
    td = model.trait_design
    return d.y, d.X.toarray(), [t.Z.toarray() for t in d.terms], td.row_code, td.trait_code


def dense_V(model, sigmas, R0, K):
    """V = sum_k Z_k (Sigma_k (x) K_k) Z_k' + R over the stacked records (R0 per row's traits); K_k a
    DataFrame indexed by ids (reordered to the term's levels) or None for the identity."""
    y, X, Zs, row, trait = dense_system(model)
    V = np.zeros((len(y), len(y)))
    for term, Z, S, Kk in zip(model.design.terms, Zs, sigmas, K):
        Kk = np.eye(term.m) if Kk is None else Kk.loc[term.levels, term.levels].to_numpy()
        V += Z @ np.kron(S, Kk) @ Z.T
    same = row[:, None] == row[None, :]
    V += np.where(same, R0[trait[:, None], trait[None, :]], 0.0)
    return V


def oracle_m2ll(model, sigmas, R0, K):
    """-2 REML log-likelihood of the stacked records at (Sigma_k, R0), densely."""
    y, X = model.design.y, model.design.X.toarray()
    return reml_m2ll(y, X, dense_V(model, sigmas, R0, K))
