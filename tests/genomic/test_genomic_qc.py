"""Quality control: each PREGSF90 step removes what it should and reports counts."""
import numpy as np
import pandas as pd

import henderson as hd
from henderson.genomic.genotypes import Genotypes


def make(codes, ids=None):
    codes = np.asarray(codes, dtype=np.int8)
    ids = np.array([f"a{i}" for i in range(codes.shape[0])] if ids is None else ids, dtype=object)
    return Genotypes(codes, ids, np.array([f"s{j}" for j in range(codes.shape[1])], dtype=object))


def test_each_step_counts():
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 3, size=(40, 12)).astype(np.int8)
    codes[:6, 0] = -1            # SNP call rate 34/40 = 0.85 < 0.90
    codes[0, 1:3] = -1           # animal a0: with s0 removed, 9/11 called < 0.90
    codes[:, 3] = 2              # monomorphic
    codes[:, 4] = 0
    codes[1, 4] = 1              # MAF 1/80 < 0.05
    geno, report = hd.genomic.quality_control(make(codes))
    steps = report.steps.set_index("step")
    assert steps.loc["SNP call rate < 0.9", "snps_removed"] == 1
    assert steps.loc["animal call rate < 0.9", "animals_removed"] == 1
    assert steps.loc["monomorphic", "snps_removed"] == 1
    assert steps.loc["MAF < 0.05", "snps_removed"] == 1
    assert report.details["SNP call rate < 0.9: SNPs"] == ["s0"]
    assert report.details["animal call rate < 0.9: animals"] == ["a0"]
    assert report.details["monomorphic: SNPs"] == ["s3"]
    assert report.details["MAF < 0.05: SNPs"] == ["s4"]
    assert geno.n == 39 and geno.m == 9
    assert list(report.steps["snps_left"])[-1] == 9


def test_mendelian_conflicts_and_duplicates():
    ped = hd.Pedigree.from_frame(pd.DataFrame({"id": ["s", "d", "c", "e"], "sire": ["0", "0", "s", "s"],
                                               "dam": ["0", "0", "d", "d"]}))
    rng = np.random.default_rng(2)
    codes = rng.integers(0, 3, size=(5, 200)).astype(np.int8)
    codes[2] = np.where(codes[0] == 0, 1, codes[2])      # c: consistent with sire s where s is 0
    codes[2] = np.where(codes[0] == 2, 1, codes[2])
    codes[2] = np.where(codes[1] == 0, np.minimum(codes[2], 1), codes[2])
    codes[2] = np.where(codes[1] == 2, np.maximum(codes[2], 1), codes[2])
    codes[3] = np.where(codes[0] == 0, 2, codes[3])      # e: opposite homozygote of s wherever s is 0
    codes[4] = codes[2]                                  # x duplicates c
    geno = make(codes, ids=["s", "d", "c", "e", "x"])
    out, report = hd.genomic.quality_control(geno, ped, maf=0.0)
    pairs = report.details["Mendelian conflicts: pairs (progeny, parent)"]
    assert ("e", "s") in pairs and ("c", "s") not in pairs and ("c", "d") not in pairs
    assert "e" not in set(out.ids)
    assert report.details["duplicate genotypes"] == [("c", "x")]


def test_bed_round_trip(tmp_path):
    bed_reader = __import__("pytest").importorskip("bed_reader")
    codes = np.array([[0, 1, 2, -1], [2, 2, 1, 0], [1, 0, 0, 2]], dtype=np.int8)
    val = codes.astype(np.float32)
    val[codes < 0] = np.nan
    path = tmp_path / "tiny.bed"
    bed_reader.to_bed(path, val, properties={"iid": ["101", "102", "103"], "sid": ["r1", "r2", "r3", "r4"],
                                             "chromosome": ["1", "1", "2", "2"], "bp_position": [10, 20, 5, 9]})
    geno = hd.genomic.read_genotypes(path)
    np.testing.assert_array_equal(geno.codes, codes)
    assert list(geno.ids) == ["101", "102", "103"] and list(geno.snps) == ["r1", "r2", "r3", "r4"]
    assert list(geno.pos) == [10, 20, 5, 9]


def test_csv_genotypes(tmp_path):
    path = tmp_path / "g.csv"
    pd.DataFrame({"id": [7, 8], "m1": [0, 2], "m2": [1, None]}).to_csv(path, index=False)
    geno = hd.genomic.read_genotypes(path)
    np.testing.assert_array_equal(geno.codes, [[0, 1], [2, -1]])
    assert list(geno.ids) == ["7", "8"]
