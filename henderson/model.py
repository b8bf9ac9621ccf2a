"""Model: formula + data (+ relationships) built once; solved at given variances or fitted by REML/ML.

    m = Model("y ~ x + (1|g)", data)      # design, variance model, MME pattern
    m.objective("REML")(theta)            # -2 log-likelihood at theta (lme4's devFunOnly)
    m.fit(method="REML", algorithm="ai")  # FitResult
    m.solve(variances={...})              # BLUE/BLUP at known variances
    m.with_response("fat")                # another trait on the design (the MME analysis shared)
    fit_traits("~ x + (1|g)", ["milk", "fat"], data)   # {trait: FitResult}
"""
from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from . import relationships as rel
from .covariance import ResidualCovariance, TermCovariance, VarianceModel
from .errors import DesignError
from .fitted.build import from_solution, from_trace
from .fitted.iterative import solve_pcg
from .formula import build_design, parse_formula
from .formula.checks import check_identifiable
from .formula.correlated import join_correlated
from .linalg.pcg import MAX_ITER, TOL
from .mme import build_pattern
from .options import MC_ALGORITHM, N_PROBES, SOLVERS, Options, choice
from .reml import Objective, run
from .residual import bind_residual


class Model:
    """A linear mixed model y = X b + Z u + e ready to be solved or fitted (immutable after construction).

    ``correlated``: groups of random terms on different grouping columns with one joint covariance,
    e.g. [("id", "dam")] for the direct-maternal genetic model (henderson.formula.correlated): the
    term is named ``id+dam`` and takes a 2 x 2 covariance in ``variances``/``start``.
    ``ordering``: how the MME is factored (henderson.reml.objective.analyze_mme): "auto" eliminates
    the largest random term first when it has no relationship matrix (crossed and nested designs)
    and uses CHOLMOD with "dense-last" otherwise (AMD with the dense columns of C, such as sires with
    many progeny, set aside and ordered last); "block", "dense-last", or a CHOLMOD ordering "amd",
    "metis", "best", "natural", forces one way.
    """

    def __new__(cls, formula=None, *args, **kwargs):
        """A dict (or list) of formulas, one per trait, makes a MultiTraitModel (henderson.multitrait)."""
        if cls is Model and isinstance(formula, (dict, list, tuple)):
            from .multitrait import MultiTraitModel
            return object.__new__(MultiTraitModel)
        return object.__new__(cls)

    def __init__(self, formula: str, data: pd.DataFrame, relationships: dict | None = None,
                 ordering: str = "auto", prune: bool = False, correlated=None, correlation=None, variance=None,
                 weights: str | None = None):
        parsed = parse_formula(formula)
        if not isinstance(data, pd.DataFrame):
            raise DesignError(f"data must be a pandas DataFrame, got {type(data).__name__}")
        self.data = data
        self.relationships = rel.resolve(relationships, parsed.random, data, prune)
        self._ids = {k: r.ids for k, r in self.relationships.items()}
        self._correlated, self._residual_args = correlated, (correlation, variance, weights)
        design = build_design(formula, data, ids=self._ids)
        self.design, self.joint = join_correlated(design, correlated)
        self.relationships = rel.joined(self.relationships, self.joint)
        self.vm = self._variance_model()
        self.ordering = ordering
        self._objectives: dict[str, Objective] = {}
        self._shared: Model | None = None

    def _variance_model(self) -> VarianceModel:
        """The variance model of the design's terms and of the residual structure on the design's rows."""
        correlation, variance, weights = self._residual_args
        residual = bind_residual(correlation, variance, weights, self._design_rows(self.data), self.design.terms) \
            if correlation is not None or variance is not None or weights is not None else None
        return VarianceModel(tuple(self._term_cov(t) for t in self.design.terms),
                             residual if residual is not None else ResidualCovariance())

    def with_response(self, response: str) -> Model:
        """This model for another response (a column or an expression of columns): the formula's right-hand
        side, the data, relationships (not read or pruned again), residual structure and ordering kept.

        When the new response is missing on the same rows as this one (the design keeps the same rows),
        the new model shares this one's variance model and MME structure, and its objectives reuse this
        model's symbolic analysis: only y'y and W'y are new, and every factorization is numeric
        (``shares_analysis`` is True). Otherwise the rows differ, W'W and the MME pattern with them, and
        the new model does its own analysis (``shares_analysis`` False).
        """
        new = object.__new__(Model)
        new.__dict__.update({k: self.__dict__[k] for k in
                             ("data", "relationships", "_ids", "_correlated", "_residual_args", "ordering")})
        rhs = self.formula.split("~", 1)[1].strip()
        design, new.joint = join_correlated(build_design(f"{response} ~ {rhs}", self.data, ids=self._ids),
                                            self._correlated)
        new.design = design
        new._objectives = {}
        if design.rows.equals(self.design.rows):
            base = self._shared or self
            new.vm, new._shared = base.vm, base
            new.__dict__["pattern"] = base.pattern.with_response(design.y)
        else:
            new.vm, new._shared = new._variance_model(), None
        return new

    @property
    def shares_analysis(self) -> bool:
        """Whether this model reuses another model's symbolic analysis of the MME (``with_response``)."""
        return self._shared is not None

    def _design_rows(self, data: pd.DataFrame) -> pd.DataFrame:
        """The data rows the design uses, in its order (for the residual structure's columns)."""
        if data.index.is_unique:
            return data.loc[self.design.rows]
        if self.design.n_dropped == 0:
            return data
        raise DesignError("the data's index has repeated labels and rows with missing values were left out: "
                          "reset the index (data.reset_index(drop=True)) to use a residual structure")

    def _term_cov(self, term) -> TermCovariance:
        r = self.relationships.get(term.name)
        return TermCovariance(name=term.name, effects=term.effects, m=term.m,
                              kinv=None if r is None else r.kinv_source(),
                              logdet_K=0.0 if r is None else r.logdet_K,
                              structure=term.structure)

    @staticmethod
    def _term_params(t, value) -> np.ndarray:
        """A term's parameters from its q x q covariance, or (structured terms) from the list of its
        parameters; a matrix outside the term's structure is a DesignError."""
        S = np.atleast_2d(np.asarray(value, dtype=float))
        if not t.unstructured and S.shape == (1, t.n_params) and t.q != 1:
            return S[0]
        if S.shape != (t.q, t.q):
            extra = "" if t.unstructured else \
                f" or its {t.n_params} parameters {[a for a, _ in t.cov.labels(t.effects)]}"
            raise DesignError(f"variance of {t.name!r} must be {t.q}x{t.q} (effects {list(t.effects)}){extra}, "
                              f"got shape {S.shape}")
        p = t.cov.project(S)
        if not np.allclose(t.cov.sigma(p), S, rtol=1e-10, atol=0):
            raise DesignError(f"covariance given for {t.name!r} is not of its {t.structure} structure: {S.tolist()}")
        return p

    @cached_property
    def pattern(self):
        """The MME pattern (henderson.mme), built on first use: the PCG solver never needs it."""
        return build_pattern(self.design, self.vm)

    @property
    def formula(self) -> str:
        return self.design.formula

    def objective(self, method: str = "REML") -> Objective:
        """The REML or ML objective (symbolic analysis done on first use, then reused)."""
        method = method.upper()
        if method not in self._objectives:
            shared = None if self._shared is None else self._shared.objective(method)
            self._objectives[method] = Objective(self.design, self.vm, method, self.ordering, self.pattern,
                                                 shared=shared)
        return self._objectives[method]

    def theta(self, variances: dict) -> np.ndarray:
        """theta from {group: variance or q x q covariance, ..., "Residual": sigma2}; a structured residual's
        parameters by their names (``vm.names()``: "Residual:Phi", "Residual:cor(1,2)", "Residual:sd(10)"),
        at their start values (no correlation, SD ratios 1) when left out."""
        variances = {("+".join(k) if isinstance(k, tuple) else k): v for k, v in variances.items()}
        missing = [t.name for t in self.vm.terms if t.name not in variances] + \
            ([] if "Residual" in variances else ["Residual"])
        if missing:
            raise DesignError(f"variances missing for {missing}; give one for every term and 'Residual'")
        structure = self.vm.residual.names()[1:] if self.vm.residual.structured else []
        unknown = set(variances) - {t.name for t in self.vm.terms} - {"Residual"} - set(structure)
        if unknown:
            raise DesignError(f"variances given for unknown group(s) {sorted(unknown)}")
        params = [self._term_params(t, variances[t.name]) for t in self.vm.terms]
        extra = None
        if structure:
            extra = [float(variances.get(name, v)) for name, v in zip(structure, self.vm.residual.start())]
        theta = self.vm.from_params(params, float(variances["Residual"]), extra)
        self.vm.at(theta)  # raises NotPositiveDefiniteError naming the term
        return theta

    def _start_theta(self, start) -> np.ndarray:
        """theta from ``start``: variances as for ``theta``, or a theta vector of this variance model
        (a previous fit's ``theta``, as ``fit_traits`` warm starts)."""
        if isinstance(start, dict):
            return self.theta(start)
        theta = np.asarray(start, dtype=float)
        if theta.shape != (self.vm.n_params,):
            raise DesignError(f"start must be a dict of variances or a theta of {self.vm.n_params} values, "
                              f"got shape {theta.shape}")
        self.vm.at(theta)  # raises NotPositiveDefiniteError naming the term
        return theta

    def solve(self, variances: dict, method: str = "REML", solver: str = "direct", tol: float | None = None,
              max_iter: int | None = None, progress_every: int = 0):
        """BLUE and BLUP at the given variances (no estimation).

        ``solver="direct"`` (default): one sparse factorization of the MME; a FitResult with standard
        errors and prediction error variances. ``solver="pcg"``: preconditioned conjugate gradients on
        the matrix-free MME (henderson.fitted.iterative), no factorization and C never formed, for
        populations too large to factor; stops when ||r||^2/||b||^2 < ``tol`` (default 1e-12, as
        BLUPF90) or after ``max_iter`` rounds (default 5000), logs a progress line every
        ``progress_every`` rounds (0: none); a PCGSolution (estimates and the per-round criterion).
        """
        solver = choice("solver", solver, SOLVERS)
        if solver == "pcg":
            return solve_pcg(self, self.theta(variances), tol=TOL if tol is None else tol,
                             max_iter=max_iter or MAX_ITER, progress_every=progress_every)
        obj = self.objective(method)
        return from_solution(self, obj, obj.at(self.theta(variances)))

    def fit(self, method: str = "REML", algorithm: str = "ai", start: dict | None = None,
            max_iter: int | None = None, tol: float | None = None, em_start: int | None = None, callback=None,
            ddf: str = "satterthwaite", tol_change: float | None = None, n_probes: int = N_PROBES, seed=0):
        """Estimate variance components by REML or ML with AI (default) or EM iterations.

        ``start``: start variances as for ``theta`` (dict), or a theta vector such as a previous fit's.
        Defaults live in henderson.options.Options: ``max_iter`` 200 for AI and 5000 for EM;
        converged when the Newton decrement is below ``tol`` (default 1e-8 for AI, 1e-11 for EM)
        and the last change in log-likelihood below ``tol_change`` times n, the number of records
        (default ``tol``). ``em_start`` EM steps precede the AI steps (default: none
        when every random term gets a moment start value, one otherwise).
        ``ddf``: denominator degrees of freedom of the fixed-effect t tests, "satterthwaite"
        (as lmerTest; n - p for models with more than a few hundred fixed effects) or "residual" (n - p);
        Satterthwaite df by the observed information are computed when first read (FitResult.fixed_effects).
        Raises DesignError, as lme4 does, for a term without a relationship matrix that has as many
        levels, or random effects, as there are observations (henderson.formula.checks).

        ``algorithm="mc-ai"``: Monte Carlo AI-REML without factorization (henderson.fitted.montecarlo), for
        one random term with one effect and R = sigma2 I (y ~ hy + (1|id)); the trace of C^-1 in the score
        from ``n_probes`` Rademacher probes (``seed``), every solve by PCG; ``tol`` on the Newton decrement
        (default 1e-6; or every step below 0.05 Monte Carlo SE), ``max_iter`` (default 50). Returns an
        MCREMLResult (estimates, their Monte Carlo and sampling standard errors, the trace estimate and its
        standard error), not a FitResult.
        """
        if isinstance(algorithm, str) and algorithm.lower() == MC_ALGORITHM:
            return self._fit_mc(method, start, max_iter, tol, n_probes, seed, callback)
        opts = Options(method=method, algorithm=algorithm, max_iter=max_iter, tol=tol, tol_change=tol_change,
                       em_start=em_start, ddf=ddf, callback=callback)
        check_identifiable(self.design.n, self.design.terms, set(self.relationships))
        fixed_levels = [k for k, r in self.relationships.items() if not np.isfinite(r.logdet_K)]
        if fixed_levels:  # unknown parent groups (henderson.genomic.upg): BLUP at known variances only
            raise DesignError(f"the relationships of {fixed_levels} hold fixed levels (parent groups) and have no "
                              f"REML likelihood: use solve(variances) with variances estimated without groups")
        nonlinear = [t.name for t in self.vm.terms if not t.cov.linear()]
        if opts.algorithm == "em" and nonlinear:
            raise DesignError(f"EM-REML needs covariances linear in their parameters (unstructured, diag); "
                              f"term(s) {nonlinear} have a cs or ar1 structure: use algorithm='ai'")
        if self.vm.residual.structured:
            if opts.algorithm == "em":
                raise DesignError("algorithm='em' has no update for the residual structure's parameters "
                                  f"({self.vm.residual.description}); use algorithm='ai'")
            opts = Options(method=opts.method, algorithm=opts.algorithm, max_iter=opts.max_iter, tol=opts.tol,
                           tol_change=opts.tol_change, em_start=opts.em_start, ddf="residual", callback=callback)
        obj = self.objective(opts.method)
        trace = run(obj, None if start is None else self._start_theta(start), opts)
        return from_trace(self, obj, trace, opts.algorithm, ddf=opts.ddf)

    def _fit_mc(self, method, start, max_iter, tol, n_probes, seed, callback):
        """Model.fit(algorithm="mc-ai")."""
        from .fitted.montecarlo import MAX_ITER as MC_MAX_ITER
        from .fitted.montecarlo import TOL as MC_TOL
        from .fitted.montecarlo import check_supported, fit_mc
        check_supported(self, method)
        check_identifiable(self.design.n, self.design.terms, set(self.relationships))
        return fit_mc(self, None if start is None else self.theta(start), n_probes=n_probes, seed=seed,
                      tol=MC_TOL if tol is None else tol, max_iter=max_iter or MC_MAX_ITER, callback=callback)


def fit(formula: str, data: pd.DataFrame, relationships: dict | None = None, ordering: str = "auto",
        prune: bool = False, correlated=None, correlation=None, variance=None, weights: str | None = None,
        **options):
    """Model(formula, data, ...).fit(**options) in one call."""
    return Model(formula, data, relationships=relationships, ordering=ordering, prune=prune, correlated=correlated,
                 correlation=correlation, variance=variance, weights=weights).fit(**options)


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
