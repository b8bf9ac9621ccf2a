"""henderson fit with ``correlated = [["id", "dam"]]``: a direct-maternal model with maternal permanent
environment from one job file and one pedigree; result files equal to the Python API; bad input exit 2."""
import json

import numpy as np
import pandas as pd
import pytest
from conftest import write_toml
from test_maternal import _population

import henderson as hd
from henderson.cli import main

FORMULA = "bw ~ sex + (1|id) + (1|dam) + (1|pe)"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """data.csv (510 records with known dams and 3 with the unknown-parent code 0), ped.csv, and the API fit
    of the records with known dams."""
    d = tmp_path_factory.mktemp("maternal")
    data, ped, _, _ = _population(seed=7, n_base_f=80, n_base_m=10)
    data = data.rename(columns={"y": "bw"})
    unknown = data.iloc[:3].assign(dam="0", pe="0")
    pd.concat([data, unknown]).to_csv(d / "data.csv", index=False)
    ped.fillna("0").to_csv(d / "ped.csv", index=False)
    P = hd.Pedigree.from_frame(ped)
    api = hd.fit(FORMULA, data, relationships={"id": P, "dam": P}, correlated=[("id", "dam")])
    return d, api


def _job(d, name, extra='correlated = [["id", "dam"]]\n', formula=FORMULA):
    return write_toml(d / f"{name}.toml", f'data = "data.csv"\npedigree = "ped.csv"\nformula = "{formula}"\n'
                                          f'out = "{name}_out"\n{extra}')


def _error(capsys) -> str:
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("henderson: error: ")]
    assert len(lines) == 1
    return lines[0]


def test_maternal_job_file_equals_python_api(files, capsys):
    d, api = files
    assert main(["fit", str(_job(d, "bw")), "-q"]) == 0
    out = d / "bw_out"
    names = {p.name for p in out.iterdir()}
    assert {"random_effects_id_dam.csv", "random_effects_pe.csv", "covariance_id_dam.csv",
            "heritability.csv"} <= names
    res = json.loads((out / "result.json").read_text())
    assert res["loglik"] == pytest.approx(api.loglik, rel=1e-12)
    assert res["nobs"] == 510                     # the 3 records whose dam is unknown ("0") are left out
    vc = pd.read_csv(out / "variance_components.csv", keep_default_na=False)
    assert list(vc["group"][:3]) == ["id+dam"] * 3
    np.testing.assert_allclose(vc["estimate"], api.variance_components["estimate"], rtol=1e-9)
    cov = pd.read_csv(out / "covariance_id_dam.csv", index_col=0)
    np.testing.assert_allclose(cov.to_numpy(), api.covariance("id", "dam").to_numpy(), rtol=1e-9)
    assert cov.iloc[0, 1] < 0                     # the simulated direct-maternal covariance is negative
    h2 = pd.read_csv(out / "heritability.csv", index_col=0)
    assert list(h2.index) == ["h2(id)", "h2(dam)"]
    np.testing.assert_allclose(h2[["estimate", "std_error"]], api.heritability()[["estimate", "std_error"]],
                               rtol=1e-8)
    ebv = pd.read_csv(out / "random_effects_id_dam.csv", index_col=0, dtype={"level": str})
    ref = api.random_effects["id+dam"]
    assert list(ebv.index) == [str(x) for x in ref.index]
    np.testing.assert_allclose(ebv[["id", "dam", "reliability:id", "reliability:dam"]],
                               ref[["id", "dam", "reliability:id", "reliability:dam"]], rtol=1e-8, atol=1e-12)
    summary = (out / "summary.txt").read_text()
    assert "Heritability: h2(id) = " in summary and "Heritability: h2(dam) = " in summary


def test_correlated_flag_equals_the_job_key(files, capsys):
    d, api = files
    job = _job(d, "flag", extra="")
    assert main(["fit", str(job), "--correlated", "id,dam", "-q"]) == 0
    assert json.loads((d / "flag_out" / "result.json").read_text())["loglik"] == pytest.approx(api.loglik, rel=1e-12)


def test_unknown_column_in_correlated_exit_2_names_it(files, capsys):
    d, _ = files
    assert main(["fit", str(_job(d, "bad1", 'correlated = [["id", "dam2"]]\n')), "-q"]) == 2
    line = _error(capsys)
    assert "'dam2'" in line and "data.csv" in line
    assert main(["fit", str(_job(d, "bad2", 'correlated = [["pe", "year"]]\n')), "-q"]) == 2
    assert "['year']" in _error(capsys)           # a column that is no random term of the formula
    assert not (d / "bad1_out").exists() and not (d / "bad2_out").exists()


def test_terms_of_different_sizes_exit_2_names_them(files, capsys):
    d, _ = files
    job = _job(d, "sizes", 'correlated = [["year", "pe"]]\n', formula="bw ~ sex + (1|id) + (1|year) + (1|pe)")
    assert main(["fit", str(job), "-q"]) == 2
    line = _error(capsys)
    assert "'year' (3 levels)" in line and "'pe'" in line and "differ in size" in line


def test_dam_not_in_pedigree_and_malformed_key_exit_2(files, capsys):
    d, _ = files
    data = pd.read_csv(d / "data.csv", dtype=str)
    data.loc[5, "dam"] = "nobody"
    data.to_csv(d / "data_x.csv", index=False)
    job = write_toml(d / "x.toml", f'data = "data_x.csv"\npedigree = "ped.csv"\nformula = "{FORMULA}"\n'
                                   'correlated = [["id", "dam"]]\n')
    assert main(["fit", str(job), "-q"]) == 2
    line = _error(capsys)
    assert "ped.csv" in line and "'dam'" in line and "nobody" in line
    assert main(["fit", str(_job(d, "one", 'correlated = ["id"]\n')), "-q"]) == 2
    assert "correlated" in _error(capsys)


def test_batch_job_with_correlated_in_defaults(files, capsys):
    d, api = files
    batch = write_toml(d / "batch.toml", f'out = "batch_out"\n[defaults]\ndata = "data.csv"\npedigree = "ped.csv"\n'
                                         f'correlated = [["id", "dam"]]\n[[job]]\nname = "bw"\nformula = "{FORMULA}"\n')
    assert main(["batch", str(batch), "-q"]) == 0
    res = json.loads((d / "batch_out" / "bw" / "result.json").read_text())
    assert res["loglik"] == pytest.approx(api.loglik, rel=1e-12)
    assert (d / "batch_out" / "bw" / "heritability.csv").exists()
