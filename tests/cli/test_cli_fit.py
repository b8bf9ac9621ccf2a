"""henderson fit: job file -> result files equal to the Python API's numbers; exit codes; progress lines."""
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import MILK, MILK_FORMULA, PED, SLEEP, write_toml

import henderson as hd
from henderson.cli import main

FILES = {"fixed_effects.csv", "variance_components.csv", "random_effects_id.csv", "random_effects_herd.csv",
         "iterations.csv", "summary.txt", "result.json",
         ".henderson-manifest.json"}  # issue 14: the folder lists the files henderson wrote there


@pytest.fixture(scope="module")
def api_milk():
    """The same model through the Python API, data prepared independently with pandas."""
    d = pd.read_csv(MILK, dtype={"id": str, "herd": str})
    d["milk"] = d["milk"] / d["milk"].std()
    d["herd"] = d["herd"].astype("category")
    return hd.fit(MILK_FORMULA, d, relationships={"id": hd.read_pedigree(PED)})


def test_job_file_round_trip_equals_python_api(milk_job, api_milk, capsys):
    assert main(["fit", str(milk_job)]) == 0
    out = milk_job.parent / "milk_out"
    assert {p.name for p in out.iterdir()} == FILES
    fe = pd.read_csv(out / "fixed_effects.csv", index_col=0)
    pd.testing.assert_frame_equal(fe, api_milk.fixed_effects, check_exact=False, rtol=1e-12, check_names=False)
    vc = pd.read_csv(out / "variance_components.csv", keep_default_na=False)
    np.testing.assert_allclose(vc["estimate"], api_milk.variance_components["estimate"], rtol=1e-12)
    np.testing.assert_allclose(vc["std_error"], api_milk.variance_components["std_error"], rtol=1e-12)
    for group in ("id", "herd"):
        re = pd.read_csv(out / f"random_effects_{group}.csv", index_col=0, dtype={"level": str})
        api = api_milk.random_effects[group]
        assert list(re.index.astype(str)) == [str(x) for x in api.index]
        np.testing.assert_allclose(re.to_numpy(float), api.to_numpy(float), rtol=1e-10, atol=1e-14)
    res = json.loads((out / "result.json").read_text())
    assert res["loglik"] == pytest.approx(api_milk.loglik, rel=1e-13)
    assert res["converged"] is True and res["n_iter"] == api_milk.n_iter
    assert len(pd.read_csv(out / "iterations.csv")) == api_milk.n_iter
    assert (out / "summary.txt").read_text().strip() == api_milk.summary().strip()
    captured = capsys.readouterr()
    progress = [line for line in captured.err.splitlines() if line.startswith("iter ")]
    assert len(progress) == api_milk.n_iter          # one progress line per REML iteration
    assert "loglik" in progress[-1] and "change" in progress[-1] and progress[-1].endswith(" s")
    assert "REML criterion at convergence" in captured.out


def test_flags_equal_job_file(tmp_path, milk_job, api_milk, capsys):
    out = tmp_path / "flags_out"
    code = main(["fit", "--data", str(MILK), "--pedigree", str(PED), "--pedigree-term", "id",
                 "--formula", MILK_FORMULA, "--scale", "milk", "--factor", "herd", "--out", str(out), "--quiet"])
    assert code == 0
    assert capsys.readouterr().err == ""            # --quiet: no progress lines
    res = json.loads((out / "result.json").read_text())
    assert res["loglik"] == pytest.approx(api_milk.loglik, rel=1e-13)


def _sleep_job(tmp_path, formula="Reaction ~ Days + (Days|Subject)", extra=""):
    return write_toml(tmp_path / "job.toml", f'data = "{SLEEP}"\nformula = "{formula}"\n'
                                             f'factors = ["Subject"]\nout = "out"\n{extra}')


def _one_error_line(err):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("henderson: error: ")
    return lines[0]


def test_bad_column_exit_2_names_file_and_column(tmp_path, capsys):
    code = main(["fit", str(_sleep_job(tmp_path, "Reaction ~ Dayz + (1|Subject)")), "--quiet"])
    assert code == 2
    line = _one_error_line(capsys.readouterr().err)
    assert str(SLEEP) in line and "Dayz" in line
    assert not (tmp_path / "out").exists()


