"""The Pedigree value: animals in parents-first order with their inbreeding, A^-1 and log|A|."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp

from henderson.errors import PedigreeError
from henderson.ids import normalize_ids, show_ids
from henderson.pedigree.ainverse import ainverse_matrix, logdet_a
from henderson.pedigree.build import number
from henderson.pedigree.codes import DEFAULT_UNKNOWN
from henderson.pedigree.inbreeding import inbreeding_and_d

from ..jitnotice import njit


def _frozen(a: np.ndarray) -> np.ndarray:
    """A read-only copy (the caller's array stays writeable and cannot change the Pedigree)."""
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


@njit(cache=True)
def _with_ancestors(keep, sire, dam):
    """Mark every ancestor of a marked animal (parents precede offspring, so one backward sweep)."""
    for i in range(keep.shape[0] - 1, -1, -1):
        if keep[i]:
            if sire[i] >= 0:
                keep[sire[i]] = True
            if dam[i] >= 0:
                keep[dam[i]] = True
    return keep


@dataclass(frozen=True, eq=False)
class Pedigree:
    """Animals 0..n-1 with parents before offspring.

    ids: normalized string ids; sire, dam: positions in ids (-1 unknown); generation: longest
    ancestral path (0 for founders); added_founders: parents that were never listed as animals.
    Build with :meth:`from_frame` or :func:`read_pedigree`; immutable afterwards.
    """

    ids: np.ndarray
    sire: np.ndarray
    dam: np.ndarray
    generation: np.ndarray
    added_founders: np.ndarray

    def __post_init__(self):
        for name in ("ids", "sire", "dam", "generation", "added_founders"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        n = len(self.ids)
        for name in ("sire", "dam", "generation"):
            if len(getattr(self, name)) != n:
                raise PedigreeError(f"Pedigree.{name} has {len(getattr(self, name))} entries, ids has {n}")
        pos = np.arange(n)
        if np.any(self.sire >= pos) or np.any(self.dam >= pos):
            raise PedigreeError("Pedigree arrays must list parents before their offspring")
        g = self.generation
        for par in (self.sire, self.dam):
            known = par >= 0
            if np.any(g[known] <= g[par[known]]) or np.any(g < 0):
                raise PedigreeError("Pedigree.generation must exceed the generation of each known parent")

    @classmethod
    def from_frame(cls, df: pd.DataFrame, id="id", sire="sire", dam="dam", unknown=DEFAULT_UNKNOWN,
                   sire_as_dam="error", parents_not_listed="check", missing=None) -> Pedigree:
        """Check and sort a table of (id, sire, dam) rows.

        unknown: the unknown-parent codes (default NaN, "", "0", "NA", "."); a list given here replaces
            the defaults, and empty cells and NaN stay unknown. Codes compare as ids do: 0, 0.0 and "0"
            are one code.
        sire_as_dam: an id used both as sire and as dam, selfing (sire == dam) included: "error"
            (default, animals), "warn", or "allow" (plants, fish: hermaphrodites and selfing are
            legitimate; F and A^-1 stay exact).
        parents_not_listed: "check" (default) adds parents that are never listed as animals as
            founders with a PedigreeWarning, but raises PedigreeError for one that looks like an
            undeclared unknown-parent code ("-", "*", "00", "0.0", "UNKNOWN"...) and is the parent of
            two or more animals; "founders" adds every unlisted parent as a founder, silently.
        missing: deprecated name of ``unknown``.
        """
        unknown = _renamed(missing, unknown)
        num = number(df, id=id, sire=sire, dam=dam, unknown=unknown, sire_as_dam=sire_as_dam,
                     parents_not_listed=parents_not_listed)
        return cls(num.ids, num.sire, num.dam, num.generation, num.added_founders)

    @property
    def n(self) -> int:
        """Number of animals, added founders included."""
        return len(self.ids)

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return f"Pedigree(n={self.n}, generations={int(self.generation.max(initial=-1)) + 1})"

    @cached_property
    def index(self) -> pd.Index:
        """pandas Index of ids in pedigree order."""
        return pd.Index(self.ids, dtype=object, name="id")

    @cached_property
    def _f_d(self) -> tuple[np.ndarray, np.ndarray]:
        f, d = inbreeding_and_d(self.sire, self.dam, self.generation)
        return _frozen(f), _frozen(d)

    @property
    def inbreeding(self) -> pd.Series:
        """F_i = a_ii - 1, indexed by id (computed once)."""
        return pd.Series(self._f_d[0], index=self.index, name="F")

    @property
    def dii(self) -> np.ndarray:
        """d_i of A = L D L': 0.5 - 0.25 (F_s + F_d), 0.75 - 0.25 F_p with one known parent, 1 for founders."""
        return self._f_d[1]

    def ainverse(self) -> tuple[sp.csc_matrix, pd.Index]:
        """(A^-1 as scipy.sparse CSC in ped.ids order, Index of ids), Henderson's rules with inbreeding."""
        return ainverse_matrix(self.sire, self.dam, self.dii), self.index

    def logdet_a(self) -> float:
        """log|A| = sum_i log d_i."""
        return logdet_a(self.dii)

    def positions(self, levels) -> np.ndarray:
        """Positions in ids of the given ids (any dtype); PedigreeError listing every unknown id."""
        keys = normalize_ids(levels)
        pos = self.index.get_indexer(keys)
        if np.any(pos < 0):
            unknown = pd.unique(pd.Series(keys[pos < 0], dtype=object))
            raise PedigreeError(f"{len(unknown)} ids are not in the pedigree: {show_ids(unknown)}")
        return pos

    def prune(self, keep_ids) -> Pedigree:
        """Pedigree of keep_ids and all their ancestors, in the same relative order."""
        keep = np.zeros(self.n, bool)
        keep[self.positions(keep_ids)] = True
        keep = _with_ancestors(keep, self.sire, self.dam)
        idx = np.flatnonzero(keep)
        remap = np.full(self.n, -1, np.int64)
        remap[idx] = np.arange(idx.size)
        s, d = self.sire[idx], self.dam[idx]
        s = np.where(s >= 0, remap[np.maximum(s, 0)], -1)
        d = np.where(d >= 0, remap[np.maximum(d, 0)], -1)
        added = self.added_founders[np.isin(self.added_founders, self.ids[idx])]
        return Pedigree(self.ids[idx], s, d, self.generation[idx], added)


def _renamed(missing, unknown):
    """``unknown``, or the deprecated ``missing`` (DeprecationWarning) when that was given instead."""
    if missing is None:
        return unknown
    if unknown is not DEFAULT_UNKNOWN:
        raise TypeError("give the unknown-parent codes as unknown= only (missing= is its deprecated name)")
    warnings.warn("Pedigree option missing= is deprecated; use unknown= (the unknown-parent codes)",
                  DeprecationWarning, stacklevel=3)
    return missing


SEPARATORS = {"whitespace": r"\s+", "tab": "\t", r"\t": "\t", "comma": ",", "semicolon": ";"}


def csv_separator(sep: str) -> str:
    """The pandas separator for ``sep``: "whitespace" (runs of blanks and tabs, as renumf90 reads),
    "tab" (or a typed backslash-t), "comma", "semicolon", or the separator itself."""
    return SEPARATORS.get(sep, sep)


def read_pedigree(path, id="id", sire="sire", dam="dam", sep=",", unknown=DEFAULT_UNKNOWN,
                  sire_as_dam="error", parents_not_listed="check", missing=None, **read_csv_options) -> Pedigree:
    """Pedigree.from_frame of a delimited text file read with every column as text.

    ``sep`` may be "whitespace" (see :func:`csv_separator`). A file without a header line:
    ``header=None`` (a read_csv option) and columns by 0-based position, ``id=0, sire=1, dam=2``.
    """
    unknown = _renamed(missing, unknown)
    df = pd.read_csv(path, sep=csv_separator(sep), dtype=str, keep_default_na=False, **read_csv_options)
    return Pedigree.from_frame(df, id=id, sire=sire, dam=dam, unknown=unknown, sire_as_dam=sire_as_dam,
                               parents_not_listed=parents_not_listed)
