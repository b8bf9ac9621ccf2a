"""Pedigrees: checking and sorting, inbreeding, A^-1 with inbreeding, log|A|."""

from henderson.ids import normalize_ids
from henderson.pedigree.pedigree import Pedigree, read_pedigree

__all__ = ["Pedigree", "read_pedigree", "normalize_ids"]
