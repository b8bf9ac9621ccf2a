"""A genomic job from a PLINK .bed writes the QC report, GEBVs with reliabilities, SNP effects, windows and a
Manhattan plot into its result folder (listed in the manifest), equal to the Python API and to a dense
back-solve of the SNP effects."""
import json

import numpy as np
import pandas as pd
import pytest

import henderson as hd
from henderson.cli import main
from henderson.io import read_manifest
from henderson.simulate.genotypes import gene_drop

bed_reader = pytest.importorskip("bed_reader")   # the henderson[genomic] extra (installed with [test])

GENOMIC_FILES = {"genomic_qc.csv", "genomic_qc_removed.csv", "genomic_qc_flagged.csv", "gebv.csv",
                 "snp_effects.csv", "snp_windows.csv", "manhattan.png", "genomic.json"}
SNP_FILES = {"snp_effects.csv", "snp_windows.csv", "manhattan.png"}


@pytest.fixture(scope="module")
def chip(tmp_path_factory):
    """Data, pedigree and a .bed of 40 genotyped animals x 200 SNPs on two chromosomes, with one SNP and one
    animal of low call rate and one monomorphic SNP for QC to remove."""
    folder = tmp_path_factory.mktemp("chip")
    rng = np.random.default_rng(5)
    data, ped_df, _ = hd.simulate(120, n_generations=4, h2=0.4, seed=5)
    ped = hd.Pedigree.from_frame(ped_df)
    codes = gene_drop(ped.sire, ped.dam, 200, rng).astype(float)
    chosen = np.sort(rng.choice(ped.n, size=40, replace=False))
    g = codes[chosen]
    g[rng.random(g.shape) < 0.01] = np.nan
    g[:25, 7] = np.nan            # SNP s7: call rate 15/40
    g[3, :60] = np.nan            # the fourth animal: call rate 0.7
    g[:, 11] = 2.0                # s11 monomorphic
    ids = [str(i) for i in ped.ids[chosen]]
    snps = [f"s{j}" for j in range(200)]
    bed_reader.to_bed(folder / "chip.bed", g.astype(np.float32),
                      properties={"iid": ids, "sid": snps, "chromosome": ["1"] * 120 + ["2"] * 80,
                                  "bp_position": list(range(1000, 1120)) + list(range(500, 580))})
    data.to_csv(folder / "d.csv", index=False)
    ped_df[["id", "sire", "dam"]].to_csv(folder / "ped.csv", index=False)
    geno = pd.DataFrame(g, index=ids, columns=snps)
    return folder, ped, geno, data


def run(folder, name, extra=""):
    (folder / f"{name}.toml").write_text(
        f'data = "d.csv"\npedigree = "ped.csv"\nformula = "y ~ 1 + (1|id)"\nout = "{name}"\n'
        f'genotypes = "chip.bed"\ngenomic = "ssgblup"\nblend = 0.05\n{extra}')
    return main(["fit", str(folder / f"{name}.toml"), "--quiet"])


def dense_snp_effects(geno_qc, Ginv, u):
    """a = Z' G^-1 u / (2 sum p q) from the definition (missing genotypes at their mean)."""
    x = geno_qc.to_numpy()
    p = np.nanmean(x, axis=0) / 2
    Z = np.nan_to_num(x - 2 * p)
    return Z.T @ Ginv @ u / (2 * np.sum(p * (1 - p)))


