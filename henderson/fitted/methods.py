"""Inference methods of FitResult: tests, intervals, marginal means, derived quantities, prediction, plots.

Each method is a thin call into henderson.inference on the fitted model at the
estimated theta; heavy intermediate results are cached on the result.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DesignError
from ..inference import anova as _anova
from ..inference import covariances as _cov
from ..inference import delta as _delta
from ..inference import emmeans as _emm
from ..inference import plots as _plots
from ..inference import predict as _pred
from ..inference import profile as _prof
from ..inference import regression as _rr
from ..inference import singular as _singular
from ..inference.satterthwaite import Context
from ..inference.vcov import theta_covariance
from ..options import DDF, choice


class InferenceMethods:
    """Mixed into FitResult (needs: model, method, theta, fixed_effects, vcov_theta, ...)."""

    # -- plumbing -----------------------------------------------------------------------------
    def _require_model(self):
        if self.model is None:
            raise DesignError("this result has no model attached (loaded from JSON?); refit to use inference")
        return self.model

    def _objective(self):
        return self._require_model().objective(self.method)

    def _data(self, data):
        data = data if data is not None else None if self.model is None else self.model.data
        if data is None:
            raise DesignError("this computation needs the data frame the model was fitted on: pass data=...")
        return data

    def inference_context(self) -> Context:
        """Objective at theta, b, Cov(theta) (inverse observed information) and sigma2."""
        if "context" not in self.cache and _singular.rank_deficient(self.variance_components):
            self.cache["context"] = _singular.cholesky_context(self._objective(), self.theta,
                                                               self.fixed_effects["estimate"].to_numpy())
        if "context" not in self.cache:
            V = self.vcov_theta_observed
            if V is None and self.ddf == "satterthwaite":
                V = self.vcov_theta  # large model: the fit's df used the inverse AI matrix
            if V is None:
                free = ~self.variance_components["boundary"].to_numpy(dtype=bool)
                V = theta_covariance(self._objective(), self.theta, free)
            self.cache["context"] = Context(self._objective(), self.theta,
                                            self.fixed_effects["estimate"].to_numpy(), V, self.sigma2)
        return self.cache["context"]

    def _structured(self) -> bool:
        return self.model is not None and self.model.vm.residual.structured

    def _den_df(self, ddf: str) -> float | None:
        """The API's ddf ("satterthwaite" or "residual") as the inference layer takes it: None
        (Satterthwaite, per contrast) or the residual df n - p (always with a structured residual, as nlme's gls)."""
        if choice("ddf", ddf or "satterthwaite", DDF) == "satterthwaite" and not self._structured():
            return None
        return float(max(self.nobs - self.n_fixed, 1))

    # -- fixed effects ------------------------------------------------------------------------
    def coef_table(self, ddf: str = "satterthwaite", level: float = 0.95) -> pd.DataFrame:
        """Fixed effects with df by Satterthwaite or residual (n - p), t, p and confidence limits."""
        L = np.eye(self.n_fixed)
        return _emm.contrast_table(self.inference_context(), L, names=self.fixed_effects.index,
                                   df=self._den_df(ddf), level=level)

    def contrast(self, L, names=None, ddf: str = "satterthwaite", level: float = 0.95) -> pd.DataFrame:
        """Linear contrasts L b: estimate, std_error, df, t, p, confidence limits (rows of L, or a dict name->row)."""
        if isinstance(L, dict):
            names, L = list(L), [self._contrast_row(v) for v in L.values()]
        return _emm.contrast_table(self.inference_context(), L, names=names, df=self._den_df(ddf), level=level)

    def _contrast_row(self, v) -> np.ndarray:
        if isinstance(v, dict):
            row = np.zeros(self.n_fixed)
            for k, w in v.items():
                row[list(self.fixed_effects.index).index(k)] = w
            return row
        return np.asarray(v, float)

    def anova(self, type: int = 3, ddf: str = "satterthwaite", data=None) -> pd.DataFrame:
        """F tests per fixed term (Type III by default, or Type I) with Satterthwaite or residual df."""
        design = self._require_model().design
        if type in (3, "III"):
            L = _anova.type3_contrasts(design, self._data(data)) if len(_anova.fixed_terms(design)) > 1 \
                else _anova.type1_contrasts(design)
        elif type in (1, "I"):
            L = _anova.type1_contrasts(design)
        else:
            raise ValueError(f"type must be 1 or 3, got {type!r}")
        return _anova.anova_table(self.inference_context(), L, den_df=self._den_df(ddf))

    def emmeans(self, factor: str, level: float = 0.95, data=None) -> pd.DataFrame:
        """Estimated marginal means of the levels of ``factor`` (emmeans' reference grid, equal weights)."""
        return _emm.emmeans(self.inference_context(), self._require_model().design, self._data(data), factor, level)

    def pairs(self, factor: str, level: float = 0.95, data=None) -> pd.DataFrame:
        """Pairwise differences of marginal means of ``factor`` (no multiplicity adjustment)."""
        return _emm.pairwise(self.inference_context(), self._require_model().design, self._data(data), factor, level)

    # -- variance components ------------------------------------------------------------------
    def confint(self, method: str = "wald", level: float = 0.95) -> pd.DataFrame:
        """Confidence intervals: 'wald' (fixed effects and variance components, normal quantiles) or
        'profile' (standard deviations, correlations and sigma by the profile ML likelihood, as lme4).

        Wald intervals of variances are formed on the log scale (never below zero; column ``scale``),
        those of fixed effects and covariances on the natural scale (inference.profile.wald_intervals)."""
        method = method.lower()
        if method == "wald":
            fe = self.fixed_effects
            vc = self.variance_components
            names = list(fe.index) + [("/".join(x for x in r if x)) for r in
                                      vc[["group", "term1", "term2"]].itertuples(index=False)]
            return _prof.wald_intervals(names, np.r_[fe["estimate"], vc["estimate"]],
                                        np.r_[fe["std_error"], vc["std_error"]], level,
                                        log_scale=np.r_[np.zeros(len(fe), bool),
                                                        (vc["term2"] == "") & (vc["term1"] != "rho")])
        if method == "profile":
            if self._structured():
                raise DesignError("profile intervals are not available with a structured residual; use method='wald'")
            key = ("profile", level)
            if key not in self.cache:
                model = self._require_model()
                ml = self if self.method == "ML" else model.fit(method="ML")
                self.cache[key] = _prof.profile_intervals(model.objective("ML"), ml.theta, level)
            return self.cache[key]
        raise ValueError(f"method must be 'wald' or 'profile', got {method!r}")

    def component_names(self) -> list[str]:
        """Names of the elements of theta usable in ``derived`` expressions."""
        return self._require_model().vm.names()

    def derived(self, expressions, level: float = 0.95) -> pd.DataFrame:
        """Functions of named variance components, e.g. "id / (id + herd + Residual)", with delta-method SEs."""
        if isinstance(expressions, str):
            expressions = [expressions]
        names = self.component_names()
        theta = self.variance_components["estimate"].to_numpy(dtype=float)
        rows = [(e, *_delta.expression(e, names, theta)) for e in expressions]
        return _delta.table(rows, self.vcov_theta, level)

    def _ratio(self, label, num, denominator, level):
        names = self.component_names()
        theta = self.variance_components["estimate"].to_numpy(dtype=float)
        vm = self._require_model().vm
        den = _delta.indices(names, denominator) if denominator is not None else _delta.scalar_variances(vm)
        if denominator is None and any(t.q > 1 for t in vm.terms):
            raise DesignError("the model has vector-valued random terms: give denominator=[...] or use derived()")
        idx = _delta.indices(names, num)
        tab = _delta.table([(label, *_delta.ratio(theta, idx, den))], self.vcov_theta, level)
        tab["definition"] = _delta.ratio_definition(names, idx, den)  # which variances make the ratio
        return tab

    def icc(self, group: str | None = None, denominator=None, level: float = 0.95) -> pd.DataFrame:
        """Intraclass correlation var(group) / (sum of variances incl. Residual); every group when None."""
        groups = [group] if group else [t.name for t in self._require_model().vm.terms if t.q == 1]
        return pd.concat([self._ratio(f"icc({g})", g, denominator, level) for g in groups])

    def heritability(self, group: str | None = None, denominator=None, level: float = 0.95) -> pd.DataFrame:
        """h2 = additive variance / phenotypic variance (all variances incl. Residual unless denominator given);
        the column ``definition`` states the ratio, e.g. "id / (id + herd + Residual)"."""
        if group is None:
            rel = [k for k, r in self._require_model().relationships.items() if r.pedigree is not None]
            if len(rel) != 1:
                raise DesignError("name the additive-genetic group: heritability(group=...)")
            group = rel[0]
        joint = dict(getattr(self._require_model(), "joint", []))
        if group in joint or any(group in parts for parts in joint.values()):
            return self._joint_heritability(group, joint, level)
        return self._ratio(f"h2({group})", group, denominator, level)

    def _joint_heritability(self, group, joint, level):
        """Direct-maternal model (a joined term of intercepts, e.g. id+dam): each part's variance over
        the phenotypic variance, the sum of all variances plus the parts' covariances (Willham: Var(y)
        = s2_a + s2_m + s_am + ... for a record whose dam is its parent)."""
        name = group if group in joint else next(j for j, parts in joint.items() if group in parts)
        vm = self._require_model().vm
        term = next(t for t in vm.terms if t.name == name)
        if any(t.q > 1 and t.name != name for t in vm.terms) or term.q != len(joint[name]):
            raise DesignError("the model has other vector-valued terms: use derived() for its heritabilities")
        names = vm.names()
        pheno = " + ".join(names)   # every variance, the parts' covariance once, and Residual
        rows = [f"{name}[{p}] / ({pheno})" for p in joint[name]]
        tab = self.derived(rows, level)
        tab.index = pd.Index([f"h2({p})" for p in joint[name]], name="quantity")
        tab["definition"] = rows
        return tab

    def repeatability(self, groups, denominator=None, level: float = 0.95) -> pd.DataFrame:
        """(sum of the variances of ``groups``, e.g. animal + permanent environment) / phenotypic variance."""
        groups = [groups] if isinstance(groups, str) else list(groups)
        return self._ratio(f"repeatability({'+'.join(groups)})", groups, denominator, level)

    def covariance(self, *groups) -> pd.DataFrame:
        """A term's covariance Sigma (effects x effects): ``covariance("Subject")``; the joint covariance of
        correlated terms ``covariance("id", "dam")`` (Model(correlated=...)); ``covariance("Residual")``."""
        theta = self.variance_components["estimate"].to_numpy(dtype=float)
        return _cov.covariance_frame(self._require_model().vm, theta, *groups)

    def daily_heritability(self, at: dict, genetic: str | None = None) -> pd.DataFrame:
        """Random regression: per covariate value in ``at`` (e.g. {"dim": range(5, 306, 10)}) the
        variance of each term (phi(t)' K phi(t)), the residual and phenotypic variances and
        h2(t) = var(genetic) / var(phenotype) with its delta-method SE (genetic: the pedigree term)."""
        model = self._require_model()
        if genetic is None:
            rel = [k for k, r in model.relationships.items() if r.pedigree is not None]
            if len(rel) != 1:
                raise DesignError("name the additive-genetic term: daily_heritability(at, genetic=...)")
            genetic = rel[0]
        theta = self.variance_components["estimate"].to_numpy(dtype=float)
        return _rr.daily_variances(model, theta, self.vcov_theta, at, genetic)

    def eigen(self, group: str) -> pd.DataFrame:
        """Eigen-decomposition of a term's covariance (random regression: of its covariance function):
        eigenvalues, their share of the trace and the eigenvectors on the term's effects."""
        theta = self.variance_components["estimate"].to_numpy(dtype=float)
        return _rr.eigen_table(self._require_model(), theta, group)

    def correlations(self, level: float = 0.95) -> pd.DataFrame:
        """Correlations between the effects of vector-valued random terms, with delta-method SEs."""
        theta = self.variance_components["estimate"].to_numpy(dtype=float)
        return _delta.table(_delta.correlations(self._require_model().vm, theta), self.vcov_theta, level)

    # -- prediction ---------------------------------------------------------------------------
    def predict(self, newdata: pd.DataFrame | None = None, random=True) -> np.ndarray:
        """X b + Z u on new data: BLUPs of known levels, 0 for new levels; random=False or a list of groups."""
        if newdata is None:
            return self.fitted() if random is True else self.y - self.residuals("marginal") \
                if random is False else _pred.predict(self, self._data(None).loc[self.rows], random)
        return _pred.predict(self, newdata, random)

    def marginal_covariance(self, group: str, level) -> pd.DataFrame:
        """Marginal covariance V of the observations of one level of ``group`` (nlme's getVarCov)."""
        return _pred.marginal_covariance(self, group, level)

    # -- plots --------------------------------------------------------------------------------
    def plot_residuals(self, path=None, **kw):
        """Standardized residuals against fitted values (matplotlib Figure; PNG at ``path``)."""
        return _plots.residuals_vs_fitted(self, path, **kw)

    def plot_qq(self, path=None, **kw):
        """Normal QQ plots of the residuals and of every random effect."""
        return _plots.qq_plots(self, path, **kw)

    def plot_caterpillar(self, group: str, effect=None, path=None, **kw):
        """Caterpillar plot of the BLUPs of ``group`` with prediction intervals (the lowest and highest 30
        when there are more than ``max_levels=60`` levels)."""
        return _plots.caterpillar(self, group, effect, path, **kw)
