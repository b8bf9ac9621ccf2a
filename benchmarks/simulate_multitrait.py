"""Simulated multi-trait animal model on henderson.simulate's dairy-like pedigree, for bench_multitrait.

Every animal of the pedigree has one record row (growth traits of calves, both sexes):

    y_k = mu_k + hy_k + [sex effect, trait 1] + a_k + e_k,    Var(a) = G0 (x) A,  Var(e of a row) = R0,

with the herd x birth-generation class hy (one effect per trait, variance 0.15 x the trait's phenotypic
variance, fixed in the model). Breeding values: independent standard breeding values drawn down the
pedigree (henderson.simulate.population.breeding_values: Mendelian sampling with the parents'
inbreeding) times the Cholesky factor of G0. Missing values: trait k is missing on a row with
probability missing[k]; a row that loses every trait keeps its first.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from henderson.pedigree import Pedigree
from henderson.simulate.population import breeding_values, simulate_pedigree_frame, simulate_population


def correlated(sd, cor: float) -> np.ndarray:
    """Covariance with standard deviations ``sd``: correlation ``cor`` between traits whose indices have the
    same parity, -cor/2 between the others (positive definite for 0 <= cor < 0.8 and up to five traits)."""
    t = len(sd)
    C = np.full((t, t), cor)
    C[::2, 1::2] = C[1::2, ::2] = -cor / 2
    np.fill_diagonal(C, 1.0)
    return np.outer(sd, sd) * C


def simulate_multitrait(n_animals: int, G0, R0, missing, seed: int = 1, n_generations: int = 10):
    """(data, pedigree frame, truth): data id, sex, hy, y1..yt (NaN missing); truth G0, R0 and the
    true breeding values (DataFrame by id, a column per trait)."""
    G0, R0 = np.asarray(G0, float), np.asarray(R0, float)
    t = len(G0)
    rng = np.random.default_rng(seed)
    per_gen = n_animals // n_generations
    pop = simulate_population(rng, n_animals, n_generations, max(2, n_animals // 250), max(2, int(np.sqrt(per_gen))),
                              0.1, 0.0)
    ids = np.arange(1, pop.n + 1).astype(str).astype(object)
    dii = np.asarray(Pedigree(ids, pop.sire, pop.dam, pop.depth, np.zeros(0, dtype=object)).dii)
    U = np.column_stack([breeding_values(rng, pop, dii, 1.0) for _ in range(t)]) @ np.linalg.cholesky(G0).T
    hy_code = pop.herd * n_generations + pop.born
    levels, hy = np.unique(hy_code, return_inverse=True)
    phen = np.diag(G0) + np.diag(R0)
    hy_eff = rng.standard_normal((levels.size, t)) * np.sqrt(0.15 * phen)
    E = rng.standard_normal((pop.n, t)) @ np.linalg.cholesky(R0).T
    Y = 10.0 * np.arange(1, t + 1) + hy_eff[hy] + U + E
    Y[:, 0] += np.where(pop.female, 0.0, 0.5 * np.sqrt(phen[0]))
    miss = rng.random(Y.shape) < np.asarray(missing)[None, :]
    miss[miss.all(axis=1), 0] = False
    Y[miss] = np.nan
    data = pd.DataFrame({"id": ids, "sex": np.where(pop.female, "F", "M"),
                         "hy": np.char.add("hy", hy.astype(str)).astype(object)})
    traits = [f"y{k + 1}" for k in range(t)]
    for k, name in enumerate(traits):
        data[name] = Y[:, k]
    truth = {"G0": G0, "R0": R0, "breeding_values": pd.DataFrame(U, index=pd.Index(ids, name="id"), columns=traits),
             "n_patterns": int(np.unique(~miss, axis=0).shape[0])}
    return data, simulate_pedigree_frame(pop, ids), truth


def formulas(t: int) -> dict:
    """Trait 1: sex + hy; traits 2..t: hy; every trait with the animal term."""
    return {f"y{k + 1}": f"y{k + 1} ~ {'sex + ' if k == 0 else ''}hy + (1|id)" for k in range(t)}
