"""henderson.sorting.sort_segment (the kernels' own in-place segment sort) against np.sort, and a
pedigree whose A^-1 has columns long enough for its heapsort branch against the tabular A."""

import warnings

import numpy as np
import pandas as pd
import pytest
from oracles import tabular_a

from henderson.errors import PedigreeWarning
from henderson.pedigree import Pedigree
from henderson.sorting import sort_segment

LENGTHS = [0, 1, 2, 5, 31, 32, 33, 34, 100, 1000]  # insertion sort up to 32, heapsort beyond


def f(keys):
    """The values carried along: a function of the key, so pairs stay recognisable."""
    return keys * 3.0 + 0.25


def random_keys(rng, size, n_distinct):
    return rng.integers(-n_distinct // 2, n_distinct // 2 + 1, size=size).astype(np.int64)


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("n_distinct", [3, 50, 10**9])  # many duplicates .. (almost) none
def test_segment_sorted_rest_untouched(length, n_distinct):
    rng = np.random.default_rng(length * 7 + n_distinct % 97)
    lo = 17
    hi = lo + length
    keys = random_keys(rng, hi + 23, n_distinct)
    values = f(keys)
    values[:lo] = -1.0          # outside the segment values are not f(keys): must stay as they are
    values[hi:] = -2.0
    k0, v0 = keys.copy(), values.copy()
    sort_segment(keys, values, lo, hi, True)
    assert np.array_equal(keys[lo:hi], np.sort(k0[lo:hi]))
    assert np.array_equal(keys[:lo], k0[:lo]) and np.array_equal(keys[hi:], k0[hi:])
    assert np.array_equal(values[lo:hi], f(keys[lo:hi]))
    assert np.array_equal(values[:lo], v0[:lo]) and np.array_equal(values[hi:], v0[hi:])


@pytest.mark.parametrize("length", LENGTHS)
def test_carry_moves_each_value_with_its_key(length):
    """values = original positions: every key lands with the value it started with, each position once."""
    rng = np.random.default_rng(length)
    lo, hi = 5, 5 + length
    keys = random_keys(rng, hi + 5, 20)
    pos = np.arange(keys.size, dtype=np.int64)
    k0 = keys.copy()
    sort_segment(keys, pos, lo, hi, True)
    assert np.array_equal(np.sort(pos[lo:hi]), np.arange(lo, hi))   # a permutation of the segment
    assert np.array_equal(k0[pos], keys)                               # each value next to its key
    assert np.array_equal(pos[:lo], np.arange(lo)) and np.array_equal(pos[hi:], np.arange(hi, keys.size))


@pytest.mark.parametrize("length", LENGTHS)
def test_no_carry_leaves_values(length):
    rng = np.random.default_rng(100 + length)
    lo, hi = 3, 3 + length
    keys = random_keys(rng, hi + 4, 10**6)
    values = rng.normal(size=keys.size)
    k0, v0 = keys.copy(), values.copy()
    sort_segment(keys, values, lo, hi, False)
    assert np.array_equal(keys[lo:hi], np.sort(k0[lo:hi]))
    assert np.array_equal(values, v0)


@pytest.mark.parametrize("length", [5, 32, 33, 1000])
def test_keys_as_their_own_values(length):
    """The kernels sort an index array with itself as (uncarried) values: sort_segment(a, a, ...)."""
    rng = np.random.default_rng(length + 1)
    a = random_keys(rng, length + 10, 40)
    a0 = a.copy()
    sort_segment(a, a, 4, 4 + length, False)
    assert np.array_equal(a[4:4 + length], np.sort(a0[4:4 + length]))
    assert np.array_equal(a[:4], a0[:4]) and np.array_equal(a[4 + length:], a0[4 + length:])


@pytest.mark.parametrize("length", [32, 33, 1000])
@pytest.mark.parametrize("kind", ["sorted", "reversed", "constant", "sawtooth"])
def test_structured_inputs(length, kind):
    base = {"sorted": np.arange(length), "reversed": np.arange(length)[::-1],
            "constant": np.full(length, 7), "sawtooth": np.arange(length) % 5}[kind].astype(np.int64)
    keys = np.r_[np.int64(99), base, np.int64(-99)]
    values = f(keys)
    sort_segment(keys, values, 1, 1 + length, True)
    assert np.array_equal(keys[1:-1], np.sort(base))
    assert keys[0] == 99 and keys[-1] == -99
    assert np.array_equal(values, f(keys))


# ----------------------------------------------------------------------------------------------
# A^-1 with columns of more than 32 entries (the heapsort branch in its CSC assembly)


def big_family_pedigree(seed=0):
    """Parents-first (sire, dam) positions: a sire with 200 progeny by many dams, a dam with 50
    progeny by several sires, inbred matings among the progeny; -1 unknown."""
    rng = np.random.default_rng(seed)
    sire, dam = [], []

    def add(s, d):
        sire.append(s)
        dam.append(d)
        return len(sire) - 1

    big_sire = add(-1, -1)
    big_dam = add(-1, -1)
    other_sires = [add(-1, -1) for _ in range(4)]
    dams = [add(-1, -1) for _ in range(60)]
    sons, daughters = [], []
    for k in range(150):  # the big sire's progeny by other dams (some unknown)
        child = add(big_sire, dams[k % 60] if k % 7 else -1)
        (sons if k % 2 else daughters).append(child)
    for k in range(50):   # the big dam's progeny: 50 by the big sire, then more by other sires below
        child = add(big_sire if k < 50 - 20 else rng.choice(other_sires), big_dam)
        (sons if k % 3 == 0 else daughters).append(child)
    for _ in range(20):   # half-sib and parent-offspring matings among the progeny
        add(int(rng.choice(sons)), int(rng.choice(daughters)))
        add(big_sire, int(rng.choice(daughters)))
    sire, dam = np.array(sire), np.array(dam)
    return sire, dam


def test_pedigree_with_large_families_against_tabular_a():
    sire, dam = big_family_pedigree()
    n = sire.size
    assert np.count_nonzero(sire == 0) >= 200 and np.count_nonzero(dam == 1) == 50
    names = np.array([f"an{k}" for k in range(n)], dtype=object)
    rows = np.random.default_rng(1).permutation(n)  # the table in shuffled order
    table = pd.DataFrame({"id": names[rows],
                          "sire": [names[s] if s >= 0 else None for s in sire[rows]],
                          "dam": [names[d] if d >= 0 else None for d in dam[rows]]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PedigreeWarning)
        ped = Pedigree.from_frame(table)
    ainv, index = ped.ainverse()
    pos = {x: k for k, x in enumerate(names)}
    perm = np.array([pos[x] for x in index])
    a = tabular_a(sire, dam)[np.ix_(perm, perm)]
    assert (np.diag(a) > 1).any()  # inbred animals present
    counts = np.diff(ainv.indptr)
    assert counts.max() > 200 and np.count_nonzero(counts > 32) >= 2
    for j in range(ainv.shape[0]):  # row indices sorted (strictly: duplicates summed) in every column
        assert np.all(np.diff(ainv.indices[ainv.indptr[j]:ainv.indptr[j + 1]]) > 0)
    np.testing.assert_allclose(ainv.toarray(), np.linalg.inv(a), rtol=0, atol=1e-10)
