"""henderson batch: resume reuses a result only when its job's fingerprint is unchanged, says why otherwise;
the batch folder is checked like any output folder; workers die with the batch process."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import henderson
import henderson as hd
from henderson.cli import main
from henderson.cli.resume import reuse_reason

ROOT = Path(__file__).resolve().parents[2]
SLEEP = ROOT / "tests" / "data" / "sleepstudy.csv"


def write_toml(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


JOBS = '''
workers = 1
[defaults]
data = "sleep.csv"
factors = ["Subject"]
[[job]]
name = "int"
formula = "Reaction ~ Days + (1|Subject)"
[[job]]
name = "slope"
formula = "Reaction ~ Days + (Days|Subject)"
'''


@pytest.fixture
def batch(tmp_path):
    shutil.copy(SLEEP, tmp_path / "sleep.csv")
    jobs = write_toml(tmp_path / "jobs.toml", JOBS)
    assert main(["batch", str(jobs), "-q"]) == 0
    return tmp_path, jobs


def _rerun(jobs, *extra):
    """Exit code and summary table (indexed by job name) of a re-run."""
    code = main(["batch", str(jobs), "-q", *extra])
    table = pd.read_csv(jobs.parent / "jobs_results" / "summary.csv", keep_default_na=False).set_index("name")
    return code, table


def _loglik(folder):
    return json.loads((folder / "result.json").read_text())["loglik"]


def _api_loglik(formula, path):
    d = pd.read_csv(path, dtype={"Subject": str})
    return hd.fit(formula, d).loglik


def test_first_run_says_no_previous_result_and_rerun_reuses(batch):
    root, jobs = batch
    first = pd.read_csv(root / "jobs_results" / "summary.csv").set_index("name")
    assert list(first["reuse"]) == ["no previous result"] * 2
    code, table = _rerun(jobs)
    assert code == 0 and list(table["reuse"]) == ["reused", "reused"]
    assert list(table["status"]) == ["skipped", "skipped"]


def test_changed_data_is_recomputed(batch):
    root, jobs = batch
    out = root / "jobs_results"
    old = _loglik(out / "int")
    d = pd.read_csv(root / "sleep.csv")
    d.loc[d.index[:20], "Reaction"] += 40.0
    d.to_csv(root / "sleep.csv", index=False)
    code, table = _rerun(jobs)
    assert code == 0
    assert list(table["reuse"]) == ["data changed", "data changed"]
    assert list(table["status"]) == ["ok", "ok"]
    new = _loglik(out / "int")
    assert new != old
    assert new == pytest.approx(_api_loglik("Reaction ~ Days + (1|Subject)", root / "sleep.csv"), rel=1e-12)
    assert float(table.loc["int", "loglik"]) == pytest.approx(new, rel=1e-12)


def test_touched_data_with_same_content_is_reused(batch):
    root, jobs = batch
    st = os.stat(root / "sleep.csv")
    os.utime(root / "sleep.csv", ns=(st.st_atime_ns, st.st_mtime_ns + 10**10))
    _, table = _rerun(jobs)
    assert list(table["reuse"]) == ["reused", "reused"]


def test_changed_formula_or_option_recomputes_that_job_only(batch):
    root, jobs = batch
    write_toml(jobs, JOBS.replace("(1|Subject)", "(1|Subject) + (0 + Days|Subject)"))
    _, table = _rerun(jobs)
    assert table.loc["int", "reuse"] == "formula changed" and table.loc["int", "status"] == "ok"
    assert table.loc["slope", "reuse"] == "reused"
    write_toml(jobs, JOBS.replace("(1|Subject)", "(1|Subject) + (0 + Days|Subject)")
               .replace('factors = ["Subject"]', 'factors = ["Subject"]\ntol = 1e-6'))
    _, table = _rerun(jobs)
    assert list(table["reuse"]) == ["options changed (tol)"] * 2


def test_force_recomputes_and_says_so(batch):
    root, jobs = batch
    code, table = _rerun(jobs, "--force")
    assert code == 0 and list(table["reuse"]) == ["forced (--force)"] * 2
    assert list(table["status"]) == ["ok", "ok"]


def test_new_henderson_version_recomputes(batch, monkeypatch):
    root, jobs = batch
    monkeypatch.setattr(henderson, "__version__", "99.0")
    _, table = _rerun(jobs)
    assert list(table["reuse"]) == ["henderson version changed"] * 2


def test_result_without_fingerprint_is_recomputed(batch):
    root, jobs = batch
    res = root / "jobs_results" / "int" / "result.json"
    d = json.loads(res.read_text())
    del d["fingerprint"]
    res.write_text(json.dumps(d))
    _, table = _rerun(jobs)
    assert table.loc["int", "reuse"] == "no fingerprint (older result)" and table.loc["int", "status"] == "ok"
    assert "fingerprint" in json.loads(res.read_text())


def test_pedigree_change_is_detected():
    base = {"henderson": "1", "formula": "y ~ 1", "options": {"method": "REML"},
            "data": {"size": 1, "mtime_ns": 1, "sha256": "a"}, "pedigree": {"size": 5, "mtime_ns": 1, "sha256": "p"}}
    assert reuse_reason(base, base) == "reused"
    assert reuse_reason(base, {**base, "pedigree": {"size": 5, "mtime_ns": 9, "sha256": "q"}}) == "pedigree changed"
    assert reuse_reason(base, {**base, "pedigree": None}) == "pedigree changed"
    assert reuse_reason(base, {**base, "data": {"size": 2, "mtime_ns": 1, "sha256": "b"},
                               "formula": "y ~ x"}) == "data changed, formula changed"


def test_batch_folder_with_users_files_is_refused_before_any_job(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(SLEEP, tmp_path / "sleep.csv")
    jobs = write_toml(tmp_path / "jobs.toml", JOBS)
    (tmp_path / "notes.txt").write_text("mine")
    for out in (".", str(tmp_path)):
        assert main(["batch", str(jobs), "-q", "--out", out]) == 2
        err = capsys.readouterr().err
        assert "henderson: error: " in err and ("sleep.csv" in err or "jobs.toml" in err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jobs.toml", "notes.txt", "sleep.csv"]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "summary.csv").write_text("my own summary")
    assert main(["batch", str(jobs), "-q", "--out", str(mine)]) == 2
    assert "summary.csv" in capsys.readouterr().err
    assert [p.name for p in mine.iterdir()] == ["summary.csv"]
    assert (mine / "summary.csv").read_text() == "my own summary"


def test_job_folder_with_users_files_fails_that_job_only(batch):
    root, jobs = batch
    (root / "jobs_results" / "int" / "mine.txt").write_text("mine")
    code, table = _rerun(jobs, "--force")
    assert code == 2
    assert table.loc["int", "status"] == "failed" and "mine.txt" in table.loc["int", "error"]
    assert table.loc["slope", "status"] == "ok"
    assert (root / "jobs_results" / "int" / "mine.txt").read_text() == "mine"


SLOW_JOBS = f'''
workers = 2
[defaults]
data = "{SLEEP}"
factors = ["Subject"]
formula = "Reaction ~ Days + (Days|Subject)"
algorithm = "em"
max_iter = 100000000
tol = 1e-300
[[job]]
name = "a"
[[job]]
name = "b"
'''


def _workers(proc):
    """The batch's pool worker processes (spawned interpreters; not the resource tracker)."""
    return [c for c in proc.children(recursive=True) if "spawn_main" in " ".join(c.cmdline())]


@pytest.mark.slow
def test_workers_die_with_a_killed_batch(tmp_path):
    psutil = pytest.importorskip("psutil")
    jobs = write_toml(tmp_path / "slow.toml", SLOW_JOBS)    # EM to tol 1e-300: runs for minutes
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen([sys.executable, "-m", "henderson.cli", "batch", str(jobs), "-q"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers = []
    try:
        main_proc = psutil.Process(p.pid)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:       # both workers up and past their imports, fitting
            workers = _workers(main_proc)
            if len(workers) == 2 and all(w.cpu_times().user + w.cpu_times().system > 4 for w in workers):
                break
            time.sleep(0.5)
        assert len(workers) == 2, "the batch did not start two workers"
        assert p.poll() is None, "the batch ended before it could be killed"
        p.send_signal(signal.SIGKILL)
        p.wait()
        gone, alive = psutil.wait_procs(workers, timeout=10)
        assert alive == [], f"workers still running after the batch was killed: {[w.pid for w in alive]}"
    finally:                                      # whatever happened, leave no process of this test behind
        if p.poll() is None:
            p.kill()
            p.wait()
        for w in workers:
            try:
                w.kill()
            except psutil.NoSuchProcess:
                pass
