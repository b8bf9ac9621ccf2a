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


def test_mc_reml_estimator_is_unbiased_over_probe_sets(animal_model):
    """Over 16 fits with independent probe sets (seeds), the mean MC-REML estimate of each variance is
    within 2 standard errors (of that mean) of the exact REML estimate, and the reported Monte Carlo
    SE of one fit matches the spread of the fits."""
    m = animal_model
    exact = m.fit().theta
    fits = [m.fit(algorithm="mc-ai", n_probes=10, seed=100 + rep) for rep in range(16)]
    est = np.array([f.variances.to_numpy() for f in fits])
    assert all(f.converged for f in fits)
    se_mean = est.std(axis=0, ddof=1) / np.sqrt(len(fits))
    assert np.all(np.abs(est.mean(axis=0) - exact) < 2 * se_mean)
    reported = np.mean([f.mc_se.to_numpy() for f in fits], axis=0)
    assert np.all((0.5 < reported / est.std(axis=0, ddof=1)) & (reported / est.std(axis=0, ddof=1) < 2.0))


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
    X, rounds, ok = pcg_columns(lambda V, out: mme_matmat(op, V, out), B, op.preconditioner()(np.ones(op.size)),
                                tol=1e-20)
    assert ok.all() and rounds > 0
    np.testing.assert_allclose(mme_matmat(op, X), B, atol=1e-8)
    np.testing.assert_allclose(X, m.objective("REML").solve(theta, B), rtol=0, atol=1e-8 * np.abs(X).max())


def _dense(op):
    return np.column_stack([op.matvec(e) for e in np.eye(op.size)])


def test_quadratic_forms_stop_at_their_error(animal_model):
    """PCG's q = 2 b'x - x'Cx is a lower bound of b'C^-1 b (dense solve); stopped on the estimated
    error, it is short of it by about that error; to the residual criterion it equals it."""
    from henderson.fitted.montecarlo import probe_rhs
    from henderson.linalg.block_pcg import mme_matmat, pcg_block
    m = animal_model
    op = mme_operator(m, m.vm.at(m.theta({"id": 0.4, "Residual": 0.6})))
    B, symmetric = probe_rhs(op, rademacher(op.terms[0].m, 8, 1))
    assert symmetric
    exact = np.einsum("ij,ij->j", B, np.linalg.solve(_dense(op), B))
    dinv = op.preconditioner()(np.ones(op.size))
    for limit in (1e-1, 1e-3):
        res = pcg_block(lambda V, out: mme_matmat(op, V, out), B, dinv, tol=1e-30,
                        energy_tol=lambda q, limit=limit: limit)
        short = exact - res.q
        assert res.converged.all() and np.all(short > -1e-9)
        assert np.all(res.energy_error < limit) and np.all(short < 10 * limit)
    res = pcg_block(lambda V, out: mme_matmat(op, V, out), B, dinv, tol=1e-22)
    np.testing.assert_allclose(res.q, exact, rtol=1e-10)
    # the smallest Ritz value of a solve is lambda_min(M^-1 C); with it, Gauss-Radau bounds the error
    lam = np.linalg.eigvalsh(np.sqrt(dinv)[:, None] * _dense(op) * np.sqrt(dinv)[None, :])[0]
    y = pcg_block(lambda V, out: mme_matmat(op, V, out), op.rhs(m.design.y - m.design.y.mean())[:, None], dinv)
    assert y.ritz_min == pytest.approx(lam, rel=1e-3)
    for X0 in (None, np.linalg.solve(_dense(op), B) + 1e-3):
        res = pcg_block(lambda V, out: mme_matmat(op, V, out), B, dinv, X0=X0, tol=1e-30,
                        energy_tol=lambda q: 1e-4, lambda_min=lam)
        short = exact - res.q
        assert np.all(short <= res.energy_error) and np.all(res.energy_error < 1e-4) and np.all(short > -1e-9)


def test_warm_start_gives_the_cold_start_trace(animal_model):
    """Probes warm-started from their solutions at other variances give the trace of a cold start, to
    the PCG error the probes stop at (and to rounding when solved to the residual criterion)."""
    m = animal_model
    op = mme_operator(m, m.vm.at(m.theta({"id": 0.4, "Residual": 0.6})))
    other = mme_operator(m, m.vm.at(m.theta({"id": 0.2, "Residual": 0.7})))
    M, mt, r = op.preconditioner(), op.terms[0].m, 20
    probes = rademacher(mt, r, 4)
    warm = np.zeros((op.size, r))
    hutchinson_trace(other, other.preconditioner(), probes, warm)
    cold, _ = hutchinson_trace(op, M, probes, np.zeros((op.size, r)), probe_error=0.01)
    hot, rounds = hutchinson_trace(op, M, probes, warm.copy(), probe_error=0.01)
    assert abs(hot.value - cold.value) < 0.05 * cold.se
    strict_cold, _ = hutchinson_trace(op, M, probes, np.zeros((op.size, r)), probe_error=0.0)
    strict_hot, _ = hutchinson_trace(op, M, probes, warm.copy(), probe_error=0.0)
    np.testing.assert_allclose(strict_hot.samples, strict_cold.samples, rtol=1e-9)
    assert 0 <= strict_cold.value - cold.value < 0.05 * cold.se


