"""Sparse linear algebra: the CHOLMOD factor of C and its selected inverse (Takahashi)."""

from henderson.linalg.cholmod import Factor

__all__ = ["Factor"]
