"""Read a data table (CSV or Parquet) and apply a job's transforms: subset, factors, scaling.

Every error is a DesignError whose message starts with the file it concerns, so the command line
can print it as one line.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import DesignError

PARQUET = (".parquet", ".pq")


def read_table(path, columns_as_text=()) -> pd.DataFrame:
    """The table at ``path``: CSV (optionally compressed) or Parquet, chosen by the file name.

    Columns listed in ``columns_as_text`` are read as text, so ids such as "007" keep their form.
    """
    path = Path(path)
    if not path.exists():
        raise DesignError(f"{path}: file not found")
    try:
        if path.name.lower().endswith(PARQUET):
            df = pd.read_parquet(path)
            for c in columns_as_text:
                if c in df.columns:
                    df[c] = df[c].astype("string").astype(object)
            return df
        dtype = {c: str for c in columns_as_text}
        head = pd.read_csv(path, nrows=0)
        dtype = {c: t for c, t in dtype.items() if c in head.columns}
        return pd.read_csv(path, dtype=dtype or None)
    except ImportError as exc:  # pyarrow missing
        raise DesignError(f"{path}: reading Parquet needs pyarrow (pip install 'henderson[parquet]')") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise DesignError(f"{path}: cannot read table: {exc}") from exc


def _need(df: pd.DataFrame, cols, what: str, label) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DesignError(f"{label}: column(s) {missing} named in '{what}' are not in the data "
                          f"(columns: {list(df.columns)})")


def prepare_data(df: pd.DataFrame, subset: str | None = None, factors=(), scale=(), label="data") -> pd.DataFrame:
    """Rows where ``subset`` (a pandas query) holds; ``factors`` made categorical; ``scale`` columns
    divided by their standard deviation (ddof=1, as R's sd) after subsetting."""
    df = df.copy()
    if subset:
        try:
            df = df.query(subset, engine="python")
        except Exception as exc:
            raise DesignError(f"{label}: subset {subset!r} failed: {exc}") from exc
        if len(df) == 0:
            raise DesignError(f"{label}: subset {subset!r} leaves no rows")
    _need(df, factors, "factors", label)
    _need(df, scale, "scale", label)
    for c in factors:
        col = df[c]
        df[c] = pd.Categorical(col.astype(str).where(col.notna()))
    for c in scale:
        if not pd.api.types.is_numeric_dtype(df[c]):
            raise DesignError(f"{label}: column {c!r} listed in 'scale' is not numeric")
        sd = df[c].std()
        if not sd > 0:
            raise DesignError(f"{label}: column {c!r} listed in 'scale' has no variation")
        df[c] = df[c] / sd
    return df
