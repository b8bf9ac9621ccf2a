"""Fit records: frozen tables, likelihood parts, iteration log; summaries and export."""
from .record import FitRecord

__all__ = ["FitRecord"]
