"""henderson fit --out: results go only into a new or empty folder or one henderson wrote; a user's files
are never deleted or overwritten; an unusable folder is exit 2 before fitting; bad max_iter/tol are exit 2."""
import json
import os
import shutil
from pathlib import Path

import pytest

from henderson.cli import main
from henderson.cli.jobspec import load_job
from henderson.cli.runjob import BAD_INPUT, run_job
from henderson.io import read_manifest

ROOT = Path(__file__).resolve().parents[2]
SLEEP = ROOT / "tests" / "data" / "sleepstudy.csv"


def write_toml(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


FORMULA = "Reaction ~ Days + (1|Subject)"
RESULT = {"fixed_effects.csv", "variance_components.csv", "random_effects_Subject.csv", "iterations.csv",
          "summary.txt", "result.json", ".henderson-manifest.json"}


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A user's folder holding a data file and a note; the working directory."""
    shutil.copy(SLEEP, tmp_path / "sleep.csv")
    (tmp_path / "notes.txt").write_text("my notes\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _fit(out, *extra, data="sleep.csv"):
    return main(["fit", "--data", str(data), "--formula", FORMULA, "--factor", "Subject", "--out", str(out),
                 *extra])


def _refused(capsys, *names):
    """The one error line, checked to name ``names`` and to come before any iteration was printed."""
    err = capsys.readouterr().err
    assert not [line for line in err.splitlines() if line.startswith("iter ")], err   # no fit was run
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("henderson: error: "), err
    for n in names:
        assert n in lines[0], lines[0]
    return lines[0]


def test_out_dot_is_refused_and_nothing_is_touched(project, capsys):
    before = _snapshot(project)
    assert _fit(".") == BAD_INPUT
    _refused(capsys, "sleep.csv", "an input of this job")
    assert _snapshot(project) == before


def test_out_data_folder_is_refused(project, capsys):
    before = _snapshot(project)
    assert _fit(project, data=project / "sleep.csv") == BAD_INPUT
    _refused(capsys, str(project), "sleep.csv")
    assert _snapshot(project) == before


def test_out_naming_the_data_file_is_refused(project, capsys):
    before = _snapshot(project)
    assert _fit("sleep.csv") == BAD_INPUT
    _refused(capsys, "sleep.csv", "is a file")
    assert _snapshot(project) == before


def test_folder_with_users_files_is_refused_and_listed(project, capsys):
    mine = project / "mine"
    mine.mkdir()
    for i in range(12):
        (mine / f"f{i:02d}.txt").write_text(str(i))
    before = _snapshot(project)
    assert _fit(mine) == BAD_INPUT
    line = _refused(capsys, "f00.txt", "f09.txt", "2 more (12 in all)", "did not write")
    assert "f10.txt" not in line                      # first ten names, then a count
    assert _snapshot(project) == before


def test_empty_folder_and_own_result_are_accepted_and_refit_replaces_only_own_files(project, capsys):
    out = project / "res"
    out.mkdir()                                       # a new empty folder is fine
    assert _fit(out, "-q") == 0
    assert {p.name for p in out.iterdir()} == RESULT
    assert set(read_manifest(out)["files"]) == RESULT - {".henderson-manifest.json"}
    inode = out.stat().st_ino
    assert _fit(out, "-q", "--method", "ML") == 0      # an earlier henderson result is replaced
    assert json.loads((out / "result.json").read_text())["method"] == "ML"
    assert out.stat().st_ino == inode                 # file by file, the folder itself stays
    assert {p.name for p in out.iterdir()} == RESULT
    (out / "mine.txt").write_text("keep")             # a user's file added to it: now refused
    before = _snapshot(project)
    assert _fit(out, "-q") == BAD_INPUT
    _refused(capsys, "mine.txt")
    assert _snapshot(project) == before


def test_stale_files_of_the_old_result_are_removed(project):
    out = project / "res"
    assert _fit(out, "-q") == 0
    assert main(["fit", "--data", "sleep.csv", "--formula", "Reaction ~ Days + (1|Days)", "--factor", "Days",
                 "--out", str(out), "-q"]) == 0
    names = {p.name for p in out.iterdir()}
    assert "random_effects_Days.csv" in names and "random_effects_Subject.csv" not in names


def test_data_inside_a_folder_henderson_wrote_is_never_replaced(project, capsys):
    assert main(["simulate", "--animals", "200", "--generations", "2", "--seed", "3", "--out", "sim", "-q"]) == 0
    before = _snapshot(project)
    code = main(["fit", "--data", "sim/data.csv", "--pedigree", "sim/pedigree.csv", "--formula", "y ~ 1 + (1|id)",
                 "--out", "sim", "-q"])
    assert code == BAD_INPUT
    _refused(capsys, "data.csv", "an input of this job")
    assert _snapshot(project) == before
    # a fit result is not a simulation: henderson will not replace one kind of its folders by another
    assert _fit("sim", "-q") == BAD_INPUT
    _refused(capsys, "simulation")
    assert _snapshot(project) == before


def test_job_file_inside_out_is_protected(project, capsys):
    job = write_toml(project / "job.toml", f'data = "{SLEEP}"\nformula = "{FORMULA}"\nfactors = ["Subject"]\n'
                                           'out = "."\n')
    before = _snapshot(project)
    assert main(["fit", str(job), "-q"]) == BAD_INPUT
    _refused(capsys, "job.toml")
    assert _snapshot(project) == before


def test_simulate_into_a_users_folder_is_refused(project, capsys):
    before = _snapshot(project)
    assert main(["simulate", "--animals", "100", "--generations", "2", "--out", ".", "-q"]) == BAD_INPUT
    _refused(capsys, "notes.txt")
    assert _snapshot(project) == before


def test_parent_that_is_a_file_is_refused_before_fitting(project, capsys):
    assert _fit(project / "notes.txt" / "res") == BAD_INPUT
    _refused(capsys, "notes.txt", "is a file")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes through chmod")
def test_read_only_parent_is_refused_before_fitting(project, capsys):
    ro = project / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        assert _fit(ro / "res") == BAD_INPUT
        _refused(capsys, "not writable")
    finally:
        ro.chmod(0o700)


def test_unwritable_location_is_refused_before_fitting(project, capsys):
    """Works as root too: /proc refuses new entries to everyone."""
    if not os.path.isdir("/proc/self"):
        pytest.skip("no /proc")
    assert _fit("/proc/henderson-results") == BAD_INPUT
    _refused(capsys, "/proc")


def test_users_file_appearing_during_the_fit_is_not_overwritten(project):
    out = project / "res"
    job = load_job(write_toml(project / "job.toml", f'data = "{SLEEP}"\nformula = "{FORMULA}"\n'
                                                    'factors = ["Subject"]\nout = "res"\n'))

    def user_writes(row):
        if row["iteration"] == 1:
            out.mkdir()
            (out / "summary.txt").write_text("the user's summary")
    row = run_job(job, callback=user_writes)
    assert row["exit_code"] == BAD_INPUT and "summary.txt" in row["error"]
    assert [p.name for p in out.iterdir()] == ["summary.txt"]
    assert (out / "summary.txt").read_text() == "the user's summary"
    assert [p.name for p in project.iterdir() if p.name.startswith(".")] == []    # no partial left


@pytest.mark.parametrize("line, key", [("max_iter = true", "max_iter"), ("max_iter = -3", "max_iter"),
                                       ("max_iter = 0", "max_iter"), ("tol = -1", "tol"), ("tol = 0", "tol"),
                                       ("tol = nan", "tol"), ("tol = inf", "tol"), ("em_start = -1", "em_start"),
                                       ("em_start = false", "em_start")])
def test_bad_max_iter_tol_in_job_file_exit_2(tmp_path, capsys, line, key):
    job = write_toml(tmp_path / "job.toml", f'data = "{SLEEP}"\nformula = "{FORMULA}"\n{line}\n')
    assert main(["fit", str(job), "-q"]) == BAD_INPUT
    err = _refused(capsys, f"'{key}'", "job.toml")
    assert "must be" in err


def test_good_max_iter_tol_accepted(tmp_path):
    job = load_job(write_toml(tmp_path / "job.toml", f'data = "{SLEEP}"\nformula = "{FORMULA}"\n'
                                                     'max_iter = 5\ntol = 1\nem_start = 0\n'))
    assert (job["max_iter"], job["tol"], job["em_start"]) == (5, 1.0, 0)


@pytest.mark.parametrize("flag, value", [("--max-iter", "-3"), ("--max-iter", "0"), ("--max-iter", "true"),
                                         ("--max-iter", "2.5"), ("--tol", "-1"), ("--tol", "0"), ("--tol", "nan")])
def test_bad_max_iter_tol_flags_exit_2(tmp_path, capsys, flag, value):
    with pytest.raises(SystemExit) as exc:
        main(["fit", "--data", str(SLEEP), "--formula", FORMULA, flag, value, "--out", str(tmp_path / "o")])
    assert exc.value.code == BAD_INPUT
    err = capsys.readouterr().err
    assert f"argument {flag}" in err and "must be" in err
    assert not (tmp_path / "o").exists()

