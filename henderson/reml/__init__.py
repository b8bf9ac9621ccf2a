"""REML and ML estimation of variance components: objective, derivatives, AI/EM driver."""
from .derivatives import Derivatives, derivatives, em_update
from ..options import Options
from .driver import Trace, run, start_values
from .objective import Objective, State

__all__ = ["Derivatives", "derivatives", "em_update", "Options", "Trace", "run", "start_values",
           "Objective", "State"]
