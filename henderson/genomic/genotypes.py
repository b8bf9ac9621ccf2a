"""SNP genotypes of animals: an int8 matrix (animals x SNPs) of allele counts 0/1/2, -1 for missing.

Built from a DataFrame (index = animal ids, one column per SNP, NaN missing), a PLINK .bed file
(through bed-reader, the optional extra ``henderson[genomic]``) or a CSV file. The codes stay int8:
nothing makes a dense float copy of the whole matrix (G is accumulated over blocks of SNPs).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DesignError
from ..ids import normalize_ids, show_ids

MISSING = -1


@dataclass(frozen=True, eq=False)
class Genotypes:
    """codes: int8 (n animals x m SNPs) in {0, 1, 2, -1 missing}; ids: normalized animal ids; snps: SNP names;
    chrom, pos: chromosome and base-pair position of each SNP (for windows and Manhattan plots), or None."""

    codes: np.ndarray
    ids: np.ndarray
    snps: np.ndarray
    chrom: np.ndarray | None = None
    pos: np.ndarray | None = None

    def __post_init__(self):
        if self.codes.dtype != np.int8 or self.codes.ndim != 2:
            raise DesignError("Genotypes.codes must be a 2-d int8 array (animals x SNPs)")
        n, m = self.codes.shape
        if len(self.ids) != n or len(self.snps) != m:
            raise DesignError(f"genotype matrix is {n}x{m} but {len(self.ids)} ids and {len(self.snps)} SNPs")
        _check_unique(self.ids, "animal", "genotyped twice")
        _check_unique(self.snps, "SNP", "listed twice")

    @property
    def n(self) -> int:
        return self.codes.shape[0]

    @property
    def m(self) -> int:
        return self.codes.shape[1]

    @property
    def index(self) -> pd.Index:
        return pd.Index(self.ids, dtype=object, name="id")

    def __repr__(self) -> str:
        return f"Genotypes(animals={self.n}, snps={self.m})"

    def subset(self, animals: np.ndarray | None = None, snps: np.ndarray | None = None) -> Genotypes:
        """The genotypes of the animals and SNPs selected by boolean masks or positions (None: all)."""
        a = slice(None) if animals is None else animals
        s = slice(None) if snps is None else snps
        chrom = None if self.chrom is None else self.chrom[s]
        pos = None if self.pos is None else self.pos[s]
        return Genotypes(np.ascontiguousarray(self.codes[a][:, s]), self.ids[a], self.snps[s], chrom, pos)

    def to_frame(self) -> pd.DataFrame:
        """The genotypes as a float DataFrame (NaN missing); for small sets."""
        x = self.codes.astype(float)
        x[self.codes == MISSING] = np.nan
        return pd.DataFrame(x, index=self.index, columns=self.snps)


def _check_unique(values: np.ndarray, what: str, verb: str) -> None:
    """DesignError naming the repeated values (first ten and a count)."""
    s = pd.Series(values)
    dup = s[s.duplicated()].unique()
    if len(dup):
        raise DesignError(f"{len(dup)} {what}(s) {verb}: {show_ids(dup)}")


def as_codes(values: np.ndarray, snps, ids) -> np.ndarray:
    """int8 codes of a numeric array with NaN missing; DesignError naming SNPs and animals with codes
    outside 0/1/2."""
    x = np.asarray(values, dtype=float)
    missing = np.isnan(x)
    bad = ~missing & ~np.isin(x, (0.0, 1.0, 2.0))
    if bad.any():
        rows, cols = np.nonzero(bad)
        cells = [f"{ids[r]}/{snps[c]}={x[r, c]:g}" for r, c in zip(rows[:10], cols[:10])]
        raise DesignError(f"{bad.sum()} genotype codes outside 0/1/2 (animal/SNP=code): {', '.join(cells)}"
                          + (f" ... ({bad.sum()} in all)" if bad.sum() > 10 else ""))
    codes = np.where(missing, MISSING, x).astype(np.int8)
    return codes


def from_frame(df: pd.DataFrame, chrom=None, pos=None) -> Genotypes:
    """Genotypes of a DataFrame indexed by animal id with one 0/1/2 column per SNP (NaN missing)."""
    if isinstance(df, Genotypes):
        return df
    if not isinstance(df, pd.DataFrame):
        raise DesignError(f"genotypes must be a DataFrame (index = animal ids, columns = SNPs) or Genotypes, "
                          f"got {type(df).__name__}")
    ids = normalize_ids(df.index.to_numpy())
    snps = np.asarray([str(c) for c in df.columns], dtype=object)
    try:
        values = df.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise DesignError("genotype columns must be numeric 0/1/2 (NaN missing)") from None
    return Genotypes(as_codes(values, snps, ids), ids, snps,
                     None if chrom is None else np.asarray(chrom), None if pos is None else np.asarray(pos))


def read_bed(path) -> Genotypes:
    """Genotypes of a PLINK .bed/.bim/.fam triple (ids are the .fam individual ids; counts of the A1
    allele as bed-reader gives them, missing -1)."""
    try:
        from bed_reader import open_bed
    except ImportError:
        raise ImportError("reading PLINK .bed files needs bed-reader: pip install 'henderson[genomic]'") from None
    with open_bed(str(path)) as bed:
        codes = bed.read(dtype="int8")   # bed-reader's int8 missing value is -127
        codes[codes == -127] = MISSING
        ids = normalize_ids(bed.iid)
        return Genotypes(np.ascontiguousarray(codes), ids, np.asarray(bed.sid, dtype=object),
                         np.asarray(bed.chromosome), np.asarray(bed.bp_position))


def read_genotypes(path, id="id") -> Genotypes:
    """Genotypes from a PLINK .bed (by its path or its prefix) or a CSV file with an ``id`` column and one
    column per SNP."""
    p = Path(path)
    if p.suffix == ".bed" or (not p.exists() and p.with_suffix(".bed").exists()):
        return read_bed(p.with_suffix(".bed"))
    df = pd.read_csv(p)
    if id not in df.columns:
        raise DesignError(f"genotype file {str(p)!r} has no {id!r} column (columns: {list(df.columns)[:10]})")
    return from_frame(df.set_index(id))
