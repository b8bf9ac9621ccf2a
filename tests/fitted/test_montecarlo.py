"""Monte Carlo AI-REML (henderson.fitted.montecarlo) against the exact AI-REML and the selected inverse."""
import numpy as np
import pytest

import henderson as hd
from henderson.errors import DesignError
from henderson.fitted.iterative import mme_operator
from henderson.fitted.montecarlo import hutchinson_trace, rademacher
from henderson.reml.derivatives import trace_blocks


@pytest.fixture(scope="module")
def animal_model():
    data, ped, _ = hd.simulate(1500, n_generations=5, h2=0.3, seed=3)
    pedigree = hd.Pedigree.from_frame(ped, id="id", sire="sire", dam="dam")
    return hd.Model("y ~ hy + (1|id)", data, relationships={"id": pedigree})


def test_trace_estimator_is_unbiased(animal_model):
    """Over 20 replicates of 30 probes, the mean of Hutchinson's estimate is within 2 of its standard
    errors of tr(A^-1 C^aa) from the selected inverse; each replicate's reported SE matches the spread."""
    m = animal_model
    theta = m.theta({"id": 0.4, "Residual": 0.6})
    obj = m.objective("REML")
    exact = trace_blocks(obj, obj.at(theta))[0][0, 0]
    op = mme_operator(m, m.vm.at(theta))
    M = op.preconditioner()
    mt = op.terms[0].m
    est, ses = [], []
    for rep in range(20):
        t, _ = hutchinson_trace(op, M, rademacher(mt, 30, rep), np.zeros((op.size, 30)))
        est.append(t.value)
        ses.append(t.se)
    est = np.array(est)
    se_mean = est.std(ddof=1) / np.sqrt(est.size)
    assert abs(est.mean() - exact) < 2 * se_mean
    assert 0.5 < np.mean(ses) / est.std(ddof=1) < 2.0   # reported SE of one replicate ~ the replicates' sd


def test_mc_reml_reaches_exact_ai_reml(animal_model):
    m = animal_model
    exact = m.fit()
    mc = m.fit(algorithm="mc-ai", n_probes=40, seed=2)
    assert mc.converged
    assert list(mc.variances.index) == ["id", "Residual"]
    diff = np.abs(mc.variances.to_numpy() - exact.theta)
    assert np.all(diff < 3 * mc.mc_se.to_numpy())
    assert np.all(mc.mc_se.to_numpy() > 0) and mc.trace.se > 0
    # sampling SEs from the average information agree with the exact fit's
    np.testing.assert_allclose(mc.sampling_se.to_numpy(), np.sqrt(np.diag(exact.vcov_theta)), rtol=0.1)


def test_mc_reml_refuses_unsupported_models(animal_model):
    data, ped, _ = hd.simulate(300, n_generations=3, h2=0.3, seed=1)
    data["pe"] = data["id"]
    data["x"] = np.linspace(0, 1, len(data))
    pedigree = hd.Pedigree.from_frame(ped, id="id", sire="sire", dam="dam")
    two = hd.Model("y ~ hy + (1|id) + (1|hy)", data, relationships={"id": pedigree})
    with pytest.raises(DesignError, match="one random term with one effect"):
        two.fit(algorithm="mc-ai")
    slope = hd.Model("y ~ hy + (1 + x|id)", data, relationships={"id": pedigree})
    with pytest.raises(DesignError, match="one random term with one effect"):
        slope.fit(algorithm="mc-ai")
    with pytest.raises(DesignError, match="REML only"):
        animal_model.fit(method="ML", algorithm="mc-ai")


def test_side_by_side_pcg_equals_the_direct_solve(animal_model):
    from henderson.linalg.block_pcg import mme_matmat, pcg_columns
    m = animal_model
    theta = m.theta({"id": 0.4, "Residual": 0.6})
    op = mme_operator(m, m.vm.at(theta))
    B = np.random.default_rng(0).normal(size=(op.size, 5))
    B[:, 4] = 0.0    # a zero right-hand side stays zero
    X, rounds, ok = pcg_columns(lambda V, out: mme_matmat(op, V, out), B, op.preconditioner()(np.ones(op.size)), tol=1e-20)
    assert ok.all() and rounds > 0
    np.testing.assert_allclose(mme_matmat(op, X), B, atol=1e-8)
    np.testing.assert_allclose(X, m.objective("REML").solve(theta, B), rtol=0, atol=1e-8 * np.abs(X).max())
