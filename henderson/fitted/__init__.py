"""The live result of a fit: the frozen FitRecord with the model, and the inference methods on it."""
from .result import FitResult

__all__ = ["FitResult"]
