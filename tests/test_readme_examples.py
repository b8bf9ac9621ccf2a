"""Every example of README.md runs as written: the ```python blocks in order in one namespace, and each
```toml block with the command its first line names ("# milk.toml, run with: henderson fit milk.toml"),
through ``python -m henderson.cli`` in a temporary folder holding the bundled milk.csv and pedCows.csv.

The batch example (five fits in a subprocess) runs with the slow tests.
"""
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import henderson as hd

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
BUNDLED = ("milk.csv", "pedCows.csv")
COMMAND = re.compile(r"#\s*(\S+?),\s*run with:\s*henderson\s+(.+)")


def blocks(lang: str) -> list[str]:
    """The fenced code blocks of README.md written as ```<lang>."""
    return re.findall(rf"^```{lang}\n(.*?)^```", README, re.S | re.M)


def slow_block(code: str) -> bool:
    return "[grid]" in code


def run_python(codes: list[str], folder: Path) -> dict:
    """exec the blocks in order in one namespace with ``folder`` as the working directory."""
    ns = {"__name__": "readme"}
    cwd = Path.cwd()
    os.chdir(folder)
    try:
        for i, code in enumerate(codes):
            exec(compile(code, f"README.md python block {i + 1}", "exec"), ns)
    finally:
        os.chdir(cwd)
    return ns


def run_toml(code: str, folder: Path) -> subprocess.CompletedProcess:
    """Write the block to the file its first line names and run the command named there."""
    m = COMMAND.match(code)
    assert m, f"a toml example must start with '# <file>, run with: henderson ...': {code[:80]!r}"
    (folder / m.group(1)).write_text(code)
    for name in ("milk", "pedCows"):
        shutil.copy(hd.datasets.path(name), folder)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "henderson.cli", *m.group(2).split()], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=600)


def test_readme_has_the_examples():
    assert len(blocks("python")) >= 3 and len(blocks("toml")) >= 2
    batch = next(b for b in blocks("toml") if "[grid]" in b)
    for table in ("[defaults]", "[[job]]", "[grid]", "[grid.job]"):
        assert table in batch, table


def test_python_examples(tmp_path):
    ns = run_python(blocks("python"), tmp_path)
    assert ns["r"].converged and "ebv" in ns["r"].random_effects["id"].columns
    assert ns["insteval"]["service"].dtype != "int64"  # a factor, as in lme4
    assert list(tmp_path.iterdir()) == []  # the examples write nothing into the working directory


def test_job_file_example(tmp_path):
    job = next(b for b in blocks("toml") if not slow_block(b))
    proc = run_toml(job, tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "results" / "milk"
    assert (out / "summary.txt").read_text() in proc.stdout
    assert (out / "random_effects_id.csv").exists()


@pytest.mark.slow
@pytest.mark.parametrize("i", range(len(blocks("toml"))))
def test_all_toml_examples(tmp_path, i):
    code = blocks("toml")[i]
    job = tomllib.loads(code)   # every example is valid TOML
    theirs = [job[k] for k in ("data", "pedigree", "genotypes") if k in job and job[k] not in BUNDLED]
    if theirs:   # the maternal and genomic examples name the user's files (tested in tests/cli)
        pytest.skip(f"the example runs on the user's files {theirs}")
    proc = run_toml(code, tmp_path)
    assert proc.returncode == 0, proc.stderr
    if "[grid]" in code:
        summary = (tmp_path / "results" / "batch" / "summary.csv").read_text()
        for name in ("milk-first-lactation", "fat-herd_random", "fat-herd_fixed", "prot-herd_random",
                     "prot-herd_fixed"):
            assert name in summary, name


def test_make_demo(tmp_path, capsys):
    """`make demo` (python -m henderson.demo): the milk animal model through the CLI, with h2 on screen."""
    from henderson.demo import main
    assert main([str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert "Heritability: h2 = id / (id + herd + Residual)" in out
    assert (tmp_path / "demo" / "random_effects_id.csv").exists()


def test_demo_never_overwrites_a_users_file(tmp_path):
    """A file named like the demo's job file that the demo did not write is left alone (exit 2)."""
    from henderson.demo import main
    mine = tmp_path / "demo.toml"
    mine.write_text("my own notes\n")
    assert main([str(tmp_path / "demo")]) == 2
    assert mine.read_text() == "my own notes\n"
    assert not (tmp_path / "demo").exists()
