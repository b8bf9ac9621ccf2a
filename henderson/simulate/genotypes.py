"""Gene dropping: SNP genotypes of a pedigree, founders' alleles drawn from base frequencies, each
offspring taking one allele of each parent at random at every SNP (unlinked loci, no mutation).

    codes = gene_drop(sire, dam, n_snps=2000, rng=np.random.default_rng(1))   # int8, animals x SNPs
"""
from __future__ import annotations

import numpy as np


def gene_drop(sire: np.ndarray, dam: np.ndarray, n_snps: int, rng, freq: np.ndarray | None = None) -> np.ndarray:
    """Allele counts 0/1/2 (int8, animals x SNPs) dropped down a pedigree whose parents precede offspring
    (-1 unknown: that gamete comes from the base population with frequencies ``freq``, default U(0.05, 0.95)).
    """
    n = len(sire)
    p = rng.uniform(0.05, 0.95, n_snps) if freq is None else np.asarray(freq, dtype=float)
    pat = np.empty((n, n_snps), dtype=np.int8)
    mat = np.empty((n, n_snps), dtype=np.int8)
    for i in range(n):
        for parent, out in ((sire[i], pat), (dam[i], mat)):
            if parent < 0:
                out[i] = rng.random(n_snps) < p
            else:
                take_pat = rng.random(n_snps) < 0.5
                out[i] = np.where(take_pat, pat[parent], mat[parent])
    return (pat + mat).astype(np.int8)
