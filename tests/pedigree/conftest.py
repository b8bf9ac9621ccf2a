"""Oracles for the pedigree tests: random pedigrees and A by the tabular method (dense, O(n^2))."""

import numpy as np
import pandas as pd
import pytest
from oracles import tabular_a  # noqa: E402  (tests/ is on sys.path through tests/conftest.py)


def random_pedigree(seed, n, p_unknown=0.15, int_ids=False):
    """A shuffled pedigree table with string ids, sexes respected, full-sib and parent-offspring matings.

    Returns (table, order, sire, dam): table is what a user would give; order lists the ids in a
    parents-first order and sire/dam are positions in that order (-1 unknown), for the oracle.
    """
    rng = np.random.default_rng(seed)
    male = rng.random(n) < 0.5
    sire = np.full(n, -1)
    dam = np.full(n, -1)
    n0 = max(2, n // 6)
    male[0], male[1] = True, False
    for i in range(n0, n):
        males, females = np.flatnonzero(male[:i]), np.flatnonzero(~male[:i])
        r = rng.random()
        f = rng.choice(females) if females.size else -1
        if r < 0.2 and f >= 0 and sire[f] >= 0 and dam[f] >= 0:
            brothers = np.flatnonzero(male[:i] & (sire[:i] == sire[f]) & (dam[:i] == dam[f]))
            s = rng.choice(brothers) if brothers.size else sire[f]  # full-sib or sire-daughter mating
        elif r < 0.35 and f >= 0 and sire[f] >= 0:
            s = sire[f]  # parent-offspring mating
        else:
            s = rng.choice(males[-8:]) if males.size else -1
            f = rng.choice(females[-8:]) if females.size else -1
        sire[i] = s if rng.random() > p_unknown else -1
        dam[i] = f if rng.random() > p_unknown else -1
    labels = rng.permutation(n) + 100 if int_ids else np.array([f"x{k}" for k in rng.permutation(n)], object)
    codes = ["", "0", "NA", ".", None] if not int_ids else [0]
    def name(p):  # noqa: E306
        return labels[p] if p >= 0 else codes[rng.integers(len(codes))]
    rows = rng.permutation(n)
    table = pd.DataFrame({"id": [labels[i] for i in rows], "sire": [name(sire[i]) for i in rows],
                          "dam": [name(dam[i]) for i in rows]})
    order = np.array([str(x) for x in labels], dtype=object)
    return table, order, sire, dam


@pytest.fixture(scope="session")
def oracle():
    """(random_pedigree, tabular_a) for tests that need an independent A."""
    return random_pedigree, tabular_a
