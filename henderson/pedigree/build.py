"""From a table of (id, sire, dam) rows to a checked, parents-first numbering of the animals.

Ids are normalized strings; unknown-parent codes become -1; parents that are never listed as
animals are added as founders unless they look like undeclared codes (see
:mod:`henderson.pedigree.codes`). Checks: conflicting duplicate rows, self-parenthood, an id used
both as sire and dam (``sire_as_dam``: "error"; "warn"; "allow" for plants and fish, where selfing
and hermaphrodite parents are legitimate), and loops (an animal that is its own ancestor).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from henderson.errors import PedigreeError, PedigreeWarning
from henderson.ids import normalize_ids, show_ids
from henderson.pedigree.codes import DEFAULT_UNKNOWN, PARENTS_NOT_LISTED, check_unlisted, unknown_mask
from henderson.pedigree.order import generations, parents_first

SIRE_AS_DAM = ("error", "warn", "allow")


@dataclass(frozen=True)
class Numbered:
    """Animals renumbered 0..n-1 with parents first; sire/dam are positions, -1 when unknown."""

    ids: np.ndarray
    sire: np.ndarray
    dam: np.ndarray
    generation: np.ndarray
    added_founders: np.ndarray


def _column(df: pd.DataFrame, name: str, role: str) -> pd.Series:
    if name not in df.columns:
        raise PedigreeError(f"{role} column {name!r} is not in the pedigree table; columns are "
                            f"{show_ids(df.columns)}")
    return df[name]


def normalized_columns(df, id, sire, dam, unknown):
    """Normalized id/sire/dam arrays; unknown parents as None; PedigreeError for rows without an id."""
    ids = normalize_ids(_column(df, id, "id"))
    sires = normalize_ids(_column(df, sire, "sire"))
    dams = normalize_ids(_column(df, dam, "dam"))
    bad = unknown_mask(ids, unknown)
    if bad.any():
        rows = df.index[bad]
        raise PedigreeError(f"pedigree rows {show_ids(rows)} have a missing id (column {id!r})")
    sires[unknown_mask(sires, unknown)] = None
    dams[unknown_mask(dams, unknown)] = None
    return ids, sires, dams


def drop_duplicates(ids, sires, dams):
    """Drop identical repeated rows (PedigreeWarning); PedigreeError if an id has different parents."""
    frame = pd.DataFrame({"id": ids, "sire": sires, "dam": dams})
    dup = frame.duplicated(subset="id", keep=False).to_numpy()
    rows = frame[dup].fillna({"sire": "\x00", "dam": "\x00"})
    variants = rows.groupby("id", sort=False)[["sire", "dam"]].nunique()
    conflict = variants.index[(variants > 1).any(axis=1)]
    if len(conflict):
        raise PedigreeError(f"animals listed twice with different parents: {show_ids(conflict)}")
    names = pd.unique(rows["id"])
    warnings.warn(
        f"dropped repeated identical pedigree rows of {len(names)} animals: {show_ids(names)}",
        PedigreeWarning,
        stacklevel=4,
    )
    keep = ~frame.duplicated(subset="id", keep="first").to_numpy()
    return ids[keep], sires[keep], dams[keep]


def check_parents(names, sire, dam, sire_as_dam):
    """PedigreeError for self-parents; for ids used as both sire and dam (selfing included) a
    PedigreeError (sire_as_dam="error"), a PedigreeWarning ("warn") or nothing ("allow")."""
    m = len(sire)
    own = np.arange(m)
    selfish = (sire == own) | (dam == own)
    if selfish.any():
        raise PedigreeError(f"animals that are their own parent: {show_ids(names[:m][selfish])}")
    n = len(names)
    as_sire = np.zeros(n, bool)
    as_dam = np.zeros(n, bool)
    as_sire[sire[sire >= 0]] = True
    as_dam[dam[dam >= 0]] = True
    both = np.flatnonzero(as_sire & as_dam)
    if not both.size or sire_as_dam == "allow":
        return
    selfed = names[:m][(sire == dam) & (sire >= 0)]
    msg = f"ids used both as sire and as dam: {show_ids(names[both])}"
    msg += f"; animals with sire == dam (selfing): {show_ids(selfed)}" if selfed.size else ""
    if sire_as_dam == "warn":
        warnings.warn(msg, PedigreeWarning, stacklevel=4)
        return
    raise PedigreeError(msg + ". Where selfing and hermaphrodite parents are legitimate (plants, fish), pass "
                        "sire_as_dam='allow' (command line: --sire-as-dam allow; job file: pedigree_sire_as_dam)")


def check_options(sire_as_dam, parents_not_listed) -> None:
    """ValueError for an option value outside its choices."""
    if sire_as_dam not in SIRE_AS_DAM:
        raise ValueError(f"sire_as_dam must be one of {SIRE_AS_DAM}, not {sire_as_dam!r}")
    if parents_not_listed not in PARENTS_NOT_LISTED:
        raise ValueError(f"parents_not_listed must be one of {PARENTS_NOT_LISTED}, not {parents_not_listed!r}")


def encode(ids, sires, dams):
    """Codes 0..m-1 for listed animals (input order), m.. for parents never listed (added founders).

    Returns (names, sire, dam), or None when an id is listed more than once.
    """
    m = len(ids)
    codes, names = pd.factorize(np.concatenate([ids, sires, dams]), use_na_sentinel=True)
    if m and codes[:m].max() != m - 1:
        return None
    names = np.asarray(names, dtype=object)
    n = len(names)
    sire = np.full(n, -1, np.int64)
    dam = np.full(n, -1, np.int64)
    sire[:m] = codes[m : 2 * m]
    dam[:m] = codes[2 * m :]
    return names, sire, dam


def number(df, id="id", sire="sire", dam="dam", unknown=None, sire_as_dam="error",
           parents_not_listed="check") -> Numbered:
    """Check the table and number its animals parents-first (see module docstring)."""
    check_options(sire_as_dam, parents_not_listed)
    unknown = DEFAULT_UNKNOWN if unknown is None else tuple(unknown)
    ids, sires, dams = normalized_columns(df, id, sire, dam, unknown)
    encoded = encode(ids, sires, dams)
    if encoded is None:  # some id is listed more than once
        ids, sires, dams = drop_duplicates(ids, sires, dams)
        encoded = encode(ids, sires, dams)
    names, s, d = encoded
    m = len(ids)
    check_unlisted(names, s[:m], d[:m], m, unknown, parents_not_listed)  # first: a code in both columns
    check_parents(names, s[:m], d[:m], sire_as_dam)                       # is no sire used as dam
    added = names[m:]
    gen = generations(s, d, names)
    perm = parents_first(gen)
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(perm.size)
    s, d = s[perm], d[perm]
    s[s >= 0] = inverse[s[s >= 0]]
    d[d >= 0] = inverse[d[d >= 0]]
    return Numbered(names[perm], s, d, gen[perm], added)
