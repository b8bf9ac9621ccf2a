"""Pedigrees from real files through the command line: layout flags, unknown-parent codes, selfing, messages."""
import json

import numpy as np
import pandas as pd
import pytest
from conftest import MILK, MILK_FORMULA, PED, write_toml

import henderson as hd
from henderson.cli import main


@pytest.fixture(scope="module")
def api_milk():
    d = pd.read_csv(MILK, dtype={"id": str, "herd": str})
    d["milk"] = d["milk"] / d["milk"].std()
    d["herd"] = d["herd"].astype("category")
    return hd.fit(MILK_FORMULA, d, relationships={"id": hd.read_pedigree(PED)})


def _error(capsys):
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("henderson: error: ")]
    assert len(lines) == 1
    return lines[0]


def _loglik(out):
    return json.loads((out / "result.json").read_text())["loglik"]


def test_renumf90_pedigree_and_float_ids_equal_the_api(tmp_path, api_milk):
    """Headerless, blank-separated pedigree with a birth-year column first; data ids written as floats."""
    ped = pd.read_csv(PED, dtype=str, keep_default_na=False).replace("", "0")
    lines = [f"  {1990 + k % 7}\t{r.id}   {r.sire} {r.dam}" for k, r in enumerate(ped.itertuples())]
    (tmp_path / "ped.txt").write_text("\n".join(lines) + "\n")
    milk = pd.read_csv(MILK)
    milk["id"] = milk["id"].astype(float)
    milk.loc[len(milk)] = milk.iloc[0].copy()  # one record without id: the id column stays float on reading
    milk.loc[len(milk) - 1, ["id", "milk"]] = np.nan
    milk.to_csv(tmp_path / "milk.csv", index=False)
    assert (tmp_path / "milk.csv").read_text().splitlines()[1].startswith("6489.0,")
    out = tmp_path / "out"
    code = main(["fit", "--data", str(tmp_path / "milk.csv"), "--pedigree", str(tmp_path / "ped.txt"),
                 "--pedigree-sep", "whitespace", "--pedigree-header", "none", "--pedigree-columns", "2,3,4",
                 "--formula", MILK_FORMULA, "--scale", "milk", "--factor", "herd", "--out", str(out), "--quiet"])
    assert code == 0
    assert _loglik(out) == pytest.approx(api_milk.loglik, rel=1e-10)
    job = write_toml(tmp_path / "job.toml", f'data = "milk.csv"\npedigree = "ped.txt"\nformula = "{MILK_FORMULA}"\n'
                     'scale = ["milk"]\nfactors = ["herd"]\nout = "toml_out"\npedigree_sep = "whitespace"\n'
                     'pedigree_header = "none"\npedigree_columns = "2,3,4"\n')
    assert main(["fit", str(job), "--quiet"]) == 0
    assert _loglik(tmp_path / "toml_out") == pytest.approx(api_milk.loglik, rel=1e-10)


def _records(ids, sire, dam, rng):
    """Two records per animal, y = a + e with a = (a_s + a_d) / 2 + Mendelian sampling (h2 about 0.5)."""
    a = np.zeros(len(ids))
    for i in range(len(ids)):
        a[i] = 0.5 * sum(a[p] for p in (sire[i], dam[i]) if p >= 0) + rng.normal() * np.sqrt(0.5)
    return pd.DataFrame({"id": list(ids) * 2, "y": np.tile(a, 2) + rng.normal(size=2 * len(ids))})


@pytest.fixture
def coded(tmp_path):
    """A pedigree whose unknown parents are written '0' or '-', and records of its animals."""
    rng = np.random.default_rng(3)
    n = 150
    sire = [int(rng.integers(0, i)) if i >= 10 else -1 for i in range(n)]
    dam = [int(rng.integers(0, i)) if i >= 10 and rng.random() < 0.7 else -1 for i in range(n)]
    rows = [f"a{i},{f'a{sire[i]}' if sire[i] >= 0 else '0'},{f'a{dam[i]}' if dam[i] >= 0 else '-'}" for i in range(n)]
    (tmp_path / "ped.csv").write_text("id,sire,dam\n" + "\n".join(rows) + "\n")
    _records([f"a{i}" for i in range(n)], sire, dam, rng).to_csv(tmp_path / "d.csv", index=False)
    return tmp_path


def _coded_args(path, *extra):
    return ["fit", "--data", str(path / "d.csv"), "--pedigree", str(path / "ped.csv"), "--formula",
            "y ~ 1 + (1|id)", "--out", str(path / "out"), "--quiet", "--sire-as-dam", "allow", *extra]


def test_undeclared_code_is_an_error_naming_value_count_and_flag(coded, capsys):
    assert main(_coded_args(coded)) == 2
    line = _error(capsys)
    assert str(coded / "ped.csv") in line and "'-'" in line and "--unknown-parent" in line
    n_dash = sum(r.endswith(",-") for r in (coded / "ped.csv").read_text().splitlines())
    assert f"({n_dash} animals)" in line
    assert not (coded / "out").exists()


