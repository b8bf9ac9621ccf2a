"""Deflated PCG in Model.solve(solver="pcg") against the direct solver and the true residual b - C x."""
import numpy as np
import pytest

import henderson as hd
from henderson.fitted.iterative import _centring, mme_operator, solve_pcg
from henderson.linalg.deflation import mme_subspace
from henderson.linalg.pcg import pcg
from tests.linalg.test_pcg import models, random_data, random_pedigree


def more_models(rng):
    """test_pcg's models (covariates, several random terms, random slopes, correlated terms, a user's
    K), and models without an intercept, with a covariate only, with only the intercept fixed, and
    with no fixed effect."""
    yield from models(rng)
    ped_frame = random_pedigree(rng, 300)
    ped = hd.Pedigree.from_frame(ped_frame, sire_as_dam="allow")
    data = random_data(rng, ped_frame["id"].to_numpy(), 500)
    v = {"id": 0.5, "g": 0.3, "Residual": 1.2}
    yield hd.Model("y ~ 0 + herd + x + (1|id) + (1|g)", data, relationships={"id": ped}), v
    yield hd.Model("y ~ 0 + x + (1|id) + (1|g)", data, relationships={"id": ped}), v
    yield hd.Model("y ~ (1|id) + (1|g)", data, relationships={"id": ped}), v
    yield hd.Model("y ~ 0 + (1|id) + (1|g)", data, relationships={"id": ped}), v


def _system(m, v):
    """(operator, centred right-hand side, preconditioner, deflation subspace) of a one-trait model."""
    op = mme_operator(m, m.vm.at(m.theta(v)))
    centre, _ = _centring(m)
    return op, op.rhs(m.design.y - centre), op.preconditioner(), mme_subspace(m.design.p, m.design.X, op.terms)


def _true(op, b, x):
    r = b - op.matvec(x)
    return float(r @ r) / float(b @ b)


@pytest.mark.parametrize("deflate", [True, False])
def test_deflated_pcg_equals_the_direct_solution(deflate):
    rng = np.random.default_rng(8)
    for m, v in more_models(rng):
        direct = m.solve(v)
        it = solve_pcg(m, m.theta(v), tol=1e-24, deflate=deflate)
        assert it.converged and it.iterations["criterion"].iloc[-1] < 1e-24
        np.testing.assert_allclose(it.fixed_effects["estimate"], direct.fixed_effects["estimate"], atol=1e-7)
        for name, df in direct.random_effects.items():
            cols = list(it.random_effects[name].columns.drop("ebv", errors="ignore"))
            np.testing.assert_allclose(it.random_effects[name][cols], df[cols], atol=1e-8)


def test_the_criterion_of_every_round_is_the_true_relative_residual():
    """Stopped after k rounds, the returned x = Q b + P' x~ has ||b - C x||^2 / ||b||^2 equal to the
    criterion recorded for round k (normalised by the original b, not P b), and the full run's table
    starts with the same values; the converged x meets the tolerance on its true residual."""
    rng = np.random.default_rng(4)
    for m, v in more_models(rng):
        op, b, M, sub = _system(m, v)
        full = pcg(op.matvec, b, M, tol=1e-12, subspace=sub)
        assert full.converged and _true(op, b, full.x) < 1e-12
        assert full.criterion[-1] == pytest.approx(_true(op, b, full.x), rel=1e-3)
        assert full.criterion[0] < 1.0          # x = Q b already removes part of b
        for k in [k for k in (0, 1, 3, 10) if k < full.n_iter]:
            short = pcg(op.matvec, b, M, tol=1e-12, max_iter=k, subspace=sub)
            assert short.n_iter == k and short.criterion.size == k + 1
            np.testing.assert_allclose(short.criterion, full.criterion[:k + 1], rtol=1e-12)
            assert short.criterion[-1] == pytest.approx(_true(op, b, short.x), rel=1e-6)


def test_deflated_pcg_warm_starts_from_x0():
    rng = np.random.default_rng(6)
    m, v = next(more_models(rng))
    op, b, M, sub = _system(m, v)
    cold = pcg(op.matvec, b, M, tol=1e-22, subspace=sub)
    rough = pcg(op.matvec, b, M, tol=1e-8, subspace=sub)
    warm = pcg(op.matvec, b, M, x0=rough.x, tol=1e-22, subspace=sub)
    assert warm.converged and warm.criterion[0] == pytest.approx(rough.criterion[-1], rel=1e-3)
    assert warm.n_iter < cold.n_iter
    np.testing.assert_allclose(warm.x, cold.x, atol=1e-9 * np.abs(cold.x).max())
    assert _true(op, b, warm.x) < 1e-22


