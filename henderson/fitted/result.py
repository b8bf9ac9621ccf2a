"""FitResult: what Model.fit and Model.solve return. The frozen FitRecord (henderson.results) holds
every table and number; this object adds the model, so that the inference methods (tests, intervals,
marginal means, prediction, plots) can go back to it, and caches what they compute."""
from __future__ import annotations

import numpy as np

from ..results.record import FitRecord
from .methods import InferenceMethods


class FitResult(InferenceMethods):
    """A fit's FitRecord (``record``; its fields read as attributes of this object: ``fixed_effects``,
    ``variance_components``, ``loglik``, ...) and the Model it came from (``model``).

    ``pending``: a function record -> record that completes the fixed-effects table with Satterthwaite
    df by the observed information (2 r score evaluations, fitted.build); it runs once, when the df, or
    what shows them (``fixed_effects``, ``summary``, ``to_dict``, ``record``), are first asked for.
    """

    LAZY = frozenset({"fixed_effects", "vcov_theta_observed", "to_dict", "to_json"})

    def __init__(self, record: FitRecord, model=None, pending=None):
        self._record = record
        self._pending = pending
        self.model = model
        self.cache = {}

    @property
    def record(self) -> FitRecord:
        """The complete FitRecord (Satterthwaite df computed if they were pending)."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self._record = pending(self._record)
        return self._record

    def __getattr__(self, name: str):
        record = self.__dict__.get("_record")
        if record is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.record if name in self.LAZY else record, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(dir(self._record)))

    def __repr__(self) -> str:
        return f"FitResult({self.record!r})"

    def residuals(self, kind: str = "conditional") -> np.ndarray:
        """Conditional y - Xb - Zu, marginal y - Xb, or standardized (Pearson) (y - Xb - Zu) / sigma."""
        if kind == "marginal":
            X = self._require_model().design.X
            return self.y - X @ self.fixed_effects["estimate"].to_numpy()
        return self.record.residuals(kind)

    def summary(self) -> str:
        """lme4-like text summary."""
        from ..results.summary import summary_text
        return summary_text(self)

    def __str__(self) -> str:
        return self.summary()
