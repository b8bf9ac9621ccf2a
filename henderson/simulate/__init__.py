"""Population simulator: dairy-like pedigrees and phenotypes with known variance components.

    data, pedigree, truth = hd.simulate(5000, n_generations=10, h2=0.3, seed=1)
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import atomic_folder
from ..pedigree import Pedigree
from .phenotypes import records, variance_components
from .population import breeding_values, simulate_pedigree_frame, simulate_population

__all__ = ["simulate", "write_simulation", "simulate_population", "simulate_pedigree_frame"]


def simulate(n_animals: int, n_generations: int = 10, n_herds: int | None = None,
             sires_per_generation: int | None = None, unknown_dam_fraction: float = 0.1,
             unknown_sire_fraction: float = 0.0, record_fraction: float = 0.9, h2: float = 0.3,
             variances: dict | None = None, lactations: int = 1, survival: float = 0.7, mean: float = 10.0,
             seed=None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Simulate y = mean + hy + a + pe + e on a dairy-like pedigree; (data, pedigree, truth).

    a ~ N(0, A sigma2_a) follows the recorded pedigree (Mendelian sampling variance d_i sigma2_a with the
    parents' inbreeding), hy ~ N(0, sigma2_hy) per herd x calving year, pe ~ N(0, sigma2_pe) per cow
    (only with ``lactations`` > 1; cow survives to the next lactation with probability ``survival``),
    e ~ N(0, sigma2_e). ``variances`` (keys additive, herd_year, permanent, residual) overrides ``h2``
    (which sets additive = h2, herd_year = 0.15, permanent = 0.1, residual = rest of a phenotypic variance 1).

    data: id, herd, year, hy, lact, y (records of cows). pedigree: id, sire, dam ("0" unknown), sex, born.
    truth: variances, mean, seed, breeding_values and inbreeding (Series by id), herd_year, permanent.
    Defaults: n_herds = n_animals // 250, sires_per_generation = sqrt(animals per generation).
    ``n_generations`` >= 1: generation 0 are the founders, so one generation is founders only
    (no known parents); zero generations hold no animals and are an error.
    """
    if isinstance(n_generations, bool) or not isinstance(n_generations, (int, np.integer)) or n_generations < 1:
        raise ValueError(f"n_generations must be an integer >= 1 (1 = founders only), got {n_generations!r}")
    if n_animals < 10 * n_generations:
        raise ValueError(f"n_animals={n_animals} is too small for {n_generations} generations")
    for name, x in (("unknown_dam_fraction", unknown_dam_fraction), ("unknown_sire_fraction", unknown_sire_fraction),
                    ("record_fraction", record_fraction), ("survival", survival)):
        if not 0 <= x <= 1:
            raise ValueError(f"{name} must be in [0, 1], got {x}")
    if lactations < 1:
        raise ValueError(f"lactations must be >= 1, got {lactations}")
    var = variance_components(h2, variances, lactations)
    per_gen = n_animals // n_generations
    n_herds = n_herds or max(2, n_animals // 250)
    sires_per_generation = sires_per_generation or max(2, int(np.sqrt(per_gen)))
    rng = np.random.default_rng(seed)
    pop = simulate_population(rng, n_animals, n_generations, n_herds, sires_per_generation,
                              unknown_dam_fraction, unknown_sire_fraction)
    ids = np.arange(1, pop.n + 1).astype(str).astype(object)
    ped = Pedigree(ids, pop.sire, pop.dam, pop.depth, np.zeros(0, dtype=object))
    a = breeding_values(rng, pop, np.asarray(ped.dii), var["additive"])
    data, effects = records(rng, pop, a, var, record_fraction, lactations, survival, mean, ids)
    pedigree = simulate_pedigree_frame(pop, ids)
    truth = {"variances": var, "mean": float(mean), "seed": seed, "n_animals": pop.n, "n_records": len(data),
             "breeding_values": pd.Series(a, index=pd.Index(ids, name="id"), name="tbv"),
             "inbreeding": pd.Series(np.asarray(ped.inbreeding), index=pd.Index(ids, name="id"), name="F"),
             **effects}
    return data, pedigree, truth


def write_simulation(out, data: pd.DataFrame, pedigree: pd.DataFrame, truth: dict, fmt: str = "csv") -> list[Path]:
    """Write data, pedigree, true_values (id, tbv, F) and truth.json into the folder ``out`` atomically."""
    out = Path(out)
    ext = ".parquet" if fmt == "parquet" else ".csv"
    names = [f"data{ext}", f"pedigree{ext}", f"true_values{ext}", "truth.json"]
    true_values = pd.concat([truth["breeding_values"], truth["inbreeding"]], axis=1).reset_index()
    with atomic_folder(out, kind="simulation") as tmp:
        for name, df in zip(names, (data, pedigree, true_values)):
            df.to_parquet(tmp / name, index=False) if fmt == "parquet" else df.to_csv(tmp / name, index=False)
        summary = {k: v for k, v in truth.items() if not isinstance(v, pd.Series)}
        summary["mean_inbreeding"] = float(truth["inbreeding"].mean())
        (tmp / "truth.json").write_text(json.dumps(summary, indent=1))
    return [out / n for n in names]
