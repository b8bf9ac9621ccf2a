"""REML recovers simulated variance components within sampling error (the fit's own standard errors)."""
import numpy as np
import pytest

import henderson as hd
from henderson.simulate import simulate


@pytest.mark.parametrize("seed", [101])
def test_animal_model_recovers_variances(seed):
    data, ped, truth = simulate(5000, n_generations=10, h2=0.35, seed=seed)
    r = hd.fit("y ~ 1 + (1|hy) + (1|id)", data, relationships={"id": hd.Pedigree.from_frame(ped)})
    assert r.converged
    vc = r.variance_components.set_index("group")
    v = truth["variances"]
    for group, key in (("hy", "herd_year"), ("id", "additive"), ("Residual", "residual")):
        z = (vc.loc[group, "estimate"] - v[key]) / vc.loc[group, "std_error"]
        assert abs(z) < 4, (group, vc.loc[group, "estimate"], v[key], z)
    mean = r.fixed_effects.loc["(Intercept)"]
    assert mean["estimate"] == pytest.approx(truth["mean"], abs=4 * mean["std_error"])
    # predicted breeding values correlate with the true ones as their reliabilities imply (loosely)
    re = r.random_effects["id"]
    tbv = truth["breeding_values"].loc[re.index.astype(str)]
    assert np.corrcoef(re["(Intercept)"], tbv)[0, 1] > 0.5


def test_repeatability_model_recovers_permanent_environment():
    v = {"additive": 0.3, "herd_year": 0.1, "permanent": 0.15, "residual": 0.45}
    data, ped, truth = simulate(4000, n_generations=8, lactations=3, variances=v, seed=7)
    data["pe"] = data["id"]
    r = hd.fit("y ~ 1 + (1|hy) + (1|id) + (1|pe)", data, relationships={"id": hd.Pedigree.from_frame(ped)})
    vc = r.variance_components.set_index("group")
    for group, key in (("hy", "herd_year"), ("id", "additive"), ("pe", "permanent"), ("Residual", "residual")):
        z = (vc.loc[group, "estimate"] - v[key]) / vc.loc[group, "std_error"]
        assert abs(z) < 4, (group, vc.loc[group, "estimate"], v[key], z)
