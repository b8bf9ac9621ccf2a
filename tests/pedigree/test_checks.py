"""Every pedigree inconsistency is raised (or warned) with the animals named."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from henderson.errors import PedigreeError, PedigreeWarning
from henderson.pedigree import Pedigree, read_pedigree


def frame(rows):
    return pd.DataFrame(rows, columns=["id", "sire", "dam"])


def test_conflicting_duplicate_names_the_animal():
    rows = [("a", None, None), ("b", None, None), ("c", "a", "b"), ("c", "a", None)]
    with pytest.raises(PedigreeError, match=r"listed twice with different parents: 'c'"):
        Pedigree.from_frame(frame(rows))


def test_identical_duplicate_is_dropped_with_warning():
    rows = [("a", None, None), ("b", "0", ""), ("c", "a", "b"), ("c", "a", "b"), ("b", "NA", None)]
    with pytest.warns(PedigreeWarning, match=r"2 animals: 'b', 'c'"):
        ped = Pedigree.from_frame(frame(rows))
    assert sorted(ped.ids) == ["a", "b", "c"]
    assert ped.n == 3


def test_loop_is_reported_as_a_path():
    rows = [("a", "b", None), ("b", "c", None), ("c", "a", None), ("d", None, None)]
    with pytest.raises(PedigreeError, match=r"'a' is its own ancestor: a -> b -> c -> a"):
        Pedigree.from_frame(frame(rows))


def test_loop_through_dams_and_sires_far_from_the_root():
    rows = [("x", "y", "z"), ("y", None, None), ("z", "p", "q"), ("p", None, None), ("q", "p", "w"),
            ("w", "r", "z"), ("r", None, None)]
    with pytest.raises(PedigreeError, match=r"its own ancestor: z -> q -> w -> z"):
        Pedigree.from_frame(frame(rows), sire_as_dam="warn")


def test_own_parent():
    rows = [("a", None, None), ("b", "b", "a")]
    with pytest.raises(PedigreeError, match=r"own parent: 'b'"):
        Pedigree.from_frame(frame(rows))


def test_sire_used_as_dam_error_and_warn():
    rows = [("a", None, None), ("b", None, None), ("c", "a", "b"), ("d", "b", "a")]
    with pytest.raises(PedigreeError, match=r"both as sire and as dam: 'a', 'b'"):
        Pedigree.from_frame(frame(rows))
    with pytest.warns(PedigreeWarning, match=r"both as sire and as dam: 'a', 'b'"):
        ped = Pedigree.from_frame(frame(rows), sire_as_dam="warn")
    assert ped.n == 4
    with pytest.raises(ValueError, match="sire_as_dam"):
        Pedigree.from_frame(frame(rows), sire_as_dam="ignore")


def test_unlisted_parents_are_added_as_founders():
    rows = [("c", "s1", "d1"), ("e", "s1", "d2"), ("f", "c", None)]
    with pytest.warns(PedigreeWarning, match=r"3 parents are not listed as animals .*: 's1', 'd1', 'd2'"):
        ped = Pedigree.from_frame(frame(rows), sire_as_dam="warn")
    assert sorted(ped.added_founders) == ["d1", "d2", "s1"]
    assert ped.n == 6
    pos = ped.positions(["s1", "d1", "d2"])
    assert np.all(ped.sire[pos] == -1) and np.all(ped.dam[pos] == -1)


def test_many_added_founders_message_is_truncated():
    rows = [(f"k{i}", f"s{i}", None) for i in range(30)]
    with pytest.warns(PedigreeWarning, match=r"30 parents .*'s9', \.\.\. \(30 in all\)"):
        Pedigree.from_frame(frame(rows))


def test_missing_id_names_the_row():
    df = pd.DataFrame({"id": ["a", None, "c"], "sire": [None, "a", "a"], "dam": [None, None, None]},
                      index=[10, 11, 12])
    with pytest.raises(PedigreeError, match=r"rows '11' have a missing id"):
        Pedigree.from_frame(df)


def test_unknown_column_names_the_column():
    with pytest.raises(PedigreeError, match=r"sire column 'father'"):
        Pedigree.from_frame(frame([("a", None, None)]), sire="father")


def test_custom_missing_codes():
    rows = [("1", "-9", "-9"), ("2", "-9", "-9"), ("3", "1", "2"), ("0", "1", "-9")]
    ped = Pedigree.from_frame(frame(rows), unknown=("-9",))
    assert ped.n == 4  # "0" is an animal here, not an unknown parent
    assert ped.inbreeding.index.tolist() == ["1", "2", "3", "0"]


def test_parents_precede_offspring_and_object_is_immutable():
    rows = [("g", "e", "f"), ("e", "a", "b"), ("f", "c", "d"), ("a", None, None), ("b", None, None),
            ("c", None, None), ("d", None, None)]
    ped = Pedigree.from_frame(frame(rows), sire_as_dam="warn")
    pos = np.arange(ped.n)
    assert np.all(ped.sire < pos) and np.all(ped.dam < pos)
    assert list(ped.ids) == ["a", "b", "c", "d", "e", "f", "g"]  # by generation, input order within
    with pytest.raises(dataclasses.FrozenInstanceError):
        ped.ids = ped.ids[::-1]
    with pytest.raises(ValueError):
        ped.sire[0] = 3
    with pytest.raises(PedigreeError, match="parents before"):
        Pedigree(ped.ids, ped.sire[::-1].copy(), ped.dam, ped.generation, ped.added_founders)


def test_read_pedigree_with_separator_and_int_float_ids(tmp_path):
    path = tmp_path / "ped.txt"
    path.write_text("animal;father;mother\n 6489 ;0;0\n7;0;0\n12;6489;7\n13;6489;12\n")
    ped = read_pedigree(path, id="animal", sire="father", dam="mother", sep=";", sire_as_dam="warn")
    assert ped.inbreeding["13"] == pytest.approx(0.25, abs=1e-15)
    assert list(ped.positions([6489.0, 13, " 7"])) == [ped.index.get_loc(x) for x in ["6489", "13", "7"]]


@pytest.mark.parametrize("seed", range(8))
def test_loop_detection_is_exact_on_random_pedigrees(seed, oracle):
    """Making an ancestor the offspring of its descendant must raise, with a true cycle in the message."""
    import re
    import warnings

    random_pedigree, _ = oracle
    table, order, sire, dam = random_pedigree(seed, 40, p_unknown=0.0)
    rng = np.random.default_rng(seed)
    young = int(rng.integers(30, 40))
    walk = young  # climb to some ancestor of `young`
    for _ in range(int(rng.integers(1, 4))):
        walk = sire[walk] if sire[walk] >= 0 and rng.random() < 0.5 else (dam[walk] if dam[walk] >= 0 else walk)
    if walk == young:
        walk = sire[young]
    table = table.copy()
    row = table.index[table["id"] == order[walk]][0]
    table.loc[row, "sire"] = order[young]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PedigreeWarning)
        with pytest.raises(PedigreeError, match="its own ancestor") as err:
            Pedigree.from_frame(table, sire_as_dam="warn")
    path = re.search(r"ancestor: (.*) \(each", str(err.value)).group(1).split(" -> ")
    assert path[0] == path[-1] and len(path) >= 3
    parents = {r.id: {r.sire, r.dam} for r in table.itertuples()}
    assert all(b in parents[a] for a, b in zip(path[:-1], path[1:]))


def test_pandas_default_read_floats_and_nan_equal_text_read(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("id,sire,dam\n1,,\n2,,\n3,1,2\n4,3,2\n5,1,4\n")
    a = Pedigree.from_frame(pd.read_csv(path))  # id int64, parents float64 with NaN
    b = read_pedigree(path)
    assert list(a.ids) == list(b.ids) == ["1", "2", "3", "4", "5"]
    np.testing.assert_array_equal(a.sire, b.sire)
    assert a.inbreeding["4"] == b.inbreeding["4"] == 0.25


def test_empty_and_single_animal():
    empty = Pedigree.from_frame(frame([]))
    assert empty.n == 0 and empty.ainverse()[0].shape == (0, 0) and empty.logdet_a() == 0.0
    one = Pedigree.from_frame(frame([("a", None, None)]))
    assert one.ainverse()[0].toarray().tolist() == [[1.0]] and one.inbreeding["a"] == 0.0


def test_direct_construction_copies_arrays():
    sire = np.array([-1, -1, 0])
    ped = Pedigree(np.array(["a", "b", "c"], object), sire, np.array([-1, -1, 1]), np.array([0, 0, 1]),
                   np.zeros(0, object))
    sire[2] = 1  # the caller's array stays writeable and does not change the pedigree
    assert ped.sire[2] == 0 and not ped.sire.flags.writeable
    assert ped.inbreeding.tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(PedigreeError, match="generation must exceed"):
        Pedigree(ped.ids, ped.sire, ped.dam, np.zeros(3, int), ped.added_founders)
