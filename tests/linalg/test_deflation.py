"""Deflated PCG (henderson.linalg.deflation) against dense NumPy algebra on animal-model MMEs."""
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import henderson as hd
from henderson.fitted.mc_problem import MCProblem
from henderson.linalg.block_pcg import mme_matmat, pcg_block
from henderson.linalg.deflation import Deflation, fixed_groups
from henderson.mme import centre_value


def _problem(n, seed, formula="y ~ hy + (1|id)", extra=None):
    data, ped, _ = hd.simulate(n, n_generations=5, h2=0.3, seed=seed)
    if extra is not None:
        data = extra(data)
    pedigree = hd.Pedigree.from_frame(ped, id="id", sire="sire", dam="dam")
    m = hd.Model(formula, data, relationships={"id": pedigree})
    theta = np.array([0.3, 0.55])
    problem = MCProblem(m, m.design.y - centre_value(m.design.y), m.vm.at(theta))
    op = problem.operator(m.vm.at(theta))
    return m, problem, op


def _dense(op):
    return mme_matmat(op, np.eye(op.size))


def test_fixed_groups_are_the_factors_indicator_runs():
    """Intercept alone, each factor's treatment-coded indicators as one run, covariates in no group."""
    rng = np.random.default_rng(0)
    n = 200
    data = pd.DataFrame({"a": rng.choice(list("pqrs"), n), "x": rng.normal(size=n),
                         "b": rng.choice(list("uvw"), n), "y": rng.normal(size=n)})
    d = hd.Model("y ~ a + x + b + (1|a)", data).design
    groups = [[d.fixed_names[j] for j in g] for g in fixed_groups(d.X)]
    assert groups == [["(Intercept)"], ["aq", "ar", "as"], ["bv", "bw"]]
    X = sp.csc_matrix(np.array([[1.0, 0, 2], [0, 1, 0], [1, 0, 0]]))
    assert [list(g) for g in fixed_groups(X)] == [[0, 1]]
    assert [list(g) for g in fixed_groups(X, max_groups=0)] == []


@pytest.mark.parametrize("seed", [1, 2])
def test_deflated_operator_and_solution_equal_dense_algebra(seed):
    """(PC) X, P B, b'Q b and x = Q b + P' x~ against their dense definitions, V the indicators of the
    subspace, for any solution x~ of the singular deflated system."""
    _, problem, op = _problem(600, seed)
    C = _dense(op)
    label = problem.subspace
    k = label.max() + 1
    V = np.zeros((op.size, k))
    V[label >= 0, label[label >= 0]] = 1.0
    Q = V @ np.linalg.solve(V.T @ C @ V, V.T)
    P = np.eye(op.size) - C @ Q
    defl = Deflation(lambda X, out: mme_matmat(op, X, out), label)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(op.size, 3))
    np.testing.assert_allclose(defl.matmat(X, np.empty_like(X)), P @ C @ X, atol=1e-9 * np.abs(C).max())
    np.testing.assert_allclose(defl.project(X), P @ X, atol=1e-10)
    np.testing.assert_allclose(defl.exact_part(X), np.einsum("ij,ij->j", X, Q @ X), rtol=1e-10)
    Xt = np.linalg.lstsq(P @ C, P @ X, rcond=None)[0] + V @ rng.normal(size=(k, 3))  # any solution
    direct = np.linalg.solve(C, X)
    np.testing.assert_allclose(defl.solution(Xt, X), direct, atol=1e-8 * np.abs(direct).max())
    np.testing.assert_allclose(defl.exact_part(X) + np.einsum("ij,ij->j", defl.project(X), Xt),
                               np.einsum("ij,ij->j", X, direct), rtol=1e-9)


def test_deflated_pcg_equals_the_direct_solve_and_lifts_lambda_min():
    """PCG on the deflated system, mapped back, solves C x = b (y and random right-hand sides); the
    smallest eigenvalue of M^-1 (PC) on the complement of V is far above that of M^-1 C, the smallest
    Ritz value of the deflated PCG is no lower than it, and the deflated solve needs fewer rounds."""
    _, problem, op = _problem(1500, 4, formula="y ~ hy + w + (1|id)",
                              extra=lambda d: d.assign(w=np.random.default_rng(1).normal(size=len(d))))
    C = _dense(op)
    dinv = op.preconditioner()(np.ones(op.size))
    B = np.column_stack([op.rhs(problem.yc), np.random.default_rng(0).normal(size=(op.size, 2))])
    defl = Deflation(lambda X, out: mme_matmat(op, X, out), problem.subspace)
    plain = pcg_block(lambda X, out: mme_matmat(op, X, out), B, dinv, tol=1e-14)
    res = pcg_block(defl.matmat, defl.project(B), dinv, tol=1e-14)
    direct = np.linalg.solve(C, B)
    np.testing.assert_allclose(defl.solution(res.X, B), direct, atol=1e-6 * np.abs(direct).max())
    assert res.rounds < plain.rounds
    s = np.sqrt(dinv)
    label = problem.subspace
    V = np.zeros((op.size, label.max() + 1))
    V[label >= 0, label[label >= 0]] = 1.0
    Ct = s[:, None] * C * s[None, :]
    lam_plain = np.linalg.eigvalsh(Ct)[0]
    basis = np.linalg.qr(V / s[:, None])[0]             # V in the scaled coordinates
    comp = np.linalg.svd(np.eye(op.size) - basis @ basis.T)[0][:, :op.size - V.shape[1]]
    Pt = np.eye(op.size) - Ct @ basis @ np.linalg.solve(basis.T @ Ct @ basis, basis.T)
    lam_defl = np.linalg.eigvalsh(comp.T @ (Pt @ Ct) @ comp)[0]
    assert lam_defl > 5 * lam_plain
    assert res.ritz_min >= lam_defl * (1 - 1e-8)
