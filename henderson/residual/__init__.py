"""Structured residual covariances (nlme's correlation and variance structures, known weights)."""
from .bind import bind_residual
from .spec import corAR1, corCAR1, corCompSymm, corSymm, varExp, varIdent, varPower
from .term import ResidualParams, StructuredResidual

__all__ = ["bind_residual", "corAR1", "corCAR1", "corCompSymm", "corSymm", "varIdent", "varPower", "varExp",
           "ResidualParams", "StructuredResidual"]
