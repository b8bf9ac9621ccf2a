"""Records of cows: y = mean + herd-year + a + pe + e, one row per lactation."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .population import Population


def variance_components(h2: float, variances: dict | None, lactations: int,
                        herd_year: float = 0.15, permanent: float = 0.1) -> dict:
    """{"additive", "herd_year", "permanent", "residual"}: given, or from h2 on a phenotypic variance of 1."""
    if variances is not None:
        v = {"additive": 0.0, "herd_year": 0.0, "permanent": 0.0, "residual": 1.0, **variances}
        unknown = set(v) - {"additive", "herd_year", "permanent", "residual"}
        if unknown:
            raise ValueError(f"unknown variance component(s) {sorted(unknown)}; "
                             "use additive, herd_year, permanent, residual")
    else:
        if not 0 < h2 < 1:
            raise ValueError(f"h2 must be in (0, 1), got {h2}")
        pe = permanent if lactations > 1 else 0.0
        v = {"additive": h2, "herd_year": herd_year, "permanent": pe, "residual": 1.0 - h2 - herd_year - pe}
    if lactations == 1:
        v["permanent"] = 0.0
    bad = [k for k, x in v.items() if x < 0 or (k == "residual" and x <= 0)]
    if bad:
        raise ValueError(f"variance component(s) {bad} must be positive: {v}")
    return {k: float(x) for k, x in v.items()}


def records(rng, pop: Population, a: np.ndarray, var: dict, record_fraction: float, lactations: int,
            survival: float, mean: float, ids: np.ndarray) -> tuple[pd.DataFrame, dict]:
    """Data frame of records (id, herd, year, hy, lact, y) and the true herd-year and pe effects."""
    cows = np.flatnonzero(pop.female & (rng.random(pop.n) < record_fraction))
    n_lact = np.ones(cows.size, np.int64)
    alive = np.ones(cows.size, bool)
    for _ in range(1, lactations):
        alive &= rng.random(cows.size) < survival
        n_lact += alive
    cow = np.repeat(cows, n_lact)
    first = np.repeat(np.cumsum(n_lact) - n_lact, n_lact)
    lact = np.arange(cow.size) - first + 1
    year = pop.born[cow] + lact
    herd = pop.herd[cow]
    n_years = int(year.max(initial=0)) + 1
    hy_levels, hy_index = np.unique(herd * n_years + year, return_inverse=True)
    hy_eff = rng.standard_normal(hy_levels.size) * np.sqrt(var["herd_year"])
    pe = rng.standard_normal(pop.n) * np.sqrt(var["permanent"])
    e = rng.standard_normal(cow.size) * np.sqrt(var["residual"])
    y = mean + hy_eff[hy_index] + a[cow] + pe[cow] + e
    herd_names = np.array([f"h{h}" for h in range(int(pop.herd.max(initial=0)) + 1)], dtype=object)
    hy_names = np.array([f"h{h}_y{t}" for h, t in zip(hy_levels // n_years, hy_levels % n_years)], dtype=object)
    data = pd.DataFrame({"id": ids[cow], "herd": herd_names[herd], "year": year, "hy": hy_names[hy_index],
                         "lact": lact, "y": y})
    truth = {"herd_year": pd.Series(hy_eff, index=hy_names, name="herd_year"),
             "permanent": pd.Series(pe[cows], index=ids[cows], name="permanent")}
    return data, truth