def test_deflation_takes_no_more_rounds_on_an_animal_model():
    data, ped, _ = hd.simulate(3000, n_generations=6, h2=0.3, lactations=3, seed=3)
    data["pe"] = data["id"]
    pedigree = hd.Pedigree.from_frame(ped, id="id", sire="sire", dam="dam")
    for formula, v in [("y ~ hy + (1|id)", {"id": 0.3, "Residual": 0.6}),
                       ("y ~ hy + (1|id) + (1|pe)", {"id": 0.3, "pe": 0.1, "Residual": 0.5})]:
        m = hd.Model(formula, data, relationships={"id": pedigree})
        deflated = solve_pcg(m, m.theta(v), tol=1e-12)
        plain = solve_pcg(m, m.theta(v), tol=1e-12, deflate=False)
        assert deflated.converged and plain.converged
        assert deflated.n_iter <= plain.n_iter
        sd = plain.random_effects["id"]["ebv"].std()
        np.testing.assert_allclose(deflated.random_effects["id"]["ebv"], plain.random_effects["id"]["ebv"],
                                   atol=1e-4 * sd)


def test_the_subspace_has_a_group_per_fixed_factor_and_per_random_effect():
    rng = np.random.default_rng(1)
    m, _ = list(models(rng))[1]                # y ~ herd + (1 + x|id) + (1|g)
    op = mme_operator(m, m.vm.at(m.theta({"id": [[0.5, 0.1], [0.1, 0.2]], "g": 0.3, "Residual": 1.1})))
    label = mme_subspace(m.design.p, m.design.X, op.terms)
    assert list(label[:m.design.p]) == [0] + [1] * (m.design.p - 1)   # intercept; herd's indicators
    rr, g = op.terms
    assert (label[rr.offset:rr.offset + rr.m] == 2).all() and (label[rr.offset + rr.m:g.offset] == 3).all()
    assert (label[g.offset:] == 4).all()


def test_one_column_kernels_equal_the_several_column_ones():
    """project, matmat and solution of a vector (and of one column) equal those of several columns."""
    from henderson.linalg.deflation import Deflation
    from henderson.linalg.pcg import _columns
    rng = np.random.default_rng(2)
    m, v = list(more_models(rng))[1]                # random slopes: several runs of labels
    op, b, _, sub = _system(m, v)
    defl = Deflation(lambda V, out: _columns(op.matvec, V, out), sub)
    X = rng.normal(size=(op.size, 2))
    for f in (defl.project, lambda B: defl.solution(B, B)):
        np.testing.assert_allclose(f(X[:, 0]), f(X)[:, 0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(f(X[:, :1])[:, 0], f(X)[:, 0], rtol=1e-12, atol=1e-12)
    one = defl.matmat(np.ascontiguousarray(X[:, :1]), np.empty((op.size, 1)))
    np.testing.assert_allclose(one[:, 0], defl.matmat(X, np.empty_like(X))[:, 0], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("t", [2, 3])
def test_multitrait_deflated_pcg_has_the_true_residual_and_no_more_rounds(t):
    """Two and three traits (missing patterns, a term on some traits only): the deflated solve equals the
    plain one, its last criterion is the true relative residual, and it takes no more rounds."""
    from tests.multitrait.test_pcg import _case
    m, v = _case(t, seed=5)
    deflated = solve_pcg(m, m.theta(v), tol=1e-20)
    plain = solve_pcg(m, m.theta(v), tol=1e-20, deflate=False)
    assert deflated.converged and deflated.n_iter <= plain.n_iter
    np.testing.assert_allclose(deflated.solution, plain.solution, atol=1e-7 * np.abs(plain.solution).max())
    op = mme_operator(m, m.vm.at(m.theta(v)))
    centre, shift = _centring(m)
    b = op.rhs(m.design.y - centre)
    x = deflated.solution.copy()
    x[:m.design.p] -= shift
    assert _true(op, b, x) == pytest.approx(deflated.iterations["criterion"].iloc[-1], rel=1e-3)


def test_fixed_groups_split_runs_where_rows_meet_again():
    """Two factors' full indicator sets one after the other are two runs (the second meets the first's
    rows), a stored zero is no entry, and a column with a value other than 1 ends a run."""
    import scipy.sparse as sp

    from henderson.linalg.deflation import fixed_groups
    a = np.array([0, 1, 2, 0, 1, 2])
    b = np.array([0, 0, 1, 1, 0, 1])
    X = np.zeros((6, 7))
    X[np.arange(6), a] = 1.0
    X[np.arange(6), 3 + b] = 1.0
    X[:, 5] = [1.0, 0, 0.5, 0, 0, 0]
    X[:, 6] = [0, 2.0, 0, 0, 1, 0]
    A = sp.csc_matrix(X)
    A.data[A.data == 0.5] = 0.0                       # a stored zero: column 5 has one row
    assert [list(g) for g in fixed_groups(A)] == [[0, 1, 2], [3, 4], [5]]
    assert A.nnz == 16                                # the caller's matrix untouched
