"""The summary of an animal model (pedigree digest, heritability with its definition and SE) and of
models with many fixed effects (a digest instead of thousands of rows); lme4's layout otherwise."""
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import henderson as hd
from henderson.results.digest import DIGEST_ROWS, FULL_TABLE_MAX

DATA = Path(__file__).parent.parent / "data"


@pytest.fixture(scope="module")
def milk_model():
    milk = hd.datasets.load("milk")
    milk["milk"] /= milk["milk"].std()
    ped = hd.read_pedigree(hd.datasets.path("pedCows"))
    return hd.Model("milk ~ lact + np.log(dim) + (1|id) + (1|herd)", milk, relationships={"id": ped})


@pytest.fixture(scope="module")
def milk_fit(milk_model):
    return milk_model.fit()


def test_animal_model_summary_has_the_pedigree_digest(milk_fit):
    ped = pd.read_csv(hd.datasets.path("pedCows"), dtype=str)
    F = pd.read_csv(DATA / "pedCows_inbreeding.csv")["F"]          # pedigreemm::inbreeding
    founders = int((ped["sire"].isna() & ped["dam"].isna()).sum())
    with_records = hd.datasets.load("milk")["id"].nunique()
    text = milk_fit.summary()
    assert (f"Pedigree of id: {len(ped):,} animals ({founders:,} founders), {with_records:,} with records; "
            f"inbreeding F mean {F.mean():.4f}, max {F.max():.4f}") in text
    assert f"levels of id are the {len(ped):,} animals of the pedigree, not the records" in text


def test_animal_model_summary_has_heritability_with_se(milk_fit):
    vc = milk_fit.variance_components.set_index("group")["estimate"]
    h2 = vc["id"] / vc.sum()
    se = milk_fit.heritability()["std_error"].iloc[0]
    line = next(l for l in milk_fit.summary().splitlines() if l.startswith("Heritability"))
    assert line == f"Heritability: h2 = id / (id + herd + Residual) = {h2:.4f} (SE {se:.4f})"


def test_summary_at_given_variances_says_there_is_no_se(milk_model):
    r = milk_model.solve(variances={"id": 0.32, "herd": 0.20, "Residual": 0.48})
    assert "Heritability: h2 = id / (id + herd + Residual) = 0.3200 (variances given: no SE)" in r.summary()


def test_ratios_state_their_definition(milk_fit):
    assert milk_fit.heritability()["definition"].iloc[0] == "id / (id + herd + Residual)"
    assert milk_fit.repeatability(["id", "herd"])["definition"].iloc[0] == "(id + herd) / (id + herd + Residual)"
    assert milk_fit.icc("herd").loc["icc(herd)", "definition"] == "herd / (id + herd + Residual)"


def test_ebv_column_of_a_pedigree_term(milk_fit):
    re_id = milk_fit.random_effects["id"]
    assert list(re_id.columns[:2]) == ["(Intercept)", "ebv"]
    np.testing.assert_array_equal(re_id["ebv"], re_id["(Intercept)"])
    assert "ebv" not in milk_fit.random_effects["herd"].columns


def test_no_pedigree_no_animal_block(data):
    text = hd.fit("Reaction ~ Days + (Days|Subject)", data("sleepstudy")).summary()
    assert "Pedigree" not in text and "Heritability" not in text


def test_groups_separated_as_lme4_prints_them(data):
    r = hd.fit("diameter ~ 1 + (1|plate) + (1|sample)", data("Penicillin"))
    assert "Number of obs: 144, groups:  plate, 24; sample, 6" in r.summary()


def _many_levels(n_levels, n=1500, seed=1):
    rng = np.random.default_rng(seed)
    f = rng.integers(0, n_levels, n)
    g = rng.integers(0, 30, n)
    y = rng.normal(size=n) + 0.05 * f + rng.normal(size=30)[g]
    return pd.DataFrame({"y": y, "f": [f"L{i:03d}" for i in f], "g": g.astype(str)})


def _coefficient_rows(text):
    lines = text.splitlines()
    start = lines.index("Fixed effects:") + 2
    end = next(i for i in range(start, len(lines)) if lines[i] == "---")
    return [l.split()[0] for l in lines[start:end]]


def test_large_fixed_table_is_a_digest():
    r = hd.fit("y ~ f + (1|g)", _many_levels(300))
    fe = r.fixed_effects
    p = len(fe)
    text = r.summary()
    rows = _coefficient_rows(text)
    t = fe["t_value"].abs().drop("(Intercept)")
    expected = ["(Intercept)"] + [n for n in fe.index if n in set(t.nlargest(DIGEST_ROWS - 1).index)]
    assert rows == expected
    n_sig = int((fe["p_value"] < 0.05).sum())
    assert (f"... {p - DIGEST_ROWS:,} more coefficients not shown (above: the intercept and the largest |t|); "
            f"{n_sig:,} of {p:,} have p < 0.05") in text
    assert f"all {p:,} in r.fixed_effects (fixed_effects.csv from henderson fit)" in text
    assert len(text.splitlines()) < 60


def test_tables_up_to_the_limit_are_printed_whole():
    r = hd.fit("y ~ f + (1|g)", _many_levels(FULL_TABLE_MAX))
    assert len(r.fixed_effects) == FULL_TABLE_MAX
    assert _coefficient_rows(r.summary()) == list(r.fixed_effects.index)
    assert "not shown" not in r.summary()


def test_aliased_columns_listed_first_ten_and_a_count():
    d = _many_levels(15)
    d["f2"] = "M" + d["f"]      # the same factor under other labels: its 14 columns are aliased
    with pytest.warns(hd.AliasedColumnsWarning):
        r = hd.fit("y ~ f + f2 + (1|g)", d)
    line = next(l for l in r.summary().splitlines() if l.startswith("Aliased"))
    assert re.fullmatch(r"Aliased fixed-effect columns dropped: (f2ML\d{3}, ){9}f2ML\d{3} and 4 more", line), line


def test_cli_prints_the_digest_and_writes_the_whole_table(tmp_path, capsys):
    from henderson.cli import main
    d = _many_levels(300)
    d.to_csv(tmp_path / "data.csv", index=False)
    code = main(["fit", "--data", str(tmp_path / "data.csv"), "--formula", "y ~ f + (1|g)", "--factor", "g",
                 "--out", str(tmp_path / "out")])
    assert code == 0
    screen = capsys.readouterr().out
    table = pd.read_csv(tmp_path / "out" / "fixed_effects.csv")
    assert len(table) == 300 and len(_coefficient_rows(screen)) == DIGEST_ROWS
    assert "all 300 in r.fixed_effects (fixed_effects.csv from henderson fit)" in screen


def test_two_pedigree_terms_say_how_to_get_h2(milk_model):
    milk, ped = milk_model.data, milk_model.relationships["id"].pedigree
    r = hd.Model("milk ~ lact + (1|id) + (1|sire)", milk, relationships={"id": ped, "sire": ped}).solve(
        variances={"id": 0.3, "sire": 0.1, "Residual": 0.4})
    text = r.summary()
    assert f"Pedigree of sire: 6,547 animals (1,866 founders), {milk['sire'].nunique()} with records" in text
    assert "Heritability: not defined by default here: name the additive-genetic group: heritability(group=...)" \
        in text
