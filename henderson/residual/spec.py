"""The user's residual structures, nlme's names and meaning: what is asked for, not yet bound to data.

    hd.corSymm("~ 1 | id")        general correlation by position within the group (or of a time covariate)
    hd.corAR1("~ 1 | id")         rho^|i - j| by order within the group (or of an integer time covariate)
    hd.corCAR1("~ time | id")     phi^|t_i - t_j| of a continuous time covariate
    hd.corCompSymm("~ 1 | id")    one correlation between any two records of a group
    hd.varIdent("~ 1 | stratum")  a residual standard deviation per stratum (the first fixed at 1)
    hd.varPower("~ v")            standard deviation |v|^delta of a numeric covariate v
    hd.varExp("~ v")              standard deviation exp(delta v) of a numeric covariate v

A form is ``[~] covariate | group`` with covariate ``1`` for none; the group may be nested (``a/b``: the
records of one level of b within one level of a) or left out (one group: all records, as nlme::gls; in a
model with random terms, the innermost random grouping, as nlme::lme). The strings parse as in nlme:
``corAR1(~ 1 | id)`` (CLI, TOML) gives the same object as ``hd.corAR1("~ 1 | id")``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import DesignError


@dataclass(frozen=True)
class Form:
    """``covariate | group``: covariate None for ``1``; groups the nesting from outer to inner (empty: none)."""

    covariate: str | None
    groups: tuple[str, ...]

    def __str__(self) -> str:
        cov = self.covariate or "1"
        return f"~ {cov}" + (f" | {'/'.join(self.groups)}" if self.groups else "")


def parse_form(text: str | None) -> Form:
    """'~ time | a/b' -> Form('time', ('a', 'b')); DesignError for anything else."""
    s = (text or "~ 1").strip()
    s = s[1:].strip() if s.startswith("~") else s
    left, bar, right = s.partition("|")
    left, right = left.strip() or "1", right.strip()
    name = r"[A-Za-z_.][A-Za-z0-9_.]*"
    if re.fullmatch(r"fitted\s*\(.*\)", left):
        raise DesignError(f"form {text!r}: a variance of the fitted values is not supported; give a column name")
    if not re.fullmatch(name, left) and left != "1":
        raise DesignError(f"form {text!r}: the covariate must be 1 or a column name, got {left!r}")
    groups = tuple(g.strip() for g in right.split("/")) if bar else ()
    if bar and not all(re.fullmatch(name, g) for g in groups):
        raise DesignError(f"form {text!r}: the grouping must be column names separated by '/', got {right!r}")
    return Form(None if left == "1" else left, groups)


@dataclass(frozen=True, init=False)
class _Spec:
    form: Form
    kind = ""

    def __init__(self, form: str | None = None):
        object.__setattr__(self, "form", parse_form(form))

    def __str__(self) -> str:
        return f"{self.kind}({self.form})"


class corSymm(_Spec):  # noqa: N801 (nlme's names)
    """General correlation by position within the group: ~ 1 | g by order, ~ time | g by the rank of time."""

    kind = "corSymm"


class corAR1(_Spec):  # noqa: N801
    """AR(1): rho^|i - j| by order within the group (~ 1 | g) or of an integer time covariate (~ time | g)."""

    kind = "corAR1"


class corCAR1(_Spec):  # noqa: N801
    """Continuous AR(1): phi^|t_i - t_j| of a time covariate (~ time | g)."""

    kind = "corCAR1"


class corCompSymm(_Spec):  # noqa: N801
    """Compound symmetry: one correlation rho between any two records of a group."""

    kind = "corCompSymm"


class varIdent(_Spec):  # noqa: N801
    """A residual standard deviation per stratum (~ 1 | stratum), the first stratum's fixed at 1."""

    kind = "varIdent"


class varPower(_Spec):  # noqa: N801
    """Standard deviation |v|^delta of a numeric covariate (~ v), delta estimated from 0 (nlme's varPower)."""

    kind = "varPower"


class varExp(_Spec):  # noqa: N801
    """Standard deviation exp(delta v) of a numeric covariate (~ v), delta estimated from 0 (nlme's varExp)."""

    kind = "varExp"


CORRELATIONS = {c.kind: c for c in (corSymm, corAR1, corCAR1, corCompSymm)}
VARIANCES = {c.kind: c for c in (varIdent, varPower, varExp)}


def parse_structure(text, allowed: dict, what: str):
    """A spec from an object or a string 'corAR1(~ 1 | id)' / 'corAR1(form = ~ 1 | id)'; None stays None."""
    if text is None or isinstance(text, _Spec):
        if text is not None and text.kind not in allowed:
            raise DesignError(f"{what} must be one of {sorted(allowed)}, got {text.kind}")
        return text
    m = re.fullmatch(r"\s*(\w+)\s*\((.*)\)\s*", str(text))
    if m is None or m.group(1) not in allowed:
        raise DesignError(f"{what} {text!r}: expected one of {sorted(allowed)} as 'name(~ covariate | group)'")
    inner = re.sub(r"^\s*form\s*=\s*", "", m.group(2))
    return allowed[m.group(1)](inner or None)
