"""Genomic relationships: genotypes and their quality control, VanRaden's G, blending and tuning to A22,
G^-1 (LAPACK or APY), A22^-1 from the pedigree, GBLUP and single-step H^-1, SNP effects.

    geno = hd.genomic.read_genotypes("chip.bed")          # or a DataFrame: index = ids, 0/1/2 columns
    m = hd.Model("y ~ hys + (1|id)", df, relationships={"id": hd.SingleStep(ped, geno, blend=0.05)})
"""
from .genotypes import Genotypes, from_frame, read_bed, read_genotypes
from .grm import allele_frequencies, blend, tune, vanraden
from .inverse import apy_inverse, cholesky_inverse
from .qc import QCReport, quality_control
from .relationship import GBLUP, SingleStep
from .reliability import h_diagonal, reliabilities
from .snp import manhattan, snp_effects, windows
from .upg import ParentGroups

__all__ = ["Genotypes", "from_frame", "read_bed", "read_genotypes", "allele_frequencies", "vanraden", "blend",
           "tune", "apy_inverse", "cholesky_inverse", "QCReport", "quality_control", "GBLUP", "SingleStep",
           "snp_effects", "windows", "manhattan", "ParentGroups",
           "h_diagonal", "reliabilities"]
