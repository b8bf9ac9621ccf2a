"""normalize_ids, positions and prune."""

import warnings

import numpy as np
import pandas as pd
import pytest

from henderson.errors import PedigreeError, PedigreeWarning
from henderson.pedigree import Pedigree, normalize_ids


@pytest.mark.parametrize(
    "values, expected",
    [
        ([6489, 12], ["6489", "12"]),
        (np.array([6489.0, 12.0]), ["6489", "12"]),
        (np.array([6489.0, np.nan]), ["6489", None]),
        (pd.Series([6489, None], dtype="Int64"), ["6489", None]),
        ([" a1 ", "b", None], ["a1", "b", None]),
        ([6489, "6489", 6489.0, " 6489 ", np.int32(6489)], ["6489"] * 5),
        ([1.5, "x"], ["1.5", "x"]),
        (pd.Series(["7", "8 "], dtype="string"), ["7", "8"]),
        (pd.Index([3, 4]), ["3", "4"]),
    ],
)
def test_normalize_ids(values, expected):
    assert list(normalize_ids(values)) == expected


def test_positions_lists_every_unknown_id():
    ped = Pedigree.from_frame(pd.DataFrame({"id": [1, 2, 3], "sire": [0, 0, 1], "dam": [0, 0, 2]}))
    assert list(ped.positions([3.0, "1", 2])) == [2, 0, 1]
    with pytest.raises(PedigreeError, match=r"2 ids are not in the pedigree: '9', 'q'"):
        ped.positions([9, 1, "q", 9.0])


def test_prune_keeps_ancestors_and_their_relationships(oracle):
    random_pedigree, tabular_a = oracle
    table, order, sire, dam = random_pedigree(5, 60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PedigreeWarning)
        ped = Pedigree.from_frame(table)
    keep = list(order[-3:]) + [order[20]]
    sub = ped.prune(keep)
    # oracle: the ancestors of keep by walking parents, and A restricted to them
    wanted, stack = set(), [int(np.flatnonzero(order == k)[0]) for k in keep]
    while stack:
        i = stack.pop()
        if i not in wanted:
            wanted.add(i)
            stack += [p for p in (sire[i], dam[i]) if p >= 0]
    assert set(sub.ids) == {order[i] for i in wanted}
    a = tabular_a(sire, dam)
    idx = [int(np.flatnonzero(order == x)[0]) for x in sub.ids]
    ainv, _ = sub.ainverse()
    np.testing.assert_allclose(ainv.toarray(), np.linalg.inv(a[np.ix_(idx, idx)]), rtol=0, atol=1e-10)
    pos = np.arange(sub.n)
    assert np.all(sub.sire < pos) and np.all(sub.dam < pos)
    with pytest.raises(PedigreeError, match="'nobody'"):
        ped.prune(["nobody"])
