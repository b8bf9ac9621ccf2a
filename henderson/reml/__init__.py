"""REML and ML estimation of variance components: objective, derivatives, AI/EM driver."""
from ..options import Options
from .derivatives import Derivatives, derivatives, em_update
from .driver import Trace, run, start_values
from .objective import Objective, State

__all__ = ["Derivatives", "derivatives", "em_update", "Options", "Trace", "run", "start_values",
           "Objective", "State"]
