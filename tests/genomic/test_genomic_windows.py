"""Windows' share of variance equals its definition var(Z_W a_W) / var(Z a), also for windows that straddle
the blocks of SNPs the computation goes through and for windows cut at chromosome ends."""
import numpy as np
import pytest

import henderson as hd
from henderson.genomic import snp


@pytest.mark.parametrize("block", [7, 4096])
def test_window_shares_equal_their_definition(population, monkeypatch, block):
    monkeypatch.setattr(snp, "BLOCK", block)
    _, ped, geno, data = population
    chrom = np.repeat(["1", "2", "3"], [100, 120, 80])
    g = hd.genomic.from_frame(geno, chrom=chrom, pos=np.arange(300))
    gb = hd.GBLUP(g, blend=0.05, pedigree=ped)
    d = data[data["id"].astype(str).isin(geno.index.astype(str))]
    r = hd.Model("y ~ 1 + (1|id)", d, relationships={"id": gb}).solve({"id": 0.4, "Residual": 0.6})
    win = hd.genomic.windows(r, gb, size=9)
    eff = hd.genomic.snp_effects(r, gb)
    kept = gb.built().genotypes
    x = kept.codes.astype(float)
    x[kept.codes < 0] = np.nan
    Z = np.nan_to_num(x - 2 * gb.built().freq)
    a = eff["effect"].to_numpy()
    c = eff["chrom"].to_numpy()
    expected = []
    for ch in ("1", "2", "3"):
        idx = np.flatnonzero(c == ch)
        expected += [np.var(Z[:, w] @ a[w]) for w in np.array_split(idx, range(9, idx.size, 9))]
    np.testing.assert_allclose(win["var_share"], 100 * np.array(expected) / np.var(Z @ a), rtol=1e-10)
    assert win["n_snps"].sum() == kept.m
