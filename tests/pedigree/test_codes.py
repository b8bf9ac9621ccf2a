"""Unknown-parent codes: declared codes, and undeclared codes that must not become shared founders."""

import warnings

import numpy as np
import pandas as pd
import pytest

from henderson.errors import PedigreeError, PedigreeWarning
from henderson.pedigree import Pedigree, read_pedigree
from henderson.pedigree.codes import looks_like_code


def frame(rows):
    return pd.DataFrame(rows, columns=["id", "sire", "dam"])


def herd(code, n=6):
    """Two founders and n offspring whose dam is recorded as ``code``."""
    return frame([("s", None, None), ("t", None, None)] + [(f"k{i}", "s" if i % 2 else "t", code) for i in range(n)])


@pytest.mark.parametrize("code", ["UNKNOWN", "-", "*", "000", "00", "-9", "N/A", "missing", "none", "?"])
def test_undeclared_code_shared_by_animals_is_an_error(code):
    with pytest.raises(PedigreeError) as err:
        Pedigree.from_frame(herd(code))
    msg = str(err.value)
    assert repr(code) in msg and "(6 animals)" in msg
    assert "unknown=" in msg and "--unknown-parent" in msg and "parents_not_listed='founders'" in msg


def test_code_in_both_parent_columns_is_reported_as_a_code_not_as_a_sire_used_as_dam():
    rows = [("a", "UNKNOWN", "UNKNOWN"), ("b", "UNKNOWN", "UNKNOWN"), ("c", "a", "b")]
    with pytest.raises(PedigreeError, match=r"'UNKNOWN' \(2 animals\) are never listed"):
        Pedigree.from_frame(frame(rows))
    assert Pedigree.from_frame(frame(rows), unknown=["UNKNOWN"]).n == 3


@pytest.mark.parametrize("code", ["UNKNOWN", "-", "00"])
def test_declared_code_is_unknown(code):
    ped = Pedigree.from_frame(herd(code), unknown=["0", code])
    assert ped.n == 8 and np.all(ped.dam == -1)
    np.testing.assert_array_equal(ped.inbreeding.to_numpy(), 0.0)


def test_accepted_unlisted_parents_become_founders_silently():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ped = Pedigree.from_frame(herd("-"), parents_not_listed="founders")
    assert list(ped.added_founders) == ["-"] and ped.n == 9
    a = np.linalg.inv(ped.ainverse()[0].toarray())
    k = ped.positions(["k0", "k2"])
    assert a[k[0], k[1]] == pytest.approx(0.5)  # half sibs through the shared founder, as asked


def test_numeric_zero_read_as_float_is_an_error_when_zero_is_not_declared(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("id,sire,dam\n1,,\n2,,\n3,1,0\n4,1,0\n5,3,-9\n")
    df = pd.read_csv(path)  # sire float with NaN, dam int with 0
    df["dam"] = df["dam"].astype(float)
    with pytest.raises(PedigreeError, match=r"'0' \(2 animals\)"):
        Pedigree.from_frame(df, unknown=["-9"])
    ped = Pedigree.from_frame(df, unknown=["-9", "0"])
    assert ped.n == 5 and np.all(ped.dam == -1)
    assert Pedigree.from_frame(df, unknown=[-9, 0.0]).n == 5  # codes compare as ids do


def test_text_float_ids_match_integer_ids_and_zero_point_zero_is_the_code_zero(tmp_path):
    path = tmp_path / "p.csv"  # what pandas writes for float parent columns with NaN
    path.write_text("id,sire,dam\n1,,\n2,,\n3,1.0,2.0\n4,3.0,2.0\n5,0.0,0.0\n")
    ped = read_pedigree(path)
    assert ped.n == 5 and len(ped.added_founders) == 0
    assert ped.inbreeding["4"] == pytest.approx(0.25)


def test_legitimate_unlisted_parents_keep_being_added_with_a_warning():
    rows = [(f"k{i}", f"bull{i % 3}", f"cow{i}") for i in range(9)] + [("x", "0000123", None), ("y", "0000123", "")]
    with pytest.warns(PedigreeWarning, match=r"13 parents are not listed as animals and were added as founders"):
        ped = Pedigree.from_frame(frame(rows))
    assert ped.n == 11 + 13


def test_code_like_parent_of_one_animal_is_a_founder():
    """A founder parent of a single animal adds no relationship, so it is added (with the warning)."""
    with pytest.warns(PedigreeWarning, match=r"1 parents .*'-'"):
        ped = Pedigree.from_frame(herd("-", n=1))
    assert ped.n == 4


def test_code_like_value_listed_as_animal_is_an_animal():
    rows = [("-", None, None), ("b", None, None), ("c", "-", "b"), ("d", "-", "b")]
    ped = Pedigree.from_frame(frame(rows))
    assert ped.inbreeding.index.tolist() == ["-", "b", "c", "d"]


@pytest.mark.parametrize("name, expected", [
    ("-", True), ("--", True), ("*", True), ("?", True), ("0.0", True), ("000", True), ("-0", True),
    ("-1", True), ("UNKNOWN", True), ("Unk", True), ("n/a", True), ("#N/A", True), ("NULL", True),
    ("007", False), ("100", False), ("0.5", False), ("A-1", False), ("bull7", False), ("NA12", False),
    ("x", False), ("DE0123", False),
])
def test_looks_like_code(name, expected):
    assert looks_like_code(name) is expected


def test_empty_cells_stay_unknown_with_declared_codes():
    rows = [("1", "-9", ""), ("2", "", "-9"), ("3", "1", "2"), ("4", "1", None)]
    ped = Pedigree.from_frame(frame(rows), unknown=["-9"])
    assert ped.n == 4 and len(ped.added_founders) == 0


def test_missing_keyword_is_deprecated_but_works():
    rows = [("1", "-9", "-9"), ("2", "-9", "-9"), ("3", "1", "2")]
    with pytest.warns(DeprecationWarning, match="unknown="):
        ped = Pedigree.from_frame(frame(rows), missing=("-9",))
    assert ped.n == 3
    with pytest.raises(TypeError, match="unknown= only"):
        Pedigree.from_frame(frame(rows), missing=("-9",), unknown=("-9",))


def test_bad_option_values():
    with pytest.raises(ValueError, match="parents_not_listed"):
        Pedigree.from_frame(herd("-"), parents_not_listed="yes")


def test_read_pedigree_whitespace_and_headerless(tmp_path):
    path = tmp_path / "ped.txt"
    path.write_text("  10  0 0 1990\n20 0  0 1991\n\t30 10 20 1999\n40 30 20 2001  \n")
    ped = read_pedigree(path, id=0, sire=1, dam=2, sep="whitespace", header=None)
    assert ped.inbreeding["40"] == pytest.approx(0.25)
    assert ped.n == 4


@pytest.mark.parametrize("sep", ["tab", r"\t", "\t"])
def test_read_pedigree_tab_separated(tmp_path, sep):
    path = tmp_path / "ped.tsv"
    path.write_text("id\tsire\tdam\n1\t0\t0\n2\t0\t0\n3\t1\t2\n4\t3\t2\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_pedigree(path, sep=sep).inbreeding["4"] == pytest.approx(0.25)