def test_unknown_parent_flags_and_toml_equal_the_api(coded, capsys):
    ped = hd.read_pedigree(coded / "ped.csv", unknown=["0", "-"], sire_as_dam="allow")
    api = hd.fit("y ~ 1 + (1|id)", pd.read_csv(coded / "d.csv"), relationships={"id": ped})
    assert main(_coded_args(coded, "--unknown-parent", "0", "--unknown-parent=-")) == 0
    assert _loglik(coded / "out") == pytest.approx(api.loglik, rel=1e-10)
    job = write_toml(coded / "job.toml", 'data = "d.csv"\npedigree = "ped.csv"\nformula = "y ~ 1 + (1|id)"\n'
                     'out = "toml_out"\npedigree_unknown = ["0", "-"]\npedigree_sire_as_dam = "allow"\n')
    assert main(["fit", str(job), "--quiet"]) == 0
    assert _loglik(coded / "toml_out") == pytest.approx(api.loglik, rel=1e-10)


def test_accepting_unlisted_parents_as_founders(coded):
    ped = hd.read_pedigree(coded / "ped.csv", sire_as_dam="allow", parents_not_listed="founders")
    assert list(ped.added_founders) == ["-"]
    api = hd.fit("y ~ 1 + (1|id)", pd.read_csv(coded / "d.csv"), relationships={"id": ped})
    assert main(_coded_args(coded, "--parents-not-listed", "founders")) == 0
    assert _loglik(coded / "out") == pytest.approx(api.loglik, rel=1e-10)


def test_selfing_needs_the_option(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = 150
    sire = [int(rng.integers(max(0, i - 20), i)) if i >= 10 else -1 for i in range(n)]
    dam = [s if rng.random() < 0.4 else int(rng.integers(max(0, i - 20), i)) if i >= 10 else -1 for i, s in
           enumerate(sire)]
    rows = [f"p{i},{f'p{sire[i]}' if sire[i] >= 0 else 0},{f'p{dam[i]}' if dam[i] >= 0 else 0}" for i in range(n)]
    (tmp_path / "ped.csv").write_text("id,sire,dam\n" + "\n".join(rows) + "\n")
    _records([f"p{i}" for i in range(n)], sire, dam, rng).to_csv(tmp_path / "d.csv", index=False)
    args = ["fit", "--data", str(tmp_path / "d.csv"), "--pedigree", str(tmp_path / "ped.csv"), "--formula",
            "y ~ 1 + (1|id)", "--out", str(tmp_path / "out"), "--quiet"]
    assert main(args) == 2
    assert "--sire-as-dam allow" in _error(capsys)
    ped = hd.read_pedigree(tmp_path / "ped.csv", sire_as_dam="allow")
    selfed = [i for i in range(n) if sire[i] == dam[i] >= 0]
    assert len(selfed) > 20
    np.testing.assert_allclose(ped.inbreeding[[f"p{i}" for i in selfed]],
                               0.5 * (1 + ped.inbreeding[[f"p{sire[i]}" for i in selfed]].to_numpy()), atol=1e-15)
    api = hd.fit("y ~ 1 + (1|id)", pd.read_csv(tmp_path / "d.csv"), relationships={"id": ped})
    assert main(args + ["--sire-as-dam", "allow"]) == 0
    assert _loglik(tmp_path / "out") == pytest.approx(api.loglik, rel=1e-10)


@pytest.mark.parametrize("text, sep, expected", [
    ("id sire dam\n1 0 0\n2 0 0\n3 1 2\n", None, "--pedigree-sep whitespace"),
    ("1,0,0\n2,0,0\n3,1,2\n", None, "--pedigree-header none"),
    ("1,0,0\n2,0,0\n3,1,2\n", "--pedigree-columns=1,2", "three distinct positions"),
    ("id sire dam\n1 0 0\n", "--pedigree-columns=1,2,3", "1 column(s) with separator ','"),
])
def test_layout_errors_say_which_flag_fixes_them(tmp_path, capsys, text, sep, expected):
    (tmp_path / "ped.txt").write_text(text)
    (tmp_path / "d.csv").write_text("id,y\n1,0.5\n2,0.1\n3,0.7\n")
    args = ["fit", "--data", str(tmp_path / "d.csv"), "--pedigree", str(tmp_path / "ped.txt"),
            "--formula", "y ~ 1 + (1|id)", "--quiet"] + ([sep] if sep else [])
    assert main(args) == 2
    line = _error(capsys)
    assert str(tmp_path / "ped.txt") in line and expected in line


def test_bad_option_value_in_job_file(tmp_path, capsys):
    (tmp_path / "ped.csv").write_text("id,sire,dam\n1,0,0\n")
    (tmp_path / "d.csv").write_text("id,y\n1,0.5\n")
    job = write_toml(tmp_path / "job.toml", 'data = "d.csv"\npedigree = "ped.csv"\nformula = "y ~ 1 + (1|id)"\n'
                     'pedigree_sire_as_dam = "maybe"\n')
    assert main(["fit", str(job), "--quiet"]) == 2
    assert "pedigree_sire_as_dam must be one of error, warn, allow; got 'maybe'" in _error(capsys)


def test_thousands_of_ids_missing_from_the_pedigree_give_a_short_line(tmp_path, capsys):
    (tmp_path / "ped.csv").write_text("id,sire,dam\n1,0,0\n2,0,0\n")
    pd.DataFrame({"id": np.arange(1, 4001), "y": np.arange(4000.0)}).to_csv(tmp_path / "d.csv", index=False)
    code = main(["fit", "--data", str(tmp_path / "d.csv"), "--pedigree", str(tmp_path / "ped.csv"),
                 "--formula", "y ~ 1 + (1|id)", "--quiet"])
    assert code == 2
    line = _error(capsys)
    assert len(line) < 600 and "3998 ids are not in the pedigree" in line and "(3998 in all)" in line
