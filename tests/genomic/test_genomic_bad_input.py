"""Bad genomic input gives a typed error naming what is at fault."""
import numpy as np
import pandas as pd
import pytest

import henderson as hd
from henderson.errors import DesignError, NotPositiveDefiniteError, PedigreeError


def test_genotyped_animals_missing_from_the_pedigree(population):
    _, ped, geno, data = population
    extra = pd.DataFrame([geno.iloc[0].to_numpy()] * 2, index=["X1", "X2"], columns=geno.columns)
    ss = hd.SingleStep(ped, pd.concat([geno, extra]), qc=False)
    with pytest.raises(PedigreeError, match=r"2 genotyped animals are not in the pedigree: 'X1', 'X2'"):
        hd.Model("y ~ 1 + (1|id)", data, relationships={"id": ss})


def test_codes_outside_0_1_2_name_animal_and_snp():
    df = pd.DataFrame({"a": [0, 1, 3], "b": [2, -1, 1]}, index=[10, 11, 12])
    with pytest.raises(DesignError, match=r"2 genotype codes outside 0/1/2.*11/b=-1.*12/a=3"):
        hd.genomic.from_frame(df)


def test_animal_genotyped_twice():
    df = pd.DataFrame({"a": [0, 1, 2], "b": [2, 1, 1]}, index=[10, 11, 10])
    with pytest.raises(DesignError, match=r"1 animal\(s\) genotyped twice: '10'"):
        hd.genomic.from_frame(df)


def test_singular_g_without_blending_suggests_blend(population):
    _, ped, geno, data = population
    sub = data[data["id"].astype(str).isin(geno.index.astype(str))]
    with pytest.raises(NotPositiveDefiniteError, match=r"G is singular.*blend=0\.05"):
        hd.Model("y ~ 1 + (1|id)", sub, relationships={"id": hd.GBLUP(geno, blend=0.0, qc=False)})


def test_qc_removing_every_snp():
    df = pd.DataFrame(np.full((5, 4), 2.0), index=list("abcde"), columns=list("wxyz"))
    with pytest.raises(DesignError, match=r"quality control removed all 4 SNPs \(last step: monomorphic\)"):
        hd.genomic.quality_control(hd.genomic.from_frame(df))


def test_pedigree_must_be_a_pedigree(population):
    _, _, geno, _ = population
    with pytest.raises(DesignError, match="pedigree must be a Pedigree"):
        hd.GBLUP(geno, pedigree="ped.csv")