def test_genomic_result_files_equal_the_api_and_a_dense_back_solve(chip):
    folder, ped, geno, data = chip
    assert run(folder, "out", "snp_window = 10\n") == 0
    out = folder / "out"
    assert GENOMIC_FILES <= set(read_manifest(out)["files"])
    assert GENOMIC_FILES <= {p.name for p in out.iterdir()}

    ss = hd.SingleStep(ped, hd.genomic.read_genotypes(folder / "chip.bed"), blend=0.05)   # with chromosomes
    d = data.assign(id=data["id"].astype(str))
    api = hd.fit("y ~ 1 + (1|id)", d, relationships={"id": ss})
    built = ss.built()

    qc = pd.read_csv(out / "genomic_qc.csv")
    pd.testing.assert_frame_equal(qc, built.qc.steps, check_dtype=False)
    removed = pd.read_csv(out / "genomic_qc_removed.csv", dtype=str)
    listed = set(map(tuple, removed[["kind", "id"]].to_numpy()))
    assert listed == {("snp" if k.endswith(": SNPs") else "animal", x) for k, v in built.qc.details.items()
                      if k.endswith((": SNPs", ": animals")) for x in v}
    assert {("snp", "s7"), ("snp", "s11"), ("animal", geno.index[3])} <= listed
    assert len(removed) == qc["snps_removed"].sum() + qc["animals_removed"].sum()
    assert removed.set_index("id").loc["s7", "step"] == "SNP call rate < 0.9"
    assert removed.set_index("id").loc["s11", "step"] == "monomorphic"

    gebv = pd.read_csv(out / "gebv.csv", dtype={"level": str}).set_index("level")
    rel = hd.genomic.reliabilities(api, ss)
    for col in ("gebv", "pev", "K_ii", "reliability", "accuracy"):
        np.testing.assert_allclose(gebv[col].reindex(rel.index), rel[col], rtol=1e-6, atol=1e-9)
    assert set(gebv.index[gebv["genotyped"]]) == set(built.genotypes.ids)
    assert geno.index[3] not in set(gebv.index[gebv["genotyped"]])

    snp = pd.read_csv(out / "snp_effects.csv").set_index("snp")
    kept = list(built.genotypes.snps)
    assert list(snp.index) == kept
    u = api.random_effects["id"].iloc[:, 0].reindex(built.genotypes.ids).to_numpy()
    a = dense_snp_effects(geno.loc[list(built.genotypes.ids), kept], built.Ginv, u)
    np.testing.assert_allclose(snp["effect"], a, rtol=1e-6, atol=1e-12)
    assert snp["var_share"].sum() == pytest.approx(100.0)
    windows = pd.read_csv(out / "snp_windows.csv")
    expected = hd.genomic.windows(api, ss, size=10)
    np.testing.assert_allclose(windows["var_share"], expected["var_share"], rtol=1e-6)
    assert list(windows["chrom"].astype(str).unique()) == ["1", "2"]   # windows do not cross chromosomes
    first = snp.groupby("window").head(1)
    np.testing.assert_allclose(first["window_var_share"], windows["var_share"], rtol=1e-12)
    assert (out / "manhattan.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    info = json.loads((out / "genomic.json").read_text())
    assert info["snps"] == len(kept) and info["genotyped_animals"] == 39 and info["model"] == "ssgblup"


def test_snp_effects_off_and_rerun_removes_only_henderson_files(chip):
    folder = chip[0]
    assert run(folder, "again", "snp_window = 25\n") == 0
    assert run(folder, "again", "snp_effects = false\n") == 0
    files = set(read_manifest(folder / "again")["files"])
    assert GENOMIC_FILES - SNP_FILES <= files and not files & SNP_FILES
    assert not any((folder / "again" / f).exists() for f in SNP_FILES)


@pytest.mark.parametrize("extra, message", [
    ("snp_window = 0\n", "key 'snp_window' must be a whole number >= 1, got 0"),
    ("snp_effects = 1\n", "key 'snp_effects' must be bool"),
])
def test_bad_snp_keys(chip, capsys, extra, message):
    assert run(chip[0], "bad", extra) == 2
    assert message in capsys.readouterr().err


def test_genomic_keys_without_genotypes_are_refused(chip, capsys):
    folder = chip[0]
    (folder / "plain.toml").write_text('data = "d.csv"\nformula = "y ~ 1 + (1|id)"\nsnp_window = 10\n')
    assert main(["fit", str(folder / "plain.toml"), "--quiet"]) == 2
    assert "key(s) snp_window apply to genomic models: add 'genotypes' and 'genomic'" in capsys.readouterr().err


def test_gblup_job_writes_gebv_reliabilities_from_g(chip):
    folder, ped, geno, data = chip
    d = data.assign(id=data["id"].astype(str))
    d = d[d["id"].isin(geno.index.drop(geno.index[3]))]            # the fourth animal fails QC (call rate)
    d.to_csv(folder / "dg.csv", index=False)
    (folder / "gblup.toml").write_text('data = "dg.csv"\npedigree = "ped.csv"\nformula = "y ~ 1 + (1|id)"\n'
                                       'out = "gblup"\ngenotypes = "chip.bed"\ngenomic = "gblup"\n')
    assert main(["fit", str(folder / "gblup.toml"), "--quiet"]) == 0
    gb = hd.GBLUP(hd.genomic.read_genotypes(folder / "chip.bed"), blend=0.05, pedigree=ped)
    api = hd.fit("y ~ 1 + (1|id)", d, relationships={"id": gb})
    gebv = pd.read_csv(folder / "gblup" / "gebv.csv", dtype={"level": str}).set_index("level")
    re = api.random_effects["id"]
    sigma2 = api.variance_components.set_index("group").loc["id", "estimate"]
    expected = 1 - re["pev"] / (sigma2 * pd.Series(np.diag(gb.built().G), index=re.index))
    np.testing.assert_allclose(gebv["reliability"].reindex(re.index), expected, rtol=1e-6)
    assert gebv["genotyped"].all() and len(gebv) == 39
    assert json.loads((folder / "gblup" / "genomic.json").read_text())["model"] == "gblup"
