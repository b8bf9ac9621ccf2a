"""Read a data table (CSV or Parquet) and apply a job's transforms: subset, factors, scaling.

Every error is a DesignError whose message starts with the file it concerns, so the command line
can print it as one line.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import DesignError
from ..ids import show_ids
from ..pedigree.pedigree import csv_separator

PARQUET = (".parquet", ".pq")
HEADER = ("yes", "none")


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


def pedigree_positions(text) -> tuple[int, int, int] | None:
    """1-based positions of the id, sire and dam columns from "1,2,3" (None for None or "")."""
    if not text:
        return None
    try:
        pos = tuple(int(x) for x in str(text).split(","))
    except ValueError:
        pos = ()
    if len(pos) != 3 or min(pos) < 1 or len(set(pos)) != 3:
        raise DesignError(f"pedigree columns {text!r} must be three distinct positions from 1, id,sire,dam: '1,2,3'")
    return pos


def read_pedigree_table(path, sep: str = ",", header: str = "yes", columns=None, names=("id", "sire", "dam")):
    """The id, sire and dam columns (in that order) of the pedigree at ``path``, as text.

    CSV-like files are split at ``sep`` ("whitespace" for blank-separated files as renumf90 reads
    them, "tab", or a character); ``header="none"`` for files without a header line. ``columns``
    ("1,2,3") picks the columns by 1-based position (the default without a header); otherwise
    ``names`` picks them by name. Parquet files are read whole (``sep`` and ``header`` do not apply).
    """
    path = Path(path)
    if header not in HEADER:
        raise DesignError(f"{path}: pedigree header must be 'yes' or 'none', got {header!r}")
    pos = pedigree_positions(columns) or ((1, 2, 3) if header == "none" else None)
    if not path.exists():
        raise DesignError(f"{path}: file not found")
    try:
        if path.name.lower().endswith(PARQUET):
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, sep=csv_separator(sep), header=0 if header == "yes" else None, dtype=str,
                             keep_default_na=False)
    except ImportError as exc:
        raise DesignError(f"{path}: reading Parquet needs pyarrow (pip install 'henderson[parquet]')") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise DesignError(f"{path}: cannot read pedigree: {exc} (separator {sep!r})") from exc
    if pos is not None:
        if max(pos) > df.shape[1]:
            raise DesignError(f"{path}: pedigree columns {','.join(map(str, pos))} asked, but the file has "
                              f"{df.shape[1]} column(s) with separator {sep!r}{_separator_hint(df)}")
        df = df.iloc[:, [p - 1 for p in pos]]
        if header == "none":
            df.columns = list(names)
    else:
        absent = [c for c in names if c not in df.columns]
        if absent:
            raise DesignError(f"{path}: pedigree needs columns {show_ids(names)}; it has {show_ids(df.columns)}"
                              f"{_separator_hint(df) or _header_hint()}")
        df = df[list(names)]
    return df


def _separator_hint(df: pd.DataFrame) -> str:
    """A hint when a single column suggests the file is split by another separator."""
    if df.shape[1] != 1:
        return ""
    first = str(df.columns[0]) + " " + (str(df.iloc[0, 0]) if len(df) else "")
    for char, name in (("\t", "tab"), (";", ";"), (" ", "whitespace")):
        if char in first.strip():
            return f". Is it separated by {name}? Use --pedigree-sep {name} (job file: pedigree_sep = \"{name}\")"
    return ""


def _header_hint() -> str:
    return (". A file without a header line: --pedigree-header none and columns by position, "
            "--pedigree-columns 1,2,3 (job file: pedigree_header = \"none\", pedigree_columns = \"1,2,3\")")


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
