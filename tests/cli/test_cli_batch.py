"""henderson batch: failures recorded without stopping others, resumable re-runs, no partial folders."""
import json

import numpy as np
import pandas as pd
import pytest
from conftest import SLEEP, write_toml

import henderson as hd
from henderson.cli import main
from henderson.cli.jobspec import load_batch
from henderson.cli.runjob import run_job
from henderson.io import folders

BATCH = f'''
workers = 2
[defaults]
data = "{SLEEP}"
factors = ["Subject"]

[[job]]
name = "slope"
formula = "Reaction ~ Days + (Days|Subject)"

[[job]]
name = "broken"
formula = "Reaction ~ Days + (1|Subjekt)"

[grid]
method = ["REML", "ML"]
[grid.job]
formula = "Reaction ~ Days + (1|Subject)"
method = "{{method}}"
name = "intercept-{{method}}"
'''


def _api(formula, method):
    d = pd.read_csv(SLEEP)
    d["Subject"] = d["Subject"].astype(str).astype("category")
    return hd.fit(formula, d, method=method)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    jobs = write_toml(root / "jobs.toml", BATCH)
    code = main(["batch", str(jobs), "--quiet"])
    return root, jobs, code


def test_one_bad_job_two_results_one_recorded_failure(first_run):
    root, jobs, code = first_run
    out = root / "jobs_results"
    assert code == 2                                   # the worst job's exit code: bad input
    table = pd.read_csv(out / "summary.csv", keep_default_na=False).set_index("name")
    assert table.loc["broken", "status"] == "failed"
    assert "Subjekt" in table.loc["broken", "error"]
    assert "Subjekt" in (out / "errors" / "broken.txt").read_text()
    assert not (out / "broken").exists()
    for name, formula, method in [("slope", "Reaction ~ Days + (Days|Subject)", "REML"),
                                  ("intercept-REML", "Reaction ~ Days + (1|Subject)", "REML"),
                                  ("intercept-ML", "Reaction ~ Days + (1|Subject)", "ML")]:
        assert table.loc[name, "status"] == "ok"
        assert folders.is_complete(out / name)
        res = json.loads((out / name / "result.json").read_text())
        api = _api(formula, method)
        assert res["loglik"] == pytest.approx(api.loglik, rel=1e-12)
        assert float(table.loc[name, "loglik"]) == pytest.approx(api.loglik, rel=1e-9)
        assert int(table.loc[name, "iterations"]) == api.n_iter
        np.testing.assert_allclose(res["theta"], api.theta, rtol=1e-10)
    md = (out / "summary.md").read_text()
    assert md.count("\n") == 2 + 4 and "| failed |" in md


def test_rerun_recomputes_nothing_finished(first_run):
    root, jobs, _ = first_run
    out = root / "jobs_results"
    stamps = {n: (out / n / "result.json").stat().st_mtime_ns for n in ("slope", "intercept-REML", "intercept-ML")}
    inodes = {n: (out / n).stat().st_ino for n in stamps}
    code = main(["batch", str(jobs), "--quiet", "--workers", "1"])
    assert code == 2
    table = pd.read_csv(out / "summary.csv", keep_default_na=False).set_index("name")
    for n in stamps:
        assert table.loc[n, "status"] == "skipped"
        assert (out / n / "result.json").stat().st_mtime_ns == stamps[n]
        assert (out / n).stat().st_ino == inodes[n]
        assert np.isfinite(float(table.loc[n, "loglik"]))
    assert table.loc["broken", "status"] == "failed"    # failed jobs are retried


def test_interrupted_fit_leaves_no_folder(tmp_path):
    jobs, _ = load_batch(write_toml(tmp_path / "b.toml", BATCH))
    job = jobs[0]

    def interrupt(row):
        if row["iteration"] == 2:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        run_job(job, callback=interrupt)
    assert list((tmp_path / "b_results").glob("*")) == [] if (tmp_path / "b_results").exists() else True
    assert not folders.is_complete(job["out"])


def test_interrupted_write_leaves_no_partial_folder(tmp_path, monkeypatch):
    jobs, _ = load_batch(write_toml(tmp_path / "b.toml", BATCH))
    job = jobs[0]
    original = folders.RESULT_FILES

    def crash(self):
        raise KeyboardInterrupt  # interrupted after the CSV files were written, before summary.txt
    monkeypatch.setattr(hd.FitResult, "summary", crash)
    with pytest.raises(KeyboardInterrupt):
        run_job(job)
    parent = tmp_path / "b_results"
    assert sorted(p.name for p in parent.iterdir()) == []    # neither the folder nor a .partial-* left
    assert original == folders.RESULT_FILES


def test_stale_partial_folder_is_cleaned_and_job_completed(tmp_path):
    jobs_file = write_toml(tmp_path / "b.toml", BATCH.replace("workers = 2", "workers = 1"))
    jobs, opts = load_batch(jobs_file)
    out = tmp_path / "b_results"
    stale = out / ".partial-slope-deadbeef"          # what a killed writer leaves behind
    stale.mkdir(parents=True)
    (stale / "fixed_effects.csv").write_text("half")
    from henderson.cli.batch import run_batch
    table = run_batch([jobs[0]], out, workers=1)
    assert table["status"].tolist() == ["ok"]
    assert not stale.exists() and folders.is_complete(out / "slope")


def test_duplicate_job_names_are_bad_input(tmp_path, capsys):
    f = write_toml(tmp_path / "b.toml", f'[defaults]\ndata = "{SLEEP}"\nformula = "Reaction ~ 1 + (1|Subject)"\n'
                                        '[[job]]\nname = "a"\n[[job]]\nname = "a"\n')
    assert main(["batch", str(f)]) == 2
    assert "named 'a'" in capsys.readouterr().err
