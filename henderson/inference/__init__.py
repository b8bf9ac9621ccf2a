"""Statistical inference on fitted linear mixed models: Satterthwaite df, ANOVA, contrasts, marginal
means, profile and Wald intervals, delta-method quantities, likelihood-ratio tests, prediction, plots."""
from .lrt import LRTResult, aic_table, lrt

__all__ = ["lrt", "aic_table", "LRTResult"]
