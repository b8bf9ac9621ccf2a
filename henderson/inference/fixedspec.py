"""The fixed part's model specification: formulaic's ModelSpec (terms, encoder state) and the
fitted columns of X rebuilt on new rows (factor levels and transforms as when fitted)."""
from __future__ import annotations

import pandas as pd
import scipy.sparse as sp

from ..errors import DesignError
from ..formula.fixed import r_column_name


def model_spec(design):
    """formulaic's ModelSpec of X (inside henderson's FixedSpec)."""
    return design.fixed_spec.spec


def new_matrix(design, frame: pd.DataFrame) -> sp.csc_matrix:
    """X on ``frame`` with the fitted model's columns (aliased columns dropped)."""
    try:
        M, names = design.fixed_spec.matrix(frame)
    except DesignError:
        raise
    except Exception as exc:
        raise DesignError(f"cannot evaluate the fixed part {design.parsed.fixed!r} on the new data: {exc}") from exc
    M = sp.csc_matrix(M, dtype=float)
    if M.shape[0] != len(frame):
        raise DesignError("new data have missing values in fixed-effect columns")
    missing = [n for n in design.fixed_names if n not in names]
    if missing:
        raise DesignError(f"columns {missing} of the fitted X cannot be built from the new data")
    return M[:, [names.index(n) for n in design.fixed_names]]


def term_columns(design) -> list[tuple[object, list[int]]]:
    """(formulaic term, indices into the fitted X's columns) for every term of the fixed part."""
    spec = model_spec(design)
    raw = [r_column_name(c) for c in spec.column_names]
    names = list(design.fixed_names)
    out = []
    for term, idx in spec.term_indices.items():
        out.append((term, [names.index(raw[i]) for i in idx if raw[i] in names]))
    return out


def is_categorical(design, var: str) -> bool:
    state = model_spec(design).encoder_state.get(var)
    return state is not None and state[0].value == "categorical"


def required_variables(design) -> list[str]:
    return sorted(model_spec(design).required_variables)
