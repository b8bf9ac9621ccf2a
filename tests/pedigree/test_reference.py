"""Published and reference-software values: R pedigreemm::inbreeding on pedCows, Mrode's textbook examples."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from henderson.pedigree import read_pedigree

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"


def test_pedcows_inbreeding_equals_pedigreemm():
    ped = read_pedigree(ROOT / "henderson" / "data" / "pedCows.csv")
    ref = pd.read_csv(DATA / "pedCows_inbreeding.csv", dtype={"id": str})
    assert ped.n == len(ref)
    assert (ref["F"] > 0).sum() > 10
    np.testing.assert_allclose(ped.inbreeding.loc[ref["id"]].to_numpy(), ref["F"].to_numpy(), rtol=0, atol=1e-10)


def load_mrode(name):
    expected = json.loads((DATA / name).read_text())
    ped = read_pedigree(DATA / expected["pedigree_file"], id="calf", sire="sire", dam="dam",
                        unknown=(expected["unknown_parent_code"],))
    return ped, expected


def test_mrode_chapter2_a_ainverse_inbreeding():
    ped, ex = load_mrode("mrode_2_expected.json")
    pos = ped.positions(ex["ids"])
    ainv, _ = ped.ainverse()
    ainv = ainv.toarray()[np.ix_(pos, pos)]
    tol = 0.5 * 10.0 ** -ex["decimals_published"] + 1e-12
    np.testing.assert_allclose(ainv, np.array(ex["Ainv"]), rtol=0, atol=tol)
    np.testing.assert_allclose(np.linalg.inv(ainv), np.array(ex["A"]), rtol=0, atol=tol)
    f = ped.inbreeding
    for animal, value in ex["inbreeding"].items():
        assert f[animal] == pytest.approx(value, abs=1e-15)
    np.testing.assert_allclose(ped.dii[pos], [ex["d"][k] for k in ex["ids"]], rtol=0, atol=tol)


def test_mrode_example_3_1_pedigree_has_no_inbreeding_and_solutions_reproduce():
    """Dense MME of Example 3.1 with our A^-1 reproduces the published solutions."""
    ped, ex = load_mrode("mrode_3_1_expected.json")
    assert (ped.inbreeding == 0).all()
    data = pd.read_csv(DATA / ex["data_file"])
    levels = list(ex["sex_solutions"])
    x = (data["sex"].to_numpy()[:, None] == np.array(levels)[None, :]).astype(float)
    z = np.zeros((len(data), ped.n))
    z[np.arange(len(data)), ped.positions(data["calf"])] = 1.0
    ainv, _ = ped.ainverse()
    y = data["wwg"].to_numpy()
    c = np.block([[x.T @ x, x.T @ z], [z.T @ x, z.T @ z + ex["alpha"] * ainv.toarray()]])
    sol = np.linalg.solve(c, np.concatenate([x.T @ y, z.T @ y]))
    tol = 10.0 ** -ex["decimals_published"]
    np.testing.assert_allclose(sol[:2], [ex["sex_solutions"][k] for k in levels], rtol=0, atol=tol)
    animals = sol[2:][ped.positions(list(ex["animal_solutions"]))]
    np.testing.assert_allclose(animals, list(ex["animal_solutions"].values()), rtol=0, atol=tol)
