"""A job file with a PLINK .bed and genomic = "ssgblup" | "gblup" fits the same model as the Python API."""
import json

import numpy as np
import pandas as pd
import pytest

import henderson as hd
from henderson.cli import main

bed_reader = pytest.importorskip("bed_reader")


@pytest.fixture
def files(tmp_path, population):
    ped_df, ped, geno, data = population
    data.to_csv(tmp_path / "d.csv", index=False)
    ped_df[["id", "sire", "dam"]].to_csv(tmp_path / "ped.csv", index=False)
    bed_reader.to_bed(tmp_path / "chip.bed", geno.to_numpy().astype(np.float32),
                      properties={"iid": list(geno.index.astype(str)), "sid": list(geno.columns)})
    return tmp_path


@pytest.mark.parametrize("kind", ["ssgblup", "gblup"])
def test_job_file_equals_the_api(files, population, kind):
    _, ped, geno, data = population
    d = pd.read_csv(files / "d.csv", dtype={"id": str})
    if kind == "gblup":
        d = d[d["id"].isin(geno.index.astype(str))]
        d.to_csv(files / "d.csv", index=False)
    (files / "job.toml").write_text(f'data = "d.csv"\npedigree = "ped.csv"\nformula = "y ~ 1 + (1|id)"\n'
                                    f'out = "out"\ngenotypes = "chip.bed"\ngenomic = "{kind}"\nblend = 0.1\n'
                                    f'genomic_qc = false\n')
    assert main(["fit", str(files / "job.toml"), "--quiet"]) == 0
    rel = (hd.SingleStep(ped, geno, blend=0.1, qc=False) if kind == "ssgblup"
           else hd.GBLUP(geno, blend=0.1, pedigree=ped, qc=False))
    api = hd.fit("y ~ 1 + (1|id)", d, relationships={"id": rel})
    assert json.loads((files / "out" / "result.json").read_text())["loglik"] == pytest.approx(api.loglik, rel=1e-10)


def test_genomic_without_genotypes_is_a_job_file_error(files, capsys):
    (files / "job.toml").write_text('data = "d.csv"\nformula = "y ~ 1 + (1|id)"\ngenomic = "gblup"\n')
    assert main(["fit", str(files / "job.toml"), "--quiet"]) != 0
    assert "keys 'genotypes' (a .bed or CSV file) and 'genomic' (ssgblup or gblup) go together" in \
        capsys.readouterr().err
