"""henderson: linear mixed models by Henderson's sparse mixed model equations.

    import henderson as hd
    r = hd.fit("y ~ x + (1|g)", data)            # REML by AI
    m = hd.Model(formula, data, relationships={"id": hd.read_pedigree("ped.csv")})

The public names are loaded on first use (module __getattr__), so that ``import henderson`` and the
command line's ``--help`` do not pay for scipy, pandas, formulaic and numba.
"""
import sys
import types
from importlib import import_module

__version__ = "0.1.0"

# public name -> submodule that defines it
_LAZY = {
    "Model": ".model", "fit": ".model", "fit_traits": ".model", "MultiTraitModel": ".multitrait",
    "Pedigree": ".pedigree", "read_pedigree": ".pedigree",
    "LRTResult": ".inference", "aic_table": ".inference", "lrt": ".inference",
    "FitResult": ".fitted",
    "simulate": ".simulate",
    "GBLUP": ".genomic", "SingleStep": ".genomic", "ParentGroups": ".genomic",
    "corSymm": ".residual", "corAR1": ".residual", "corCAR1": ".residual", "corCompSymm": ".residual",
    "varIdent": ".residual",
    "varPower": ".residual",
    "varExp": ".residual",
    "AliasedColumnsWarning": ".errors", "ConvergenceError": ".errors", "ConvergenceWarning": ".errors",
    "DesignError": ".errors", "HendersonError": ".errors", "MissingDataWarning": ".errors",
    "NotPositiveDefiniteError": ".errors", "PedigreeError": ".errors", "PedigreeWarning": ".errors",
}
_SUBMODULES = ("datasets", "genomic")

__all__ = ["datasets", "genomic", "GBLUP", "SingleStep", "ParentGroups",
           "corSymm", "corAR1", "corCAR1", "corCompSymm", "varIdent", "varPower", "varExp",
           "Model", "MultiTraitModel", "fit", "fit_traits", "simulate", "lrt", "aic_table", "LRTResult", "Pedigree", "read_pedigree",
           "FitResult", "HendersonError", "DesignError", "PedigreeError", "NotPositiveDefiniteError",
           "ConvergenceError", "ConvergenceWarning", "AliasedColumnsWarning", "MissingDataWarning",
           "PedigreeWarning"]


def __getattr__(name: str):
    """Import the submodule that defines a public name on its first use and cache the name here."""
    if name in _SUBMODULES:
        value = import_module(f".{name}", __name__)
    elif name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
    else:
        raise AttributeError(f"module 'henderson' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """henderson's module type: ``hd.simulate`` stays the function when its subpackage is imported.

    Importing ``henderson.simulate`` binds the name on this module to the subpackage afterwards;
    the eager imports that once ran here rebound it to the function, this keeps doing so.
    """

    def __setattr__(self, name, value):
        if name == "simulate" and isinstance(value, types.ModuleType):
            value = value.simulate
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
