"""Multi-trait models: one formula per trait, ``Model({"y1": "y1 ~ sex + (1|id)", "y2": "y2 ~ (1|id)"}, data)``.

The records (data row, trait) are stacked (henderson.formula.traits): each trait has its own fixed
effects; a random term in several traits is one term with an unstructured traits x traits covariance
(Sigma (x) K); the residual covariance R0 of the traits of one data row is unstructured, taken per
pattern of missing traits (henderson.residual.traits); the covariance of two traits never recorded
on the same row (sex-limited traits) is not estimated but held at 0. The MME, the REML objective, AI and EM steps
are those of any model: only the layout of the records and of R is new.

Start values (``start_values``; ``univariate_start`` for fit(start="univariate"): single-trait REML fits
rescale them): the phenotypic covariance P of the traits (each trait's OLS
residual variance, and the correlations of the OLS residuals of rows with both traits) split in
halves: R0 = P / 2 on the traits with a random term (P on the others), and each term's Sigma the
other half shared among the trait's terms, with P's correlations.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from . import relationships as rel
from .covariance import VarianceModel
from .errors import DesignError, HendersonError, HendersonWarning
from .fitted.build import from_solution, from_trace
from .fitted.iterative import solve_pcg
from .fitted.traits import MultiTraitResult
from .formula import parse_formula
from .formula.checks import check_identifiable
from .formula.traits import build_trait_design, trait_formulas
from .linalg.pcg import MAX_ITER, TOL
from .model import Model
from .options import MC_ALGORITHM, SOLVERS, Options, choice
from .reml import run
from .reml.driver import ols
from .residual.traits import trait_residual


class MultiTraitModel(Model):
    """A multi-trait mixed model (see module docstring); ``Model(dict_of_formulas, ...)`` builds one.

    ``formulas``: {trait: formula}, the key the formula's response, or a list of formulas. Rows with
    some traits missing (NaN) are kept; rows with none are dropped with a MissingDataWarning and
    counted in ``n_dropped``. ``variances``/``start``: {group: t x t array or DataFrame (trait names),
    "Residual": t x t}.
    """

    def __init__(self, formulas, data: pd.DataFrame, relationships: dict | None = None, ordering: str = "auto",
                 prune: bool = False, correlated=None, correlation=None, variance=None, weights: str | None = None):
        if not isinstance(data, pd.DataFrame):
            raise DesignError(f"data must be a pandas DataFrame, got {type(data).__name__}")
        unsupported = [k for k, v in (("correlated", correlated), ("correlation", correlation),
                                      ("variance", variance), ("weights", weights)) if v not in (None, [], ())]
        if unsupported:
            raise DesignError(f"multi-trait models do not take {unsupported} (the residual is the traits' "
                              "unstructured covariance)")
        formulas = trait_formulas(formulas)
        specs = {s.name: s for f in formulas.values() for s in parse_formula(f).random}
        self.data = data
        self._given = (dict(relationships or {}), prune)   # for univariate_start's single-trait models
        self.relationships = rel.resolve(relationships, list(specs.values()), data, prune)
        self._ids = {k: r.ids for k, r in self.relationships.items()}
        self._correlated, self._residual_args = None, (None, None, None)
        self.trait_design = build_trait_design(formulas, data, ids=self._ids)
        self.traits = self.trait_design.traits
        self.design, self.joint = self.trait_design.design, []
        td = self.trait_design
        self.vm = VarianceModel(tuple(self._term_cov(t) for t in self.design.terms),
                                trait_residual(td.row_code, td.trait_code, self.traits))
        self.ordering = ordering
        self._objectives = {}
        self._shared = None

    @property
    def formulas(self) -> dict[str, str]:
        return {t: d.formula for t, d in zip(self.traits, self.trait_design.trait_designs)}

    def with_response(self, response: str):
        raise DesignError("with_response is for single-trait models; a multi-trait model takes a dict of formulas")

    def effect_traits(self, k: int) -> list[str]:
        """The trait of each effect of random term k (effects ``y1`` or ``y1:x``)."""
        return [next(t for t in self.traits if e == t or e.startswith(t + ":")) for e in self.vm.terms[k].effects]

    # -- variances ----------------------------------------------------------------------------------
    def _matrix(self, name: str, value, labels) -> np.ndarray:
        """A covariance given as an array (in ``labels`` order) or a DataFrame indexed by the labels."""
        if isinstance(value, pd.DataFrame):
            missing = [x for x in labels if x not in value.index or x not in value.columns]
            if missing:
                raise DesignError(f"covariance of {name!r} lacks rows/columns {missing} (needs {list(labels)})")
            value = value.loc[list(labels), list(labels)].to_numpy(dtype=float)
        S = np.atleast_2d(np.asarray(value, dtype=float))
        if S.shape != (len(labels), len(labels)):
            raise DesignError(f"covariance of {name!r} must be {len(labels)}x{len(labels)} ({list(labels)}), "
                              f"got shape {S.shape}")
        if not np.allclose(S, S.T, rtol=1e-12, atol=0):
            raise DesignError(f"covariance of {name!r} is not symmetric: {S.tolist()}")
        return S

    def theta(self, variances: dict) -> np.ndarray:
        """theta from {group: traits x traits covariance (array or DataFrame), ..., "Residual": t x t};
        NotPositiveDefiniteError naming the term whose matrix is not positive definite."""
        names = [t.name for t in self.vm.terms]
        missing = [g for g in names + ["Residual"] if g not in variances]
        if missing:
            raise DesignError(f"variances missing for {missing}; give one for every term and 'Residual'")
        unknown = sorted(set(variances) - set(names) - {"Residual"})
        if unknown:
            raise DesignError(f"variances given for unknown group(s) {unknown}; groups are {names + ['Residual']}")
        sigmas = [self._matrix(t.name, variances[t.name], t.effects) for t in self.vm.terms]
        R0 = self._matrix("Residual", variances["Residual"], self.traits)
        res = self._held_at_zero(self.vm.residual.cov.project(R0))
        theta = self.vm.pack(sigmas, res[0], res[1:])
        self.vm.at(theta)  # raises NotPositiveDefiniteError naming the term
        return theta

    def _held_at_zero(self, res: np.ndarray) -> np.ndarray:
        """R0's parameters with the covariances of traits never recorded on the same row at 0 (they are not
        parameters: residual.traits); a HendersonWarning naming them when a given value there is not 0."""
        held = self.vm.residual.fixed
        pairs = self.vm.residual.cov.pairs()
        given = [f"({self.traits[pairs[j][0]]}, {self.traits[pairs[j][1]]}) = {res[j]:g}" for j in held if res[j]]
        if given:
            warnings.warn(f"residual covariance of traits never recorded on the same row is not estimated and "
                          f"is held at 0; the value given is ignored: {', '.join(given)}", HendersonWarning,
                          stacklevel=4)
        out = np.array(res, dtype=float)
        out[held] = 0.0
        return out

    def _phenotypic(self) -> tuple[np.ndarray, np.ndarray]:
        """(variances, correlations) of the traits' OLS residuals (correlations over rows with both traits,
        0 where fewer than 3 such rows, shrunk to a positive definite matrix)."""
        t = len(self.traits)
        td = self.trait_design
        resid = np.full((len(td.rows), t), np.nan)
        var = np.empty(t)
        for i, d in enumerate(td.trait_designs):
            y = d.y - np.median(d.y)
            r = y - d.X @ ols(d.X, y) if d.p else y
            var[i] = float(r @ r) / max(d.n - d.p, 1)
            resid[td.row_code[td.trait_code == i], i] = r
        cor = np.eye(t)
        for a in range(t):
            for b in range(a):
                both = ~np.isnan(resid[:, a]) & ~np.isnan(resid[:, b])
                if both.sum() >= 3:
                    x, y = resid[both, a], resid[both, b]
                    c = float(x @ y) / np.sqrt(float(x @ x) * float(y @ y))
                    cor[a, b] = cor[b, a] = np.clip(c, -0.9, 0.9)
        w, V = np.linalg.eigh(cor)
        if w[0] < 0.05:
            cor = (V * np.maximum(w, 0.05)) @ V.T
            d = np.sqrt(np.diag(cor))
            cor = cor / np.outer(d, d)
        return var, cor

    def start_values(self) -> np.ndarray:
        """The phenotypic covariance split in halves between R0 and the random terms (module docstring)."""
        var, cor = self._phenotypic()
        idx = {t: i for i, t in enumerate(self.traits)}
        counts = np.zeros(len(self.traits))
        owners = [self.effect_traits(k) for k in range(len(self.vm.terms))]
        for tr in owners:
            for t in set(tr):
                counts[idx[t]] += 1
        sigmas = []
        n_t = np.bincount(self.trait_design.trait_code, minlength=len(self.traits))
        for k, (term, tr) in enumerate(zip(self.vm.terms, owners)):
            Z = self.pattern.W[:, self.pattern.term_slice(k)]
            zz = np.asarray(Z.multiply(Z).sum(axis=0)).ravel().reshape(term.q, term.m).sum(axis=1)
            scale = zz / np.array([n_t[idx[t]] for t in tr])
            sd = np.sqrt(np.array([0.5 * var[idx[t]] / counts[idx[t]] for t in tr]) / np.maximum(scale, 1e-12))
            intercept = np.array([e in self.traits for e in term.effects])
            C = np.eye(term.q)
            for a in range(term.q):
                for b in range(a):
                    if intercept[a] and intercept[b]:
                        C[a, b] = C[b, a] = cor[idx[tr[a]], idx[tr[b]]]
            sigmas.append(C * np.outer(sd, sd))
        sd_r = np.sqrt(var * np.where(counts > 0, 0.5, 1.0))
        res = self.vm.residual.hold(self.vm.residual.cov.project(cor * np.outer(sd_r, sd_r)))
        return self.vm.pack(sigmas, res[0], res[1:])

    def univariate_start(self) -> np.ndarray:
        """Start values from single-trait REML fits, as breeders start a multi-trait analysis: each trait's own
        model (its formula on the rows where it is recorded, the same relationships) gives the variances of
        its intercept terms and its residual variance; start_values' matrices are rescaled to those variances
        (D S D, D diagonal: correlations, positive definiteness and held zeros kept). A trait whose
        single-trait fit fails keeps start_values' variances, with a HendersonWarning naming it."""
        theta = self.start_values()
        sigmas, _ = self.vm.unpack(theta)
        R0 = self.vm.residual.matrix(theta[-self.vm.residual.n_params:])
        given, prune = self._given
        for i, (t, f) in enumerate(self.formulas.items()):
            groups = [s.name for s in parse_formula(f).random]
            try:
                r = Model(f, self.data[self.data[t].notna()], prune=prune,
                          relationships={g: v for g, v in given.items() if g in groups}).fit()
            except HendersonError as e:   # a trait that cannot be fitted alone: the phenotypic start serves
                warnings.warn(f"univariate start: the single-trait fit of {t!r} failed ({type(e).__name__}: {e}); "
                              "its variances start from the phenotypic split", HendersonWarning, stacklevel=2)
                continue
            vc = r.variance_components
            single = vc[vc["term2"].fillna("") == ""].groupby("group")["estimate"].first()
            R0 = _rescaled(R0, i, single["Residual"])
            for k, term in enumerate(self.vm.terms):
                if t in term.effects and term.name in single.index:
                    sigmas[k] = _rescaled(sigmas[k], term.effects.index(t), single[term.name])
        res = self.vm.residual.hold(self.vm.residual.cov.project(R0))
        return self.vm.pack(sigmas, res[0], res[1:])

    # -- solve and fit ------------------------------------------------------------------------------
    def solve(self, variances: dict, method: str = "REML", solver: str = "direct", tol=None, max_iter=None,
              progress_every: int = 0):
        """BLUE and BLUP of every trait at known covariances (``theta``): solver="direct" (a MultiTraitResult)
        or "pcg" (matrix-free, as BLUPF90's multi-trait evaluations; a PCGSolution, see Model.solve)."""
        if choice("solver", solver, SOLVERS) == "pcg":
            return solve_pcg(self, self.theta(variances), tol=TOL if tol is None else tol,
                             max_iter=max_iter or MAX_ITER, progress_every=progress_every)
        obj = self.objective(method)
        return MultiTraitResult.of(from_solution(self, obj, obj.at(self.theta(variances))))

    def fit(self, method: str = "REML", algorithm: str = "ai", start: dict | None = None,
            max_iter: int | None = None, tol: float | None = None, em_start: int | None = None, callback=None,
            ddf: str = "residual", tol_change: float | None = None, **unused):
        """REML (or ML) by AI (default; step halving keeps every covariance positive definite, EM steps as
        the fallback) or EM (``algorithm="em"``, as AIREMLF90/WOMBAT's EM-REML) from ``start`` (covariances
        as for ``theta``) or ``start_values``. Fixed-effect t tests use n - p degrees of freedom."""
        if isinstance(algorithm, str) and algorithm.lower() == MC_ALGORITHM:
            raise DesignError("algorithm='mc-ai' fits single-trait models only; use 'ai' or 'em'")
        if unused:
            raise DesignError(f"unknown fit option(s) {sorted(unused)}")
        opts = Options(method=method, algorithm=algorithm, max_iter=max_iter, tol=tol, tol_change=tol_change,
                       em_start=em_start, ddf="residual", callback=callback)
        check_identifiable(self.design.n, self.design.terms, set(self.relationships))
        obj = self.objective(opts.method)
        if isinstance(start, str):
            if start != "univariate":
                raise DesignError(f"start must be covariances or 'univariate', got {start!r}")
            theta0 = self.univariate_start()
        else:
            theta0 = self._start_theta(start) if start is not None else self.start_values()
        trace = run(obj, theta0, opts)
        return MultiTraitResult.of(from_trace(self, obj, trace, opts.algorithm, ddf="residual"))


def _rescaled(S: np.ndarray, i: int, variance: float) -> np.ndarray:
    """S with its i-th variance set to ``variance`` (> 0) and row/column i scaled alike (correlations kept)."""
    d = np.ones(len(S))
    if S[i, i] > 0 and variance > 0:
        d[i] = np.sqrt(variance / S[i, i])
    return S * np.outer(d, d)
