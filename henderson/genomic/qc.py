"""Quality control of genotypes with PREGSF90's default thresholds, each step reported with counts.

Steps, in PREGSF90's order: SNP call rate (< 0.90 removed), animal call rate (< 0.90 removed), minor
allele frequency (< 0.05 removed), monomorphic SNPs (removed; with MAF > 0 these are the SNPs MAF
removes anyway, counted apart as PREGSF90 does), parent-progeny Mendelian conflicts (opposite homozygotes:
pairs whose conflict rate exceeds ``pair_conflicts`` = 0.01 are reported and the progeny's genotype is
removed, as BLUPF90's checkparentage; then SNPs whose conflict rate over the remaining genotyped
parent-progeny pairs exceeds ``snp_conflicts`` = 0.1 are removed), and duplicate genotypes (animals whose
called genotypes are identical on >= 99.9 % of the SNPs both have called: reported, kept).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import DesignError
from ..ids import show_ids
from .genotypes import MISSING, Genotypes


@dataclass(frozen=True)
class QCReport:
    """One row per step: step, removed SNPs, removed animals, SNPs and animals left; ``details``: the ids
    removed or flagged at each step; ``snps_kept``: names of the SNPs left."""

    steps: pd.DataFrame
    details: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.steps.to_string(index=False)


def _maf(codes: np.ndarray) -> np.ndarray:
    called = (codes != MISSING).sum(axis=0)
    total = np.where(codes == MISSING, 0, codes).sum(axis=0, dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = total / (2.0 * called)
    return np.minimum(p, 1.0 - p)


def _pairs(geno: Genotypes, pedigree) -> np.ndarray:
    """(progeny, parent) positions in geno of parent-progeny pairs both genotyped."""
    if pedigree is None:
        return np.empty((0, 2), dtype=np.int64)
    pos = pedigree.index.get_indexer(geno.ids)
    known = pos >= 0
    in_geno = np.full(pedigree.n, -1)
    in_geno[pos[known]] = np.flatnonzero(known)
    rows = []
    for parent in (pedigree.sire, pedigree.dam):
        par = np.where(known, parent[np.maximum(pos, 0)], -1)
        g = np.where(par >= 0, in_geno[np.maximum(par, 0)], -1)
        ok = known & (g >= 0)
        rows.append(np.column_stack([np.flatnonzero(ok), g[ok]]))
    return np.concatenate(rows)


def _conflicts(codes: np.ndarray, pairs: np.ndarray):
    """Per pair and per SNP: opposite homozygotes and SNPs both called."""
    a, b = codes[pairs[:, 0]], codes[pairs[:, 1]]
    opp = ((a == 0) & (b == 2)) | ((a == 2) & (b == 0))
    both = (a != MISSING) & (b != MISSING)
    return opp, both


def quality_control(geno: Genotypes, pedigree=None, call_rate_snp=0.90, call_rate_animal=0.90, maf=0.05,
                    snp_conflicts=0.10, pair_conflicts=0.01, duplicate_identity=0.999):
    """(genotypes after QC, QCReport). DesignError if QC removes every SNP or every animal."""
    rows, details = [], {}
    codes = geno.codes
    keep_s = np.ones(geno.m, bool)
    keep_a = np.ones(geno.n, bool)

    def record(step, snps_out=None, animals_out=None):
        ns = 0 if snps_out is None else int(snps_out.sum())
        na = 0 if animals_out is None else int(animals_out.sum())
        if snps_out is not None:
            keep_s[snps_out] = False
            details[step + ": SNPs"] = list(geno.snps[snps_out])
        if animals_out is not None:
            keep_a[animals_out] = False
            details[step + ": animals"] = list(geno.ids[animals_out])
        rows.append((step, ns, na, int(keep_s.sum()), int(keep_a.sum())))
        if not keep_s.any():
            raise DesignError(f"quality control removed all {geno.m} SNPs (last step: {step}); "
                              f"steps so far:\n{pd.DataFrame(rows, columns=COLUMNS).to_string(index=False)}")
        if not keep_a.any():
            raise DesignError(f"quality control removed all {geno.n} animals (last step: {step})")

    called = codes != MISSING
    record(f"SNP call rate < {call_rate_snp}", snps_out=keep_s & (called.mean(axis=0) < call_rate_snp))
    rate_a = called[:, keep_s].mean(axis=1)
    record(f"animal call rate < {call_rate_animal}", animals_out=keep_a & (rate_a < call_rate_animal))
    sub = codes[keep_a]
    m = _maf(sub)
    mono = keep_s & ((m == 0) | np.isnan(m))
    record("monomorphic", snps_out=mono)
    record(f"MAF < {maf}", snps_out=keep_s & (m < maf))
    pairs = _pairs(geno, pedigree)
    pairs = pairs[keep_a[pairs[:, 0]] & keep_a[pairs[:, 1]]] if pairs.size else pairs
    if pairs.size:
        opp, both = _conflicts(codes[:, keep_s], pairs)
        pair_rate = opp.sum(axis=1) / np.maximum(both.sum(axis=1), 1)
        bad = pair_rate > pair_conflicts
        details["Mendelian conflicts: pairs (progeny, parent)"] = [
            (geno.ids[c], geno.ids[p]) for c, p in pairs[bad]]
        out = np.zeros(geno.n, bool)
        out[pairs[bad, 0]] = True
        record(f"Mendelian conflicts, pair rate > {pair_conflicts}", animals_out=out)
        pairs = pairs[keep_a[pairs[:, 0]]]
        opp, both = _conflicts(codes[:, keep_s], pairs)
        snp_rate = opp.sum(axis=0) / np.maximum(both.sum(axis=0), 1)
        bad_snp = np.zeros(geno.m, bool)
        bad_snp[np.flatnonzero(keep_s)[snp_rate > snp_conflicts]] = True
        record(f"Mendelian conflicts, SNP rate > {snp_conflicts}", snps_out=bad_snp)
    else:
        rows.append(("Mendelian conflicts (no genotyped parent-progeny pairs)", 0, 0,
                     int(keep_s.sum()), int(keep_a.sum())))
    dups = _duplicates(codes[np.ix_(keep_a, keep_s)], duplicate_identity)
    ids_kept = geno.ids[keep_a]
    details["duplicate genotypes"] = [(ids_kept[i], ids_kept[j]) for i, j in dups]
    rows.append((f"duplicate genotypes (identity >= {duplicate_identity}; kept)", 0, 0,
                 int(keep_s.sum()), int(keep_a.sum())))
    report = QCReport(pd.DataFrame(rows, columns=COLUMNS).assign(flagged=[0] * (len(rows) - 1) + [len(dups)]),
                      details)
    out = geno if keep_s.all() and keep_a.all() else geno.subset(keep_a, keep_s)
    return out, report


COLUMNS = ["step", "snps_removed", "animals_removed", "snps_left", "animals_left"]


def _duplicates(codes: np.ndarray, identity: float) -> list[tuple[int, int]]:
    """Pairs of animals whose genotypes agree on >= identity of the SNPs both called (hashing exact
    duplicates first; near-duplicates among animals with an equal hash of their first 64 called SNPs)."""
    n = codes.shape[0]
    if n < 2:
        return []
    key = pd.util.hash_array(np.ascontiguousarray(codes[:, : min(64, codes.shape[1])]).view(
        np.dtype((np.void, min(64, codes.shape[1])))).ravel())
    out = []
    for _, idx in pd.Series(np.arange(n)).groupby(key):
        idx = idx.to_numpy()
        for a in range(idx.size):
            for b in range(a + 1, idx.size):
                x, y = codes[idx[a]], codes[idx[b]]
                both = (x != MISSING) & (y != MISSING)
                if both.any() and (x[both] == y[both]).mean() >= identity:
                    out.append((int(idx[a]), int(idx[b])))
    return out


def describe(report: QCReport) -> str:
    """The report as text, with the first ids removed at each step."""
    lines = [str(report)]
    for k, v in report.details.items():
        if v:
            lines.append(f"{k}: {show_ids(v)}")
    return "\n".join(lines)
