"""Fast treatment coding of large categorical main effects (herd-year-season with 10^4-10^5 levels).

formulaic builds a sparse factor one column at a time, which takes seconds for a
factor with tens of thousands of levels; here such a factor is coded directly
from pandas.factorize codes into one sparse block.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import DesignError
from .parse import split_top_level

BIG = 50  # a categorical main effect with more levels than this is coded here


def is_categorical(col: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(col) or isinstance(col.dtype, pd.CategoricalDtype)


def big_factors(rhs: str, data: pd.DataFrame) -> list[str]:
    """Columns written as bare main-effect terms in ``rhs``, categorical, with more than BIG levels,
    and used in no other term (interactions stay with formulaic)."""
    terms = [t.strip() for t in split_top_level(rhs.replace("-", "+-"), "+") if t.strip()]
    bare = [t for t in terms if t in data.columns]
    others = " ".join(t for t in terms if t not in data.columns)
    out = []
    for c in bare:
        if c in others or terms.count(c) > 1:
            continue
        col = data[c]
        if is_categorical(col) and col.nunique(dropna=True) > BIG:
            out.append(c)
    return out


def sorted_levels(col: pd.Series) -> pd.Index:
    """Levels as R orders them: a categorical's own categories, else sorted distinct values."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return pd.Index(col.cat.categories)
    return pd.Index(pd.unique(col.dropna())).sort_values()


def treatment_block(col: pd.Series, levels: pd.Index, drop_first: bool, name: str) -> tuple[sp.csc_matrix, list[str]]:
    """Indicator columns of ``levels`` (without the first when ``drop_first``), R-style names ``name`` + level."""
    codes = levels.get_indexer(col.to_numpy())
    if (codes < 0).any():
        bad = pd.unique(col.to_numpy()[codes < 0])[:5]
        raise DesignError(f"column {name!r} has level(s) not seen when the model was built: {list(bad)}")
    start = 1 if drop_first else 0
    n, m = len(col), len(levels) - start
    keep = codes >= start
    rows = np.flatnonzero(keep)
    M = sp.csc_matrix((np.ones(len(rows)), (rows, codes[keep] - start)), shape=(n, m))
    names = [f"{name}{lev}" for lev in levels[start:]]
    return M, names
