"""Mrode (2014), Linear Models for the Prediction of Animal Breeding Values, 3rd ed., at the book's
known variances, to the printed precision (3 decimals).

Example 4.1, repeatability model (fat yield; data p. 63, solutions p. 64): s2_a = 20, s2_pe = 12,
s2_e = 28; (1|id) with the pedigree and (1|pe), pe repeating id. The book constrains HYS 1 and 3 to
zero; the BLUPs, and the fitted fixed part X b of each record, do not depend on the constraint.

Example 7.1, maternal model (birth weight; data Table 7.1 p. 111, solutions p. 112): G0 = [[150, -40],
[-40, 90]] over (direct, maternal), s2_pe = 40 (the dam's), s2_e = 350; herd 1 set to zero, which is
``0 + pen + herd`` with herd 1 the reference. (The book's animal solutions, p. 113, were not in the
sources found; its herd and pen solutions are compared.)

Source of the tables: the book's pages as published at online.flipbuilder.com/ulbm/jtjq (pages 79, 80,
127, 128 of that copy).
"""
import numpy as np
import pandas as pd

import henderson as hd

PED_41 = pd.DataFrame({"id": list("12345678"), "sire": [None, None, None, "1", "3", "1", "3", "1"],
                       "dam": [None, None, None, "2", "2", "5", "4", "7"]})
DATA_41 = pd.DataFrame({
    "id": list("4455667788"), "parity": list("1212121212"), "hys": list("1314231324"),
    "fat": [201, 280, 150, 200, 160, 190, 180, 250, 285, 300.0]})
ANIMAL_41 = [10.148, -3.084, -7.063, 13.581, -18.207, -18.387, 9.328, 24.194]
PE_41 = [8.417, -7.146, -17.229, -1.390, 17.347]
FIXED_41 = {"parity1": 175.472, "parity2": 241.893, "hys1": 0.0, "hys2": 44.065, "hys3": 0.0, "hys4": 0.013}

DATA_71 = pd.DataFrame({
    "calf": [str(i) for i in range(5, 15)], "sire": list("1343133893"), "dam": list("2265627726"),
    "herd": list("1111222333"), "pen": list("1221122212"),
    "bw": [35.0, 20.0, 25.0, 40.0, 42.0, 22.0, 35.0, 34.0, 20.0, 40.0]})


def test_mrode_4_1_repeatability():
    ped = hd.Pedigree.from_frame(PED_41)
    data = DATA_41.assign(pe=DATA_41["id"])
    m = hd.Model("fat ~ 0 + parity + hys + (1|id) + (1|pe)", data, relationships={"id": ped})
    r = m.solve(variances={"id": 20.0, "pe": 12.0, "Residual": 28.0})
    a = r.random_effects["id"]["(Intercept)"].reindex(list("12345678")).to_numpy()
    np.testing.assert_allclose(a, ANIMAL_41, atol=6e-4)
    pe = r.random_effects["pe"]["(Intercept)"].reindex(list("45678")).to_numpy()
    np.testing.assert_allclose(pe, PE_41, atol=6e-4)
    book = np.array([FIXED_41["parity" + p] + FIXED_41["hys" + h] for p, h in zip(data.parity, data.hys)])
    Xb = m.design.X @ r.fixed_effects["estimate"].to_numpy()
    np.testing.assert_allclose(Xb, book, atol=1e-3)


def test_mrode_7_1_maternal():
    ped = hd.Pedigree.from_frame(pd.DataFrame({
        "id": [str(i) for i in range(1, 15)],
        "sire": [None] * 4 + list(DATA_71.sire), "dam": [None] * 4 + list(DATA_71.dam)}))
    data = DATA_71.rename(columns={"calf": "id"}).assign(pe=DATA_71["dam"])
    m = hd.Model("bw ~ 0 + pen + herd + (1|id) + (1|dam) + (1|pe)", data, relationships={"id": ped, "dam": ped},
                 correlated=[("id", "dam")])
    r = m.solve(variances={("id", "dam"): [[150.0, -40.0], [-40.0, 90.0]], "pe": 40.0, "Residual": 350.0})
    fe = r.fixed_effects["estimate"]
    np.testing.assert_allclose(fe[["pen1", "pen2", "herd2", "herd3"]], [34.540, 27.691, 3.386, 1.434], atol=6e-4)
    assert r.random_effects["id+dam"].shape[0] == 14
