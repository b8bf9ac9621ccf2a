"""Typed errors and warnings of henderson.

Every error names what is at fault (column, level, animal, row) in its message.
"""


class HendersonError(Exception):
    """Base class of all henderson errors."""


class DesignError(HendersonError, ValueError):
    """The formula or the data cannot make a model (unknown column, one level, constant response...)."""


class PedigreeError(HendersonError, ValueError):
    """A pedigree is inconsistent: duplicated ids, loops, self-parenthood, sex conflicts."""


class NotPositiveDefiniteError(HendersonError, ValueError):
    """A matrix that must be positive definite (C, a covariance, K^-1) is not."""


class ConvergenceError(HendersonError, RuntimeError):
    """An iteration failed in a way that cannot be reported as a warning."""


class HendersonWarning(UserWarning):
    """Base class of henderson warnings."""


class ConvergenceWarning(HendersonWarning):
    """REML/ML iterations stopped at max_iter before the convergence criteria were met."""


class AliasedColumnsWarning(HendersonWarning):
    """Fixed-effect columns were linearly dependent on earlier ones and were dropped."""


class MissingDataWarning(HendersonWarning):
    """Rows with missing values in model columns were left out."""


class PedigreeWarning(HendersonWarning):
    """Something in a pedigree was repaired or is suspicious (added founders, sire used as dam...)."""


class OutputFolderError(HendersonError, ValueError):
    """An output folder cannot take a result: it is a file, holds a user's files or the job's inputs, or is
    not writable. ``file`` names the folder."""

    def __init__(self, folder, message):
        super().__init__(message)
        self.file = str(folder)


class InferenceWarning(HendersonWarning):
    """A standard error, Satterthwaite df or other inference quantity could not be computed at the
    optimum; the fit is returned with that quantity NaN."""
