"""MultiTraitResult: a FitResult of a multi-trait model (henderson.multitrait), with per-trait views:
covariance("Residual") traits x traits, heritability() and correlations() with delta-method SEs,
fitted() and residuals() as data rows x traits. predict(newdata) is not available (DesignError)."""
from __future__ import annotations

import json

import pandas as pd

from ..errors import DesignError
from ..inference import traits as _traits
from ..results.record import json_text
from .result import FitResult


class MultiTraitResult(FitResult):
    """FitResult of a multi-trait model (see module docstring)."""

    @classmethod
    def of(cls, result: FitResult) -> MultiTraitResult:
        """The same record and model as ``result``, as a MultiTraitResult."""
        return cls(result._record, result.model, pending=result._pending)

    @property
    def traits(self) -> tuple[str, ...]:
        return self._require_model().traits

    def _theta(self):
        return self.variance_components["estimate"].to_numpy(dtype=float)

    def covariance(self, *groups) -> pd.DataFrame:
        """A term's traits x traits covariance, ``covariance("id")``; ``covariance("Residual")``: R0."""
        if groups == ("Residual",):
            return _traits.residual_frame(self._require_model().vm, self._theta())
        return super().covariance(*groups)

    def _genetic(self, group):
        if group is not None:
            return group
        model = self._require_model()
        rel = [k for k, r in model.relationships.items() if r.pedigree is not None]
        names = [t.name for t in model.vm.terms]
        if len(rel) == 1:
            return rel[0]
        if not rel and len(names) == 1:
            return names[0]
        raise DesignError(f"name the additive-genetic group: heritability(group=...) (terms: {names})")

    def heritability(self, group: str | None = None, denominator=None, level: float = 0.95) -> pd.DataFrame:
        """h2 per trait (index: trait): the group's variance of the trait over the sum of the trait's
        variances (every term with the trait's intercept, and R0's); delta-method SEs from the inverse AI."""
        if denominator is not None:
            raise DesignError("multi-trait heritabilities take no denominator; use derived() for other ratios")
        model = self._require_model()
        return _traits.heritabilities(model.vm, self._theta(), self.vcov_theta, self._genetic(group), level)

    def correlations(self, level: float = 0.95) -> pd.DataFrame:
        """Genetic (every vector term) and residual correlations: group, trait1, trait2, estimate, std_error."""
        return _traits.correlations(self._require_model().vm, self._theta(), self.vcov_theta, level)

    def _per_trait(self, values) -> pd.DataFrame:
        td = self._require_model().trait_design
        return _traits.per_trait(values, td.row_code, td.trait_code, td.rows, td.traits)

    def fitted(self) -> pd.DataFrame:
        """X b + Z u per trait: data rows x traits (NaN where the trait is missing)."""
        return self._per_trait(self.record.fitted_values)

    def residuals(self, kind: str = "conditional") -> pd.DataFrame:
        """Conditional residuals y - X b - Z u, or marginal y - X b, per trait (data rows x traits)."""
        if kind not in ("conditional", "marginal"):
            raise DesignError(f"multi-trait residuals are 'conditional' or 'marginal', got {kind!r}")
        return self._per_trait(super().residuals(kind))

    def summary(self) -> str:
        """Text summary: the fit, the covariance matrices (variance_components grouped by term, traits as
        names), heritabilities and correlations, and the fixed effects grouped by trait."""
        from ..results.traits_summary import summary_text
        return summary_text(self)

    def trait_tables(self) -> dict[str, pd.DataFrame]:
        """Tables by file name: covariance_<group> (traits x traits, Residual's too), heritability (when a
        genetic group is known) and correlations."""
        model = self._require_model()
        out = {f"covariance_{t.name}": self.covariance(t.name) for t in model.vm.terms}
        out["covariance_Residual"] = self.covariance("Residual")
        try:
            out["heritability"] = self.heritability()
        except DesignError:   # several relationship terms: no default genetic group
            pass
        out["correlations"] = self.correlations().set_index(["group", "trait1", "trait2"])
        return out

    def to_dict(self) -> dict:
        """The record's to_dict() with the traits and the trait_tables."""
        d = self.record.to_dict()
        d["traits"] = list(self.traits)
        d["trait_tables"] = {k: json.loads(v.reset_index().to_json(orient="records", double_precision=15))
                             for k, v in self.trait_tables().items()}
        return d

    def to_json(self, path=None, indent: int = 1) -> str:
        """to_dict() as JSON text, also written to ``path`` when given."""
        return json_text(self.to_dict(), path, indent)

    def predict(self, newdata=None, random=True):
        """Not available for multi-trait models: use fitted() (per trait) and random_effects."""
        raise DesignError("predict() is not available for multi-trait models; fitted() gives X b + Z u per trait "
                          "and random_effects the BLUPs of each trait")
