"""Inbreeding, d_i, A^-1 and log|A| against the dense tabular-method oracle on random pedigrees."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from henderson.errors import PedigreeWarning
from henderson.pedigree import Pedigree


def build(table, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PedigreeWarning)
        return Pedigree.from_frame(table, **kw)


def oracle_in_ped_order(ped, order, sire, dam, tabular_a):
    a = tabular_a(sire, dam)
    pos = {name: k for k, name in enumerate(order)}
    perm = np.array([pos[x] for x in ped.ids])
    return a[np.ix_(perm, perm)]


def check_against_oracle(ped, a):
    ainv, index = ped.ainverse()
    assert list(index) == list(ped.ids)
    assert ainv.format == "csc"
    np.testing.assert_allclose(ainv.toarray(), np.linalg.inv(a), rtol=0, atol=1e-10)
    np.testing.assert_allclose(ped.inbreeding.to_numpy(), np.diag(a) - 1.0, rtol=0, atol=1e-10)
    sign, logdet = np.linalg.slogdet(a)
    assert sign == 1.0
    assert ped.logdet_a() == pytest.approx(logdet, abs=1e-10)
    # d_i: A = L D L' with L unit lower triangular, i.e. the pivots of an LDL' without pivoting
    chol = np.linalg.cholesky(a)
    np.testing.assert_allclose(ped.dii, np.diag(chol) ** 2, rtol=0, atol=1e-10)


@pytest.mark.parametrize("seed", range(6))
def test_random_pedigrees_match_tabular_oracle(seed, oracle):
    random_pedigree, tabular_a = oracle
    table, order, sire, dam = random_pedigree(seed, 60)
    ped = build(table)
    a = oracle_in_ped_order(ped, order, sire, dam, tabular_a)
    assert (np.diag(a) > 1).any(), "the random pedigree should contain inbred animals"
    check_against_oracle(ped, a)


def test_integer_ids_and_zero_code(oracle):
    random_pedigree, tabular_a = oracle
    table, order, sire, dam = random_pedigree(11, 50, int_ids=True)
    assert table["id"].dtype.kind == "i"
    ped = build(table)
    check_against_oracle(ped, oracle_in_ped_order(ped, order, sire, dam, tabular_a))


def test_heavily_inbred_lines(oracle):
    """Repeated full-sib matings: F follows 0, 1/4, 3/8, 1/2, 0.59375 ... (Wright)."""
    _, tabular_a = oracle
    rows = [("m0", None, None), ("f0", None, None)]
    for g in range(1, 9):
        rows += [(f"m{g}", f"m{g-1}", f"f{g-1}"), (f"f{g}", f"m{g-1}", f"f{g-1}")]
    ped = build(pd.DataFrame(rows[::-1], columns=["id", "sire", "dam"]))
    wright = [0.0, 0.0]
    for _ in range(8):
        wright.append(0.25 + 0.5 * wright[-1] + 0.25 * wright[-2])
    f = ped.inbreeding
    for g in range(9):
        assert f[f"m{g}"] == pytest.approx(wright[g], abs=1e-12)
    order = [r[0] for r in rows]
    pos = {x: k for k, x in enumerate(order)}
    s = [pos.get(r[1], -1) for r in rows]
    d = [pos.get(r[2], -1) for r in rows]
    check_against_oracle(ped, oracle_in_ped_order(ped, np.array(order, object), s, d, tabular_a))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 45), p_unknown=st.sampled_from([0.0, 0.1, 0.4]))
def test_property_ainverse_is_inverse_of_tabular_a(oracle, seed, n, p_unknown):
    random_pedigree, tabular_a = oracle
    table, order, sire, dam = random_pedigree(seed, n, p_unknown=p_unknown)
    ped = build(table)
    check_against_oracle(ped, oracle_in_ped_order(ped, order, sire, dam, tabular_a))
