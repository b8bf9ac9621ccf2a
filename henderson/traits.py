"""Many responses on one design: fit_traits shares the symbolic analysis of the MME between traits.

    results = hd.fit_traits("~ herd + (1|animal)", ["milk", "fat", "protein"], data,
                            relationships={"animal": ped}, warm_start=True)

The MME pattern depends on the design only (X, Z and the structure of G): traits missing on the same
rows share W'W and the fill-reducing ordering and symbolic factorization, and each trait costs numeric
refactorizations only (Model.with_response). A trait missing on other rows gets its own analysis.
"""
from __future__ import annotations

import pandas as pd

from .errors import DesignError
from .model import Model

MODEL_OPTIONS = ("relationships", "ordering", "prune", "correlated", "correlation", "variance", "weights")


def _right_hand_side(formula: str) -> str:
    """The right-hand side of ``formula`` ("y ~ rhs" or "~ rhs")."""
    if "~" not in formula:
        raise DesignError(f"formula {formula!r} has no '~': give '~ x + (1|g)' (the traits are the responses)")
    return formula.split("~", 1)[1].strip()


def trait_models(formula: str, traits, data: pd.DataFrame, **model_options) -> dict[str, Model]:
    """One Model per trait on the right-hand side of ``formula``, built from the first trait's model by
    Model.with_response (relationships resolved once; the MME analysis shared among traits on the same rows)."""
    traits = list(traits)
    if not traits:
        raise DesignError("fit_traits needs at least one trait")
    repeated = sorted({t for t in traits if traits.count(t) > 1})
    if repeated:
        raise DesignError(f"trait(s) {repeated} given more than once")
    unknown = sorted(set(model_options) - set(MODEL_OPTIONS))
    if unknown:
        raise DesignError(f"unknown model option(s) {unknown}; expected some of {list(MODEL_OPTIONS)}")
    rhs = _right_hand_side(formula)
    base = Model(f"{traits[0]} ~ {rhs}", data, **model_options)
    return {t: base if i == 0 else base.with_response(t) for i, t in enumerate(traits)}


def fit_traits(formula: str, traits, data: pd.DataFrame, warm_start: bool = False, **options) -> dict:
    """Fit ``formula``'s right-hand side to every trait in ``traits``; {trait: FitResult} in their order.

    ``options``: Model's (relationships, ordering, prune, correlated, correlation, variance, weights) and
    fit's (method, algorithm, max_iter, tol, ...). Traits missing on the same rows share one symbolic
    analysis of the MME. ``warm_start``: each fit starts from the previous converged trait's estimates
    (theta) with AI steps only (no EM step first unless ``em_start`` says so) instead of the moment
    start values; the estimates then agree with cold fits to the convergence tolerance, not to rounding.
    """
    model_options = {k: options.pop(k) for k in MODEL_OPTIONS if k in options}
    if "start" in options:
        raise DesignError("fit_traits takes no start (the traits differ); use warm_start=True")
    results, previous = {}, None
    for trait, model in trait_models(formula, traits, data, **model_options).items():
        warm = warm_start and previous is not None and previous.converged
        fit_options = {"em_start": 0, **options} if warm else options
        results[trait] = previous = model.fit(start=previous.theta if warm else None, **fit_options)
    return results
