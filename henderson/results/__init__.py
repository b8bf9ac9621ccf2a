"""Fit results: tables, likelihood parts, summaries, export."""
from .fitresult import FitResult

__all__ = ["FitResult"]
