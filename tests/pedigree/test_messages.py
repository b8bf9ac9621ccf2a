"""Messages that list ids show the first ten and a count, never thousands of ids."""

import warnings

import pandas as pd
import pytest

from henderson.errors import PedigreeError, PedigreeWarning
from henderson.ids import show_ids
from henderson.pedigree import Pedigree
from henderson.relationships import from_pedigree


def frame(rows):
    return pd.DataFrame(rows, columns=["id", "sire", "dam"])


def chain(n):
    return frame([(f"a{i}", f"a{i - 1}" if i else None, None) for i in range(n)])


def assert_short(message, total):
    assert len(message) < 1000, len(message)
    assert f"({total} in all)" in message or f"{total} animals" in message


def test_show_ids_cuts_the_list_and_long_ids():
    assert show_ids(["a", "b"]) == "'a', 'b'"
    text = show_ids([f"x{i}" for i in range(3000)])
    assert text.endswith("'x9', ... (3000 in all)") and "'x10'" not in text
    assert show_ids(["y" * 500]) == repr("y" * 37 + "...")
    assert show_ids(["-", "*"], ["3 animals", "2 animals"]) == "'-' (3 animals), '*' (2 animals)"


def test_ids_not_in_the_pedigree():
    ped = Pedigree.from_frame(chain(5))
    with pytest.raises(PedigreeError) as err:
        ped.positions([f"nobody{i}" for i in range(2000)])
    assert_short(str(err.value), 2000)
    assert str(err.value).startswith("2000 ids are not in the pedigree: 'nobody0'")
    with pytest.raises(PedigreeError) as err:
        from_pedigree(ped, [f"q{i}" for i in range(2000)])
    assert_short(str(err.value), 2000)


def test_long_loop_path_is_cut():
    df = chain(600)
    df.loc[0, "sire"] = "a599"
    with pytest.raises(PedigreeError) as err:
        Pedigree.from_frame(df)
    assert_short(str(err.value), 600)
    assert "-> ... ->" in str(err.value)


def test_many_conflicts_self_parents_duplicates_and_sire_as_dam():
    n = 3000
    conflicts = frame([(f"c{i}", None, None) for i in range(n)] + [(f"c{i}", f"c{i + 1}", None) for i in range(n)])
    with pytest.raises(PedigreeError) as err:
        Pedigree.from_frame(conflicts)
    assert_short(str(err.value), n)
    with pytest.raises(PedigreeError) as err:
        Pedigree.from_frame(frame([(f"o{i}", f"o{i}", None) for i in range(n)]))
    assert_short(str(err.value), n)
    rows = [(f"p{i}", None, None) for i in range(n)] + [(f"k{i}", f"p{i}", f"p{(i + 1) % n}") for i in range(n)]
    with pytest.raises(PedigreeError) as err:
        Pedigree.from_frame(frame(rows))
    assert_short(str(err.value), n)
    with pytest.warns(PedigreeWarning) as caught:
        Pedigree.from_frame(frame(rows[:n] * 2))
    assert_short(str(caught[0].message), n)


def test_many_code_like_values_and_wide_tables():
    rows = [(f"k{i}{j}", f"-{i}", None) for i in range(50) for j in range(2)]
    with pytest.raises(PedigreeError) as err:
        Pedigree.from_frame(frame(rows))
    assert_short(str(err.value), 50)
    wide = pd.DataFrame({f"snp{i}": [0] for i in range(5000)})
    with pytest.raises(PedigreeError) as err:
        Pedigree.from_frame(wide)
    assert_short(str(err.value), 5000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Pedigree.from_frame(frame([(f"k{i}", f"s{i}", None) for i in range(5000)]))
    assert_short(str(caught[0].message), 5000)
