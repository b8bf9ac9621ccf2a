"""Legendre polynomials of a covariate for random regression: ``leg(dim, k)`` in any formula part.

    leg(x, k)  ->  phi_j(t) = sqrt((2j + 1) / 2) P_j(t),  j = 0..k,   t = 2 (x - x_min) / (x_max - x_min) - 1

the normalized Legendre polynomials of Kirkpatrick et al. (1990) and Schaeffer (2004) of degree 0
to k (k + 1 columns) of the covariate standardized to [-1, 1] over the range of the data (or over
``lower``, ``upper`` when given). The range is kept as formulaic state, so predictions on new data
use the fitting data's range. ``phi_0`` is the constant sqrt(1/2): in a random term
``(leg(dim, 2) | id)`` it is the intercept (no other intercept is added); in the fixed part an
intercept makes it aliased and it is dropped as any aliased column. ``C(parity):leg(dim, 2)`` gives
fixed curves nested within the classes of parity.
"""
from __future__ import annotations

import re

import numpy as np
from formulaic.transforms import TRANSFORMS, stateful_transform

from ..errors import DesignError


def legendre_matrix(t: np.ndarray, k: int) -> np.ndarray:
    """[phi_0(t) .. phi_k(t)] (n x (k + 1)), normalized so that the integral of phi_j^2 over [-1, 1] is 1."""
    t = np.asarray(t, dtype=float)
    P = np.empty((len(t), k + 1))
    P[:, 0] = 1.0
    if k >= 1:
        P[:, 1] = t
    for j in range(2, k + 1):   # Bonnet's recursion
        P[:, j] = ((2 * j - 1) * t * P[:, j - 1] - (j - 1) * P[:, j - 2]) / j
    return P * np.sqrt((2 * np.arange(k + 1) + 1) / 2.0)


def standardize(x: np.ndarray, lower: float, upper: float) -> np.ndarray:
    """x on [lower, upper] mapped to t on [-1, 1]."""
    if not upper > lower:
        raise DesignError(f"leg(): the covariate has no range ({lower} to {upper}); it needs two distinct values")
    return 2.0 * (np.asarray(x, dtype=float) - lower) / (upper - lower) - 1.0


@stateful_transform
def leg(x, k=2, lower=None, upper=None, _state=None):
    """Normalized Legendre polynomials of degree 0..k of x standardized to [-1, 1] (module docstring)."""
    if int(k) != k or k < 0:
        raise DesignError(f"leg(): the order must be a whole number >= 0, got {k!r}")
    x = np.asarray(x, dtype=float)
    if "lower" not in _state:
        _state["lower"] = float(np.nanmin(x) if lower is None else lower)
        _state["upper"] = float(np.nanmax(x) if upper is None else upper)
    P = legendre_matrix(standardize(x, _state["lower"], _state["upper"]), int(k))
    return {str(j): P[:, j] for j in range(int(k) + 1)}


TRANSFORMS["leg"] = leg   # formulaic evaluates leg(...) in every formula henderson builds

_HAS_INTERCEPT_SPEC = re.compile(r"(^|\+)\s*(0|1|-\s*1)\s*(\+|$)")


def random_lhs(lhs: str) -> str:
    """The effects of a random term: ``leg(dim, 2)`` alone gets ``0 +`` (phi_0 is its intercept)."""
    if "leg(" in lhs and not _HAS_INTERCEPT_SPEC.search(lhs):
        return "0 + " + lhs
    return lhs
