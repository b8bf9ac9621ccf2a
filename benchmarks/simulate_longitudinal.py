"""Simulated longitudinal trial for bench_gls: subjects x occasions, two arms, a random subject intercept,
AR(1) errors (rho 0.6) with an SD per occasion (1.0 to 1.5); y is written with 10 significant digits."""
from __future__ import annotations

import numpy as np
import pandas as pd


def simulate(subjects: int, occasions: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    T = occasions
    lag = np.abs(np.subtract.outer(np.arange(T), np.arange(T)))
    sd = np.linspace(1.0, 1.5, T)
    L = np.linalg.cholesky(sd[:, None] * 0.6**lag * sd[None, :])
    e = rng.standard_normal((subjects, T)) @ L.T
    arm = rng.integers(0, 2, subjects)
    u = 0.8 * rng.standard_normal(subjects)
    week = np.arange(1, T + 1)
    y = 10 + 0.5 * arm[:, None] + 0.3 * week[None, :] + 0.2 * arm[:, None] * week[None, :] + u[:, None] + e
    return pd.DataFrame({"id": np.repeat([f"s{i}" for i in range(subjects)], T), "week": np.tile(week, subjects),
                         "arm": np.repeat(np.where(arm == 1, "B", "A"), T), "y": np.round(y.ravel(), 10)})
