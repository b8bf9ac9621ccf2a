"""The projected Newton finish over relative Cholesky factors (henderson/reml/polish.py).

Oracles: finite differences of the exact profiled gradient (the Gauss-Newton Hessian at an interior
optimum); the optimum L-BFGS-B reaches on a rank-deficient lme4 boundary design (d01, q = 3, rank 2),
which Newton steps from a perturbed start must reach again; a flat direction left out of the step.
"""
import json
from pathlib import Path

import numpy as np
import pandas as pd

import henderson as hd
from henderson.reml import cholesky, polish

HERE = Path(__file__).parents[1] / "reference" / "boundary"
REF = json.loads((HERE / "boundary.json").read_text())["designs"]
DATA = pd.read_csv(HERE / "designs.csv", dtype={"design": str, "g": str, "h": str})


def _fit(name):
    d = DATA[DATA.design == name].dropna(axis=1, how="all").reset_index(drop=True)
    return hd.fit(REF[name]["formula"], d, method="REML" if REF[name]["REML"] else "ML")


def test_hessian_at_an_interior_optimum_equals_finite_differences_of_the_gradient():
    f = _fit("d02")
    prof = cholesky.Profiled(f.model.objective("REML" if REF["d02"]["REML"] else "ML"))
    t = prof.stack(f.model.vm.relative_cholesky(f.theta, cholesky.RIDGE))
    H = polish.profiled_hessian(prof, t)
    h = 1e-5
    fd = np.array([(prof.evaluate(t + h * e)[1] - prof.evaluate(t - h * e)[1]) / (2 * h) for e in np.eye(len(t))])
    np.testing.assert_allclose(H, 0.5 * (fd + fd.T), rtol=0.05, atol=0.05 * np.abs(fd).max())


def test_newton_steps_reach_the_singular_optimum_from_a_perturbed_start():
    f = _fit("d01")
    assert f.singular
    prof = cholesky.Profiled(f.model.objective("REML" if REF["d01"]["REML"] else "ML"))
    t_opt = prof.stack(f.model.vm.relative_cholesky(f.theta, cholesky.RIDGE))
    best = prof.evaluate(t_opt)[0]
    start = t_opt + 0.02 * np.where(prof.diagonal & (t_opt < 1e-3), 0.0, 1.0)   # off the optimum, on its face
    assert prof.evaluate(start)[0] > best + 1e-3
    t, decrement, steps = polish.polish(prof, start, 1e-6)
    assert decrement <= 1e-6 and 1 <= steps <= polish.MAX_STEPS
    assert prof.evaluate(t)[0] <= best + 1e-6
    assert np.all(t[prof.diagonal] >= 0)


def test_flat_direction_is_left_out_of_the_step():
    H = np.diag([2.0, 1e-14, 4.0])
    g = np.array([1.0, 1e-3, -2.0])
    step, decrement = polish.newton_step(H, g, np.array([True, True, True]))
    np.testing.assert_allclose(step, [-0.5, 0.0, 0.5])
    assert decrement == 0.5 + 1.0
    step, _ = polish.newton_step(H, g, np.array([True, True, False]))   # a held coordinate does not move
    np.testing.assert_allclose(step, [-0.5, 0.0, 0.0])
