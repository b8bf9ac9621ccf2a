"""statsmodels MixedLM (REML) where it can express the model: one grouping factor with random
coefficients, or crossed factors as variance components within a single all-ones group."""
from __future__ import annotations

import time
import warnings
from pathlib import Path

NAME = "statsmodels"


def unavailable():
    try:
        import statsmodels  # noqa: F401
    except ImportError:
        return "statsmodels not installed (pip install statsmodels)"
    return None


def unsupported(problem):
    return None if problem.statsmodels else (problem.note or "MixedLM cannot express this model")


def run(problem, folder: Path) -> dict:
    import pandas as pd
    import statsmodels.formula.api as smf
    t0 = time.perf_counter()
    d = pd.read_csv(folder / "data.csv", dtype={c: str for c in problem.factors})
    d["one"] = 1
    t1 = time.perf_counter()
    spec = dict(problem.statsmodels)
    formula, groups = spec.pop("formula"), spec.pop("groups")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = smf.mixedlm(formula, d, groups=d[groups], **spec).fit(reml=True)
    t2 = time.perf_counter()
    import statsmodels
    return {"read_seconds": t1 - t0, "fit_seconds": t2 - t1, "seconds": t2 - t1, "deviance": float(-2 * r.llf),
            "n_iter": int(getattr(r, "n_iter", 0) or 0) or None, "converged": bool(r.converged),
            "nobs": int(r.nobs), "version": statsmodels.__version__}