def test_lineage_order_keeps_the_equations(animal_model):
    """The Monte Carlo problem in lineage order is the model's MME permuted: same products, dams next
    to their offspring, and the same trace samples from the same probes."""
    from henderson.fitted.mc_problem import MCProblem, lineage_order
    m = animal_model
    params = m.vm.at(m.theta({"id": 0.4, "Residual": 0.6}))
    op = mme_operator(m, params)
    yc = m.design.y - m.design.y.mean()
    prob = MCProblem(m, yc, params)
    pop = prob.operator(params)
    p = op.terms[0].offset
    cols = np.concatenate([np.arange(p), p + prob.levels])
    x = np.random.default_rng(0).normal(size=op.size)
    np.testing.assert_allclose(pop.matvec(x[cols]), op.matvec(x)[cols], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(pop.rhs(prob.yc), op.rhs(yc)[cols], rtol=1e-12, atol=1e-12)
    dam = op.terms[0].kinv.dam
    order = lineage_order(dam)
    assert sorted(order) == list(range(dam.size))
    new_dam = pop.terms[0].kinv.dam
    known = new_dam >= 0
    gap_new = np.median(np.abs(np.arange(dam.size) - new_dam)[known])
    assert gap_new < np.median(np.abs(np.arange(dam.size) - dam)[dam >= 0]) / 10
    z = rademacher(op.terms[0].m, 10, 5)
    a, _ = hutchinson_trace(op, op.preconditioner(), z, np.zeros((op.size, 10)), probe_error=0.0)
    b, _ = hutchinson_trace(pop, pop.preconditioner(), prob.probes(z), np.zeros((op.size, 10)), probe_error=0.0)
    np.testing.assert_allclose(b.samples, a.samples, rtol=1e-9)


def test_symmetric_probes_halve_the_variance(animal_model):
    """Rademacher variance of z'Bz (1/2 sum_{i != j} (B_ij + B_ji)^2): B = L' C^aa L against K^-1 C^aa,
    the same trace, from the dense inverse."""
    m = animal_model
    op = mme_operator(m, m.vm.at(m.theta({"id": 0.3, "Residual": 0.55})))
    t = op.terms[0]
    Caa = np.linalg.inv(_dense(op))[t.offset:, t.offset:]
    L = t.kinv.factor_times(np.eye(t.m))
    sym, kinv = L.T @ Caa @ L, t.kinv.apply(Caa)

    def variance(B):
        S = B + B.T
        np.fill_diagonal(S, 0.0)
        return 0.5 * float((S**2).sum())

    assert np.trace(sym) == pytest.approx(np.trace(kinv), rel=1e-10)
    assert variance(sym) < 0.7 * variance(kinv)


def test_deflated_probes_give_the_dense_trace_samples_within_their_bound(animal_model):
    """With the deflation of MCProblem's subspace, the MME solution equals the dense solve and every
    probe's sample is short of its dense b'C^-1 b by at most its Gauss-Radau bound (lambda_min from
    the deflated MME solve's Ritz value), which is below the requested 0.05 Monte Carlo SE."""
    from henderson.fitted.mc_problem import MCProblem
    from henderson.fitted.montecarlo import _solve_with_probes, probe_rhs
    from henderson.linalg.block_pcg import mme_matmat
    from henderson.linalg.deflation import Deflation
    from henderson.mme import centre_value
    m = animal_model
    params = m.vm.at(m.theta({"id": 0.3, "Residual": 0.6}))
    problem = MCProblem(m, m.design.y - centre_value(m.design.y), params)
    op = problem.operator(params)
    C = _dense(op)
    probes = problem.probes(rademacher(op.terms[0].m, 12, 5))
    B, _ = probe_rhs(op, probes)
    dense = np.einsum("ij,ij->j", B, np.linalg.solve(C, B))
    rhs = op.rhs(problem.yc)
    dinv = op.preconditioner()(np.ones(op.size))
    defl = Deflation(lambda V, out: mme_matmat(op, V, out), problem.subspace)
    first = _solve_with_probes(op, dinv, rhs, probes, np.zeros((op.size, 13)), 1e-22, 0.05, None, defl)
    x, est, _, _, ritz = _solve_with_probes(op, dinv, rhs, probes, np.zeros((op.size, 13)), 1e-22, 0.05,
                                            0.9 * first[4], defl)
    np.testing.assert_allclose(x, np.linalg.solve(C, rhs), atol=1e-9 * np.abs(x).max())
    short = dense - est.samples
    assert np.all(short > -1e-8 * dense) and short.mean() <= est.pcg_error * (1 + 1e-9)
    assert est.pcg_error < 0.05 * est.se