def test_missing_data_file_exit_2(tmp_path, capsys):
    job = write_toml(tmp_path / "job.toml", 'data = "nowhere.csv"\nformula = "y ~ 1 + (1|g)"\n')
    assert main(["fit", str(job), "-q"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "nowhere.csv" in line and "not found" in line


def test_malformed_job_file_exit_2(tmp_path, capsys):
    job = write_toml(tmp_path / "job.toml", 'data = "x.csv"\nformula = \n')
    assert main(["fit", str(job)]) == 2
    assert str(job) in _one_error_line(capsys.readouterr().err)


def test_animal_missing_from_pedigree_exit_2(tmp_path, capsys):
    ped = pd.read_csv(PED, dtype=str)
    data = pd.read_csv(MILK, dtype={"id": str})
    gone = data["id"].iloc[0]
    ped = ped[ped["id"] != gone]
    ped.to_csv(tmp_path / "ped.csv", index=False)
    code = main(["fit", "--data", str(MILK), "--pedigree", str(tmp_path / "ped.csv"), "--formula", MILK_FORMULA,
                 "--out", str(tmp_path / "o"), "-q"])
    assert code == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "ped.csv" in line and gone in line


def test_not_converged_exit_3_writes_result(tmp_path, capsys):
    job = _sleep_job(tmp_path, extra="max_iter = 1\n")
    assert main(["fit", str(job), "-q"]) == 3
    res = json.loads((tmp_path / "out" / "result.json").read_text())
    assert res["converged"] is False and res["n_iter"] == 1
    assert "not converged" in capsys.readouterr().err


def test_internal_failure_exit_4_traceback_only_verbose(tmp_path, capsys, monkeypatch):
    def boom(self, **kw):
        raise RuntimeError("boom inside")
    monkeypatch.setattr(hd.Model, "fit", boom)
    job = _sleep_job(tmp_path)
    assert main(["fit", str(job), "-q"]) == 4
    line = _one_error_line(capsys.readouterr().err)
    assert "boom inside" in line
    assert main(["fit", str(job), "--verbose"]) == 4
    err = capsys.readouterr().err
    assert "Traceback" in err and "boom inside" in err


def test_console_script_exit_code(tmp_path):
    exe = [sys.executable, "-m", "henderson.cli"]
    p = subprocess.run(exe + ["fit", "--data", str(tmp_path / "absent.csv"), "--formula", "y ~ 1 + (1|g)"],
                       capture_output=True, text=True)
    assert p.returncode == 2
    assert p.stderr.strip().startswith("henderson: error: ") and "absent.csv" in p.stderr


def test_ordering_key_and_flag_give_the_same_fit(tmp_path, capsys):
    """ordering = "amd" (CHOLMOD on the whole MME) and the default block elimination agree."""
    formula = "Reaction ~ Days + (Days|Subject)"
    job = _sleep_job(tmp_path, formula)
    assert main(["fit", str(job), "--quiet", "--ordering", "amd", "--out", str(tmp_path / "amd")]) == 0
    assert main(["fit", str(job), "--quiet", "--out", str(tmp_path / "auto")]) == 0
    amd = json.loads((tmp_path / "amd" / "result.json").read_text())
    auto = json.loads((tmp_path / "auto" / "result.json").read_text())
    assert amd["loglik"] == pytest.approx(auto["loglik"], rel=1e-10)
    d = pd.read_csv(SLEEP, dtype={"Subject": str})
    assert auto["loglik"] == pytest.approx(hd.fit(formula, d, ordering="amd").loglik, rel=1e-10)


def test_unknown_ordering_in_job_file_exit_2(tmp_path, capsys):
    job = write_toml(tmp_path / "job.toml", f'data = "{SLEEP}"\nformula = "Reaction ~ Days + (1|Subject)"\n'
                     'ordering = "colamd"\n')
    assert main(["fit", str(job), "-q"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "ordering" in line and "colamd" in line


def test_cli_orderings_are_the_library_orderings():
    from henderson.cli.jobspec import ORDERINGS as cli
    from henderson.reml.objective import ORDERINGS as lib
    assert cli == lib
