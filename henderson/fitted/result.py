"""FitResult: what Model.fit and Model.solve return. The frozen FitRecord (henderson.results) holds
every table and number; this object adds the model, so that the inference methods (tests, intervals,
marginal means, prediction, plots) can go back to it, and caches what they compute."""
from __future__ import annotations

import numpy as np

from ..results.record import FitRecord
from .methods import InferenceMethods


class FitResult(InferenceMethods):
    """A fit's FitRecord (``record``; its fields read as attributes of this object: ``fixed_effects``,
    ``variance_components``, ``loglik``, ...) and the Model it came from (``model``)."""

    def __init__(self, record: FitRecord, model=None):
        self.record = record
        self.model = model
        self.cache = {}

    def __getattr__(self, name: str):
        record = self.__dict__.get("record")
        if record is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(record, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(dir(self.record)))

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
