"""Correlation structures within a group, on the (G, s, s) blocks of a size class (layout.SizeClass).

Each gives its parameters' names and start values, whether a parameter vector is admissible, the
correlation blocks C(phi) and their derivatives dC/dphi_j. Parameters are on nlme's natural scale
(correlations; corCAR1's phi), as nlme reports them with coef(..., unconstrained = FALSE).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BOUNDARY = 1e-4   # a correlation within this of +-1 (phi of 1 or 0 for corCAR1) is reported on the boundary


@dataclass(frozen=True)
class Independent:
    """No correlation (C = I)."""

    kind = "none"

    @property
    def n_params(self) -> int:
        return 0

    def labels(self) -> list[str]:
        return []

    def start(self, blocks=()) -> np.ndarray:
        """Start values; ``blocks`` are (z (G, s), SizeClass) pairs of standardized residuals, or empty."""
        return np.zeros(0)

    def admissible(self, phi) -> bool:
        return True

    def interval(self) -> list[tuple[float, float]]:
        """(lo, hi): the open range of each parameter."""
        return []

    def blocks(self, phi, c) -> np.ndarray:
        return np.broadcast_to(np.eye(c.s), c.idx.shape + (c.s,))

    def derivatives(self, phi, c) -> list[np.ndarray]:
        return []

    def on_boundary(self, phi) -> list[str]:
        return []


def _lag(c) -> np.ndarray:
    return np.abs(c.time[:, :, None] - c.time[:, None, :])


def lag_correlations(blocks, lags: int) -> np.ndarray:
    """Pooled within-group correlations r_1 .. r_lags of z at time lags 1 .. lags (nan where no pair):
    the mean of z_a z_b over the pairs at that lag over the mean of z^2. ``blocks``: (z (G, s), SizeClass)."""
    num, cnt = np.zeros(lags + 1), np.zeros(lags + 1)
    for z, c in blocks:
        lag, prod = _lag(c), z[:, :, None] * z[:, None, :]
        for k in range(lags + 1):
            at = lag == k
            num[k] += prod[at].sum()
            cnt[k] += np.count_nonzero(at)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = num / cnt
        return mean[1:] / mean[0]


@dataclass(frozen=True)
class AR1(Independent):
    """rho^|t_a - t_b| (t: positions, integer times; or continuous times for corCAR1's phi)."""

    continuous: bool = False

    @property
    def kind(self) -> str:
        return "corCAR1" if self.continuous else "corAR1"

    @property
    def n_params(self) -> int:
        return 1

    def labels(self) -> list[str]:
        return ["Phi"]

    def start(self, blocks=()) -> np.ndarray:
        """corAR1: phi from the lag correlations r_k of the standardized residuals ``blocks``. With r_k = c +
        (1 - c) phi^k (c: the correlation a random intercept adds, 0 without one), phi = (r_2 - r_3) / (r_1 - r_2);
        r_1 where that is not available or out of range; 0 without residuals. corCAR1: 0.2."""
        if self.continuous:
            return np.array([0.2])
        if not blocks:
            return np.array([0.0])
        r1, r2, r3 = lag_correlations(blocks, 3)
        with np.errstate(divide="ignore", invalid="ignore"):
            phi = (r2 - r3) / (r1 - r2)
        if not (abs(r1 - r2) > 0.01 and abs(phi) < 0.95):
            phi = np.clip(np.nan_to_num(r1), -0.9, 0.9)
        return np.array([float(phi)])

    def interval(self) -> list[tuple[float, float]]:
        return [(0.0, 1.0)] if self.continuous else [(-1.0, 1.0)]

    def admissible(self, phi) -> bool:
        return (0.0 < phi[0] < 1.0) if self.continuous else (-1.0 < phi[0] < 1.0)

    def blocks(self, phi, c) -> np.ndarray:
        lag = _lag(c)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(lag == 0, 1.0, np.abs(phi[0]) ** lag * np.sign(phi[0]) ** (lag % 2))
        return out

    def derivatives(self, phi, c) -> list[np.ndarray]:
        lag = _lag(c)
        r = phi[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.where(lag == 0, 0.0, lag * np.abs(r) ** (lag - 1) * np.sign(r) ** ((lag - 1) % 2))
        return [d]

    def on_boundary(self, phi) -> list[str]:
        r = phi[0]
        if self.continuous:
            return [f"{self.kind} Phi = {r:.6g}"] if r > 1 - BOUNDARY or r < BOUNDARY else []
        return [f"{self.kind} Phi = {r:.6g}"] if abs(r) > 1 - BOUNDARY else []


@dataclass(frozen=True)
class CompSymm(Independent):
    """One correlation rho between any two records of a group (admissible for every group size present)."""

    max_size: int = 2
    kind = "corCompSymm"

    @property
    def n_params(self) -> int:
        return 1

    def labels(self) -> list[str]:
        return ["Rho"]

    def start(self, blocks=()) -> np.ndarray:
        return np.array([0.0])

    def interval(self) -> list[tuple[float, float]]:
        return [(-1.0 / max(self.max_size - 1, 1), 1.0)]

    def admissible(self, phi) -> bool:
        return -1.0 / max(self.max_size - 1, 1) < phi[0] < 1.0

    def blocks(self, phi, c) -> np.ndarray:
        eye = np.eye(c.s)
        return np.broadcast_to(phi[0] * (1 - eye) + eye, c.idx.shape + (c.s,))

    def derivatives(self, phi, c) -> list[np.ndarray]:
        return [np.broadcast_to(1.0 - np.eye(c.s), c.idx.shape + (c.s,))]

    def on_boundary(self, phi) -> list[str]:
        return [f"corCompSymm Rho = {phi[0]:.6g}"] if phi[0] > 1 - BOUNDARY else []


@dataclass(frozen=True)
class Symm(Independent):
    """A general T x T correlation over positions; parameters cor(a, b), a < b, row by row (nlme's order)."""

    T: int = 2
    position_labels: tuple = ()
    kind = "corSymm"

    @property
    def n_params(self) -> int:
        return self.T * (self.T - 1) // 2

    def pairs(self) -> list[tuple[int, int]]:
        return [(a, b) for a in range(self.T) for b in range(a + 1, self.T)]

    def labels(self) -> list[str]:
        lab = self.position_labels or tuple(str(i + 1) for i in range(self.T))
        return [f"cor({lab[a]},{lab[b]})" for a, b in self.pairs()]

    def start(self, blocks=()) -> np.ndarray:
        return np.zeros(self.n_params)

    def full(self, phi) -> np.ndarray:
        M = np.eye(self.T)
        for v, (a, b) in zip(phi, self.pairs()):
            M[a, b] = M[b, a] = v
        return M

    def interval(self) -> list[tuple[float, float]]:
        return [(-1.0, 1.0)] * self.n_params

    def admissible(self, phi) -> bool:
        return bool(np.all(np.abs(phi) < 1)) and np.linalg.eigvalsh(self.full(phi))[0] > 1e-10

    def blocks(self, phi, c) -> np.ndarray:
        return self.full(phi)[c.pos[:, :, None], c.pos[:, None, :]]

    def derivatives(self, phi, c) -> list[np.ndarray]:
        out = []
        pa, pb = c.pos[:, :, None], c.pos[:, None, :]
        for a, b in self.pairs():
            out.append((((pa == a) & (pb == b)) | ((pa == b) & (pb == a))).astype(float))
        return out

    def on_boundary(self, phi) -> list[str]:
        return [f"corSymm {lab} = {v:.6g}" for lab, v in zip(self.labels(), phi) if abs(v) > 1 - BOUNDARY]
