"""Plant and fish pedigrees: selfing and hermaphrodite parents with sire_as_dam="allow", exact F and A^-1."""

import warnings

import numpy as np
import pandas as pd
import pytest

from henderson.errors import PedigreeError, PedigreeWarning
from henderson.pedigree import Pedigree


def plant_pedigree(seed, n):
    """Shuffled table of a monoecious population: selfing (sire == dam), any individual as either parent.

    Returns (table, order, sire, dam) with sire/dam as positions in the parents-first ``order``.
    """
    rng = np.random.default_rng(seed)
    sire, dam = np.full(n, -1), np.full(n, -1)
    for i in range(max(3, n // 8), n):
        s = int(rng.integers(max(0, i - 10), i))
        r = rng.random()
        d = s if r < 0.4 else (int(rng.integers(max(0, i - 10), i)) if r < 0.9 else -1)
        sire[i], dam[i] = s, d
    labels = np.array([f"p{k}" for k in rng.permutation(n)], object)
    rows = rng.permutation(n)
    table = pd.DataFrame({"id": labels[rows], "sire": [labels[sire[i]] if sire[i] >= 0 else "0" for i in rows],
                          "dam": [labels[dam[i]] if dam[i] >= 0 else "0" for i in rows]})
    return table, labels, sire, dam


@pytest.mark.parametrize("seed", range(6))
def test_selfing_inbreeding_and_ainverse_equal_the_tabular_a(seed, oracle):
    _, tabular_a = oracle
    table, order, sire, dam = plant_pedigree(seed, 70)
    assert np.sum(sire == dam) > 5 and np.sum((sire != dam) & (dam >= 0)) > 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "allow" is silent
        ped = Pedigree.from_frame(table, sire_as_dam="allow")
    a = tabular_a(sire, dam)
    idx = [int(np.flatnonzero(order == x)[0]) for x in ped.ids]
    a = a[np.ix_(idx, idx)]
    np.testing.assert_allclose(ped.inbreeding.to_numpy(), np.diag(a) - 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ped.ainverse()[0].toarray(), np.linalg.inv(a), rtol=0, atol=1e-9)
    assert ped.logdet_a() == pytest.approx(np.linalg.slogdet(a)[1], abs=1e-9)


def test_selfing_generations_follow_half_of_one_plus_f():
    rows = [("s0", "0", "0")] + [(f"s{k}", f"s{k - 1}", f"s{k - 1}") for k in range(1, 6)]
    ped = Pedigree.from_frame(pd.DataFrame(rows, columns=["id", "sire", "dam"]), sire_as_dam="allow")
    f = ped.inbreeding
    for k in range(1, 6):
        assert f[f"s{k}"] == pytest.approx(0.5 * (1.0 + f[f"s{k - 1}"]), abs=1e-15)
    assert f["s5"] == pytest.approx(1 - 0.5**5, abs=1e-15)
    assert ped.dii[ped.positions(["s3"])[0]] == pytest.approx(0.5 * (1 - f["s2"]), abs=1e-15)


def test_selfing_is_an_error_by_default_that_names_the_option():
    rows = [("a", "0", "0"), ("b", "0", "0"), ("c", "a", "a"), ("d", "a", "b")]
    df = pd.DataFrame(rows, columns=["id", "sire", "dam"])
    with pytest.raises(PedigreeError, match=r"both as sire and as dam: 'a'; animals with sire == dam "
                                            r"\(selfing\): 'c'.*sire_as_dam='allow'.*--sire-as-dam allow"):
        Pedigree.from_frame(df)
    with pytest.warns(PedigreeWarning, match="selfing"):
        assert Pedigree.from_frame(df, sire_as_dam="warn").inbreeding["c"] == 0.5
