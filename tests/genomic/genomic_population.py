"""A small simulated population with gene-dropped genotypes, shared by the genomic tests."""
import numpy as np
import pandas as pd

import henderson as hd
from henderson.simulate.genotypes import gene_drop


def small_population(n=100, n_generations=4, n_snps=300, genotyped=35, seed=3):
    """(pedigree frame, Pedigree, genotype DataFrame of ``genotyped`` animals (later generations first picked),
    data frame with one record for most animals, true variances)."""
    rng = np.random.default_rng(seed)
    data, ped_df, _ = hd.simulate(n, n_generations=n_generations, h2=0.4, seed=seed)
    ped = hd.Pedigree.from_frame(ped_df)
    codes = gene_drop(ped.sire, ped.dam, n_snps, rng)
    chosen = np.sort(rng.choice(ped.n, size=genotyped, replace=False))
    geno = pd.DataFrame(codes[chosen], index=ped.ids[chosen], columns=[f"s{j}" for j in range(n_snps)])
    return ped_df, ped, geno, data
