"""henderson fit with a multi-trait job file: a [traits] table or formula = [list]; files grouped by trait."""
import numpy as np
import pandas as pd
import pytest

import henderson as hd
from henderson.cli import main
from tests.multitrait.sim import pedigree_frame, traits_data

G2 = [[1.0, 0.5], [0.5, 2.0]]
R2 = [[2.0, 0.6], [0.6, 3.0]]


@pytest.fixture(scope="module")
def job_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("mtjob")
    df, ped, _ = traits_data(80, G2, R2, seed=4)
    df.to_csv(d / "data.csv", index=False)
    pedigree_frame(80, 4)[0].to_csv(d / "ped.csv", index=False)
    return d, df


def test_traits_table_job_writes_files_by_trait(job_dir):
    d, df = job_dir
    (d / "job.toml").write_text('data = "data.csv"\npedigree = "ped.csv"\nout = "out"\n'
                                '[traits]\ny1 = "y1 ~ sex + (1|id)"\ny2 = "y2 ~ 1 + (1|id)"\n')
    assert main(["fit", str(d / "job.toml")]) == 0
    out = d / "out"
    names = {p.name for p in out.iterdir()}
    assert {"covariance_id.csv", "covariance_Residual.csv", "heritability.csv", "correlations.csv",
            "random_effects_id.csv", "summary.txt", "result.json"} <= names
    ped = hd.read_pedigree(d / "ped.csv")
    api = hd.Model({"y1": "y1 ~ sex + (1|id)", "y2": "y2 ~ 1 + (1|id)"},
                   data=pd.read_csv(d / "data.csv", dtype={"id": str}), relationships={"id": ped}).fit()
    cov = pd.read_csv(out / "covariance_id.csv", index_col=0)
    np.testing.assert_allclose(cov.to_numpy(), api.covariance("id").to_numpy(), rtol=1e-10)
    res = pd.read_csv(out / "covariance_Residual.csv", index_col=0)
    assert list(res.columns) == ["y1", "y2"]
    ebv = pd.read_csv(out / "random_effects_id.csv", index_col=0)
    assert {"y1", "y2", "reliability:y1", "reliability:y2"} <= set(ebv.columns)
    h2 = pd.read_csv(out / "heritability.csv", index_col=0)
    np.testing.assert_allclose(h2["estimate"], api.heritability()["estimate"], rtol=1e-10)


def test_list_of_formulas_job_equals_traits_table(job_dir):
    d, _ = job_dir
    (d / "list.toml").write_text('data = "data.csv"\npedigree = "ped.csv"\nout = "out_list"\n'
                                 'formula = ["y1 ~ sex + (1|id)", "y2 ~ 1 + (1|id)"]\n')
    assert main(["fit", str(d / "list.toml")]) == 0
    a = pd.read_csv(d / "out_list" / "variance_components.csv")
    api = hd.Model(["y1 ~ sex + (1|id)", "y2 ~ 1 + (1|id)"], data=pd.read_csv(d / "data.csv", dtype={"id": str}),
                   relationships={"id": hd.read_pedigree(d / "ped.csv")}).fit()
    b = api.variance_components
    np.testing.assert_allclose(a["estimate"], b["estimate"], rtol=1e-12)


def test_both_formula_and_traits_is_a_job_file_error(job_dir):
    d, _ = job_dir
    (d / "both.toml").write_text('data = "data.csv"\nformula = "y1 ~ (1|id)"\nout = "o"\n'
                                 '[traits]\ny1 = "y1 ~ (1|id)"\n')
    assert main(["fit", str(d / "both.toml")]) != 0


def test_batch_with_a_multi_trait_job_and_resume(job_dir):
    """henderson batch: a [job.traits] table next to a single-trait job; a second run skips both (the
    fingerprint holds the formulas by trait)."""
    d, _ = job_dir
    (d / "batch.toml").write_text('out = "batch_out"\n[defaults]\ndata = "data.csv"\npedigree = "ped.csv"\n'
                                  '[[job]]\nname = "bivariate"\n[job.traits]\ny1 = "y1 ~ sex + (1|id)"\n'
                                  'y2 = "y2 ~ 1 + (1|id)"\n[[job]]\nname = "single"\nformula = "y1 ~ sex + (1|id)"\n')
    assert main(["batch", str(d / "batch.toml")]) == 0
    assert (d / "batch_out" / "bivariate" / "correlations.csv").is_file()
    summary = pd.read_csv(d / "batch_out" / "summary.csv")
    assert list(summary.status) == ["ok", "ok"]
    assert main(["batch", str(d / "batch.toml")]) == 0
    again = pd.read_csv(d / "batch_out" / "summary.csv")
    assert list(again.status) == ["skipped", "skipped"]
