"""Versions of the packages a result was computed with."""
from __future__ import annotations

import platform
from importlib import metadata


def package_versions() -> dict[str, str]:
    """henderson, numpy, scipy, pandas, scikit-sparse, formulaic, numba and Python versions."""
    out = {"python": platform.python_version()}
    for name in ("henderson", "numpy", "scipy", "pandas", "scikit-sparse", "formulaic", "numba"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
