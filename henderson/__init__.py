"""henderson: linear mixed models by Henderson's sparse mixed model equations.

    import henderson as hd
    r = hd.fit("y ~ x + (1|g)", data)            # REML by AI
    m = hd.Model(formula, data, relationships={"id": hd.read_pedigree("ped.csv")})
"""
__version__ = "0.1.0"

from . import jitnotice  # noqa: F401  (a notice when numba compiles the kernels)

from .errors import (AliasedColumnsWarning, ConvergenceError, ConvergenceWarning, DesignError,
                     HendersonError, MissingDataWarning, NotPositiveDefiniteError, PedigreeError,
                     PedigreeWarning)
from .model import Model, fit
from .pedigree import Pedigree, read_pedigree
from .inference import LRTResult, aic_table, lrt
from .fitted import FitResult
from .simulate import simulate
from . import datasets

__all__ = ["datasets", "Model", "fit", "simulate", "lrt", "aic_table", "LRTResult", "Pedigree", "read_pedigree", "FitResult", "HendersonError", "DesignError",
           "PedigreeError", "NotPositiveDefiniteError", "ConvergenceError", "ConvergenceWarning",
           "AliasedColumnsWarning", "MissingDataWarning", "PedigreeWarning"]
