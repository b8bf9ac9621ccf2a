"""Identifiers (animals, levels matched to a relationship matrix) as normalized strings.

Pedigree files, data files and user (K^-1, ids) pairs often disagree on the type of an id (6489,
"6489", 6489.0, " 6489"), so every id is compared through :func:`normalize_ids`, the one place that
says when two ids are the same. Its rules:

- integers -> their decimal digits: 6489 -> "6489" (any size, np.uint64 included);
- integral floats -> the integer they hold, without overflow: 6489.0 -> "6489", 1e19 ->
  "10000000000000000000"; other finite floats by their shortest repr: 1.5 -> "1.5";
- text is stripped; text that is an integral float written out ("6489.0", as pandas writes a float
  column that has NaN) -> "6489"; any other text keeps its form: "007" stays "007";
- missing values (None, NaN, pd.NA, NaT) -> None.

Formula (relationship levels), pedigree and the command line all use it; it imports nothing of henderson.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

SHOW = 10  # how many ids a message lists before "... (N in all)"
WIDTH = 40  # longest id a message shows in full
_FLOAT_TEXT = re.compile(r"[+-]?[0-9]+\.0+")


def normalize_ids(values) -> np.ndarray:
    """Map ids to strings by the rules of this module: 6489, 6489.0, "6489", " 6489", "6489.0" -> "6489".

    Returns an object ndarray of str/None (None for a missing id), one entry per input value.
    """
    s = values if isinstance(values, pd.Series) else pd.Series(_as_1d(values))
    s = s.reset_index(drop=True)
    if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
        return _normalize_objects(s)
    if pd.api.types.is_bool_dtype(s.dtype):
        return _with_missing(s.astype(object).map(str), s.isna())
    if pd.api.types.is_integer_dtype(s.dtype):
        missing = s.isna()
        out = s.astype(object).map(str) if missing.any() else pd.Series(s.to_numpy().astype(str), dtype=object)
        return _with_missing(out, missing)
    if pd.api.types.is_float_dtype(s.dtype):
        return _normalize_floats(s.to_numpy(dtype=float, na_value=np.nan))
    return _normalize_objects(s.astype(object))


def _as_1d(values):
    if isinstance(values, (pd.Index, pd.api.extensions.ExtensionArray)):
        return values
    arr = np.asarray(values, dtype=None if not isinstance(values, (list, tuple)) else object)
    return arr.ravel()


def _with_missing(out: pd.Series, missing) -> np.ndarray:
    arr = out.to_numpy(dtype=object, copy=True)
    arr[np.asarray(missing, dtype=bool)] = None
    return arr


def _normalize_floats(x: np.ndarray) -> np.ndarray:
    """Integral floats as the integers they hold (beyond int64 too), others by repr, NaN as None."""
    out = np.empty(x.shape[0], dtype=object)
    finite = np.isfinite(x)
    integral = finite & (np.floor(x) == x)
    small = integral & (np.abs(x) < 2.0**63)
    out[small] = x[small].astype(np.int64).astype(str)
    big = integral & ~small
    out[big] = [str(int(v)) for v in x[big]]
    other = ~integral & ~np.isnan(x)
    out[other] = [repr(float(v)) for v in x[other]]
    out[np.isnan(x)] = None
    return out


def _normalize_scalar(v):
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, str):
        return _drop_float_suffix(v.strip())
    if isinstance(v, (bool, np.bool_)):
        return str(v)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        if v != v:
            return None
        return _normalize_floats(np.array([float(v)]))[0]
    if isinstance(v, bytes):
        return _drop_float_suffix(v.decode().strip())
    return str(v).strip()


def _normalize_objects(s: pd.Series) -> np.ndarray:
    """Strings stripped (one pass over the values), anything else element by element."""
    kind = pd.api.types.infer_dtype(s, skipna=True)
    values = s.to_numpy(dtype=object)
    if kind in ("string", "empty"):
        out = np.array([x.strip() if isinstance(x, str) else None for x in values], dtype=object)
        dotted = [k for k, x in enumerate(out) if x is not None and "." in x]
        out[dotted] = [_drop_float_suffix(x) for x in out[dotted]]
        return out
    return np.array([_normalize_scalar(v) for v in values], dtype=object)


def _drop_float_suffix(text: str) -> str:
    """ "6489.0" -> "6489" (an integral float written as text); any other text unchanged."""
    return text[: text.index(".")] if _FLOAT_TEXT.fullmatch(text) else text


def show_ids(names, notes=None, limit: int = SHOW) -> str:
    """The first ``limit`` ids quoted (each cut to WIDTH characters), then "... (N in all)" if there are more.

    ``notes``, parallel to ``names``, adds a parenthesized note to each shown id: "'-' (4812 animals)".
    """
    names = list(names)
    shown = []
    for k, x in enumerate(names[:limit]):
        text = str(x)
        text = repr(text if len(text) <= WIDTH else text[: WIDTH - 3] + "...")
        shown.append(text if notes is None else f"{text} ({notes[k]})")
    more = f", ... ({len(names)} in all)" if len(names) > limit else ""
    return ", ".join(shown) + more
