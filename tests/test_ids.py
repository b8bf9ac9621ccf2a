"""One id normalizer (henderson.ids) for pedigrees, relationship levels and the command line."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import henderson as hd
from henderson.errors import DesignError
from henderson.formula.parse import parse_formula
from henderson.formula.random import random_term
from henderson.ids import normalize_ids

DATA = Path(__file__).parent / "data"
BIG = "10000000000000000000"  # 1e19 > 2**63: an int64 cast would overflow to -9223372036854775808


@pytest.mark.parametrize(
    "values, expected",
    [
        (np.array([1e19, -1e19]), [BIG, "-" + BIG]),
        ([1e19], [BIG]),
        (np.array([10**19], dtype=np.uint64), [BIG]),
        ([10**19, np.uint64(10**19)], [BIG, BIG]),
        (np.array([2.0**63, 2.0**63 - 1024]), ["9223372036854775808", "9223372036854774784"]),
        (np.array([np.iinfo(np.int64).max, np.iinfo(np.int64).min]), [str(2**63 - 1), str(-(2**63))]),
        (["6489.0", "6489.00", " 6489.0 ", "-12.0"], ["6489", "6489", "6489", "-12"]),
        (["007", " 007", "0", "6489.5", "1e+19", "a.0"], ["007", "007", "0", "6489.5", "1e+19", "a.0"]),
        (np.array([1.5, -0.25]), ["1.5", "-0.25"]),
        ([np.nan, None, pd.NA, pd.NaT, "x"], [None, None, None, None, "x"]),
        (np.array([np.nan, 3.0]), [None, "3"]),
        (np.array([np.inf, -np.inf]), ["inf", "-inf"]),
        (pd.Series(["6489.0", None], dtype="string"), ["6489", None]),
        (pd.Series([6489.0, "6489", 6489], dtype=object), ["6489"] * 3),
    ],
)
def test_normalize_ids_rules(values, expected):
    assert list(normalize_ids(values)) == expected


def test_pedigree_and_formula_share_the_normalizer():
    """The name the pedigree package exports and the one formula levels go through are henderson.ids'."""
    from henderson.formula import random as formula_random
    from henderson.pedigree import normalize_ids as pedigree_normalize_ids
    assert pedigree_normalize_ids is normalize_ids
    assert formula_random.normalize_ids is normalize_ids


def _term(data: pd.DataFrame, ids):
    spec = parse_formula("y ~ 1 + (1|id)").random[0]
    return random_term(spec, data, ids=ids)


def test_relationship_ids_beyond_int64_match_data_ids():
    """Float ids 1e19 (a user's K^-1 ids) match the data's text and unsigned ids: no int64 overflow."""
    data = pd.DataFrame({"y": [1.0, 2.0, 3.0], "id": [BIG, "5", BIG]})
    term = _term(data, np.array([5.0, 1e19]))
    assert list(term.levels) == ["5", BIG]
    np.testing.assert_array_equal(term.Z.toarray(), [[0, 1], [1, 0], [0, 1]])
    unsigned = _term(data.assign(id=np.array([10**19, 5, 10**19], dtype=np.uint64)), np.array([5.0, 1e19]))
    np.testing.assert_array_equal(unsigned.Z.toarray(), term.Z.toarray())


def test_relationship_level_text_written_as_float_matches():
    """'6489.0' (a float column with NaN written as text) is animal 6489; '007' is not animal 7."""
    data = pd.DataFrame({"y": [1.0, 2.0, 3.0], "id": ["6489.0", " 12", "6489"]})
    term = _term(data, [12, 6489])
    np.testing.assert_array_equal(term.Z.toarray(), [[0, 1], [1, 0], [0, 1]])
    with pytest.raises(DesignError, match=r"1 level\(s\) of 'id' are not in its relationship matrix.*007"):
        _term(pd.DataFrame({"y": [1.0, 2.0], "id": ["007", "12"]}), [7, 12])


def test_data_read_as_text_matches_a_pedigree_with_integer_ids(tmp_path):
    """Mrode's example 3.1 with the calf column written as floats (one calf missing) and read back
    with dtype=str gives the published solutions of the integer-id data."""
    data = pd.read_csv(DATA / "mrode_3_1_data.csv")
    ped = hd.read_pedigree(DATA / "mrode_3_1_pedigree.csv", id="calf", sire="sire", dam="dam")
    expected = json.loads((DATA / "mrode_3_1_expected.json").read_text())
    variances = {"calf": expected["sigma2_a"], "Residual": expected["sigma2_e"]}
    floats = pd.concat([data, pd.DataFrame({"sex": ["Male"], "wwg": [4.0]})], ignore_index=True)
    floats.to_csv(tmp_path / "data.csv", index=False)  # calf 4 is written "4.0" (a float column with NaN)
    text = pd.read_csv(tmp_path / "data.csv", dtype={"calf": str, "sex": str})
    assert text["calf"].iloc[0] == "4.0"
    text = text.dropna(subset=["calf"])
    fitted = {}
    for label, frame in (("integer", data), ("text", text)):
        r = hd.Model("wwg ~ 0 + sex + (1|calf)", frame, relationships={"calf": ped}).solve(variances=variances)
        fitted[label] = r.random_effects["calf"]["(Intercept)"]
    pd.testing.assert_series_equal(fitted["text"], fitted["integer"])
    for animal, value in expected["animal_solutions"].items():
        assert fitted["text"][animal] == pytest.approx(value, abs=6e-4)


def test_user_relationship_with_float_ids_matches_text_data():
    """A (K^-1, ids) pair whose ids are floats 1.0, 2.0, ... fits text ids '1', '2', ... as the integers do."""
    rng = np.random.default_rng(3)
    n = 12
    data = pd.DataFrame({"y": rng.normal(size=3 * n), "g": np.repeat(np.arange(1, n + 1), 3)})
    Kinv = sp.identity(n, format="csc") * 2.0
    variances = {"g": 0.5, "Residual": 1.0}
    by_int = hd.Model("y ~ 1 + (1|g)", data, relationships={"g": (Kinv, np.arange(1, n + 1))}).solve(variances)
    by_text = hd.Model("y ~ 1 + (1|g)", data.assign(g=data["g"].astype(str)),
                       relationships={"g": (Kinv, np.arange(1, n + 1, dtype=float))}).solve(variances)
    pd.testing.assert_frame_equal(by_text.random_effects["g"], by_int.random_effects["g"])
