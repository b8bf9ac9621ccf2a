"""Sparse linear algebra: the CHOLMOD factor of C, block elimination of a block-diagonal leading
part (BlockFactor), and the selected inverse (Takahashi)."""

from henderson.linalg.blocked import BlockFactor
from henderson.linalg.cholmod import Factor

__all__ = ["BlockFactor", "Factor"]
