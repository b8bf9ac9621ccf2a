"""Pedigree of a dairy-like population, built one generation at a time with vectorised draws.

Generation 0 are founders. In generation g every calf gets
  - a dam drawn without replacement (while enough remain) from the cows born in generations g-3..g-1,
    and the dam's herd (dams calve within their herd);
  - a sire drawn from the AI sires of generations g-2..g-1 (``sires_per_generation`` bulls picked at
    random from each generation's males, used across all herds).
Reused sires and within-herd dams make inbreeding accumulate. A fraction of recorded parents is then
hidden (unknown); unknown parents are base animals in the model, so the simulated values follow the
animal model of the recorded pedigree exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Population:
    """Animals 0..n-1 in birth order (parents first): recorded parents (-1 unknown), sex, herd, birth generation."""

    sire: np.ndarray
    dam: np.ndarray
    female: np.ndarray
    herd: np.ndarray
    born: np.ndarray
    depth: np.ndarray  # longest ancestral path of the recorded pedigree (0 for founders)

    @property
    def n(self) -> int:
        return len(self.sire)


def generation_sizes(n_animals: int, n_generations: int) -> np.ndarray:
    """n_animals split into n_generations nearly equal parts."""
    base, extra = divmod(n_animals, n_generations)
    return np.array([base + (g < extra) for g in range(n_generations)], dtype=np.int64)


def _draw_dams(rng, candidates: np.ndarray, k: int) -> np.ndarray:
    """k dams: each cow at most once while there are enough cows, otherwise with replacement."""
    return rng.choice(candidates, size=k, replace=candidates.size < k)


def simulate_population(rng, n_animals: int, n_generations: int, n_herds: int, sires_per_generation: int,
                        unknown_dam_fraction: float, unknown_sire_fraction: float,
                        dam_generations: int = 3, sire_generations: int = 2) -> Population:
    """A Population of ``n_animals`` over ``n_generations`` (see the module docstring)."""
    sizes = generation_sizes(n_animals, n_generations)
    start = np.concatenate([[0], np.cumsum(sizes)])
    n = int(start[-1])
    sire = np.full(n, -1, np.int64)
    dam = np.full(n, -1, np.int64)
    female = rng.random(n) < 0.5
    herd = np.empty(n, np.int64)
    born = np.repeat(np.arange(n_generations), sizes)
    depth = np.zeros(n, np.int64)
    herd[:sizes[0]] = rng.integers(0, n_herds, sizes[0])
    ai_sires = []
    for g in range(1, n_generations):
        prev = np.arange(start[g - 1], start[g])
        males = prev[~female[prev]]
        ai_sires.append(rng.choice(males, size=min(sires_per_generation, males.size), replace=False)
                        if males.size else np.zeros(0, np.int64))
        sires_pool = np.concatenate(ai_sires[-sire_generations:])
        lo = start[max(0, g - dam_generations)]
        cows = np.arange(lo, start[g])
        cows = cows[female[cows]]
        if sires_pool.size == 0 or cows.size == 0:
            raise ValueError(f"generation {g - 1} has no males or no females; use more animals per generation")
        calves = np.arange(start[g], start[g + 1])
        d = _draw_dams(rng, cows, calves.size)
        s = sires_pool[rng.integers(0, sires_pool.size, calves.size)]
        herd[calves] = herd[d]
        d = np.where(rng.random(calves.size) < unknown_dam_fraction, -1, d)
        s = np.where(rng.random(calves.size) < unknown_sire_fraction, -1, s)
        sire[calves], dam[calves] = s, d
        ds = np.where(s >= 0, depth[np.maximum(s, 0)], -1)
        dd = np.where(d >= 0, depth[np.maximum(d, 0)], -1)
        depth[calves] = np.maximum(ds, dd) + 1
    return Population(sire, dam, female, herd, born, depth)


def breeding_values(rng, pop: Population, dii: np.ndarray, sigma2_a: float) -> np.ndarray:
    """a_i = (a_s + a_d)/2 + m_i, Var(m_i) = d_i sigma2_a (unknown parent: a = 0 in the mean, d_i larger)."""
    a = np.zeros(pop.n)
    sd = np.sqrt(dii * sigma2_a)
    z = rng.standard_normal(pop.n)
    for g in range(int(pop.born.max()) + 1):
        idx = np.flatnonzero(pop.born == g)
        s, d = pop.sire[idx], pop.dam[idx]
        mean = 0.5 * (np.where(s >= 0, a[np.maximum(s, 0)], 0.0) + np.where(d >= 0, a[np.maximum(d, 0)], 0.0))
        a[idx] = mean + sd[idx] * z[idx]
    return a


def simulate_pedigree_frame(pop: Population, ids: np.ndarray):
    """DataFrame id, sire, dam ("0" for unknown), sex (F/M), born (generation), herd (where born)."""
    import pandas as pd
    parent = np.concatenate([["0"], ids]).astype(object)
    return pd.DataFrame({"id": ids, "sire": parent[pop.sire + 1], "dam": parent[pop.dam + 1],
                         "sex": np.where(pop.female, "F", "M"), "born": pop.born,
                         "herd": np.char.add("h", pop.herd.astype(str))})
