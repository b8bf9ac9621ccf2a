"""Formulas to sparse designs: lme4 syntax -> y, X, Z blocks."""
from . import legendre  # noqa: F401  (registers leg() with formulaic)
from .design import Design, build_design
from .parse import ParsedFormula, RandomSpec, parse_formula
from .random import RandomTerm

__all__ = ["Design", "build_design", "ParsedFormula", "RandomSpec", "parse_formula", "RandomTerm"]
