"""Versions of the packages a result was computed with."""
from __future__ import annotations

import platform
from functools import lru_cache
from importlib import metadata


@lru_cache(maxsize=1)
def _versions() -> tuple:
    return tuple(_read().items())


def package_versions() -> dict[str, str]:
    """henderson, numpy, scipy, pandas, scikit-sparse, formulaic, numba and Python versions (read once)."""
    return dict(_versions())


def _read() -> dict[str, str]:
    """henderson, numpy, scipy, pandas, scikit-sparse, formulaic, numba and Python versions."""
    out = {"python": platform.python_version()}
    for name in ("henderson", "numpy", "scipy", "pandas", "scikit-sparse", "formulaic", "numba"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
