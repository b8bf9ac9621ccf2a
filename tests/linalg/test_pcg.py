"""PCG on the matrix-free MME against the formed MME and the direct solver (dense / CHOLMOD oracles)."""
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import henderson as hd
from henderson.fitted.iterative import mme_operator
from henderson.linalg.pcg import pcg
from henderson.pedigree.aproduct import AinverseOperator


def random_pedigree(rng, n, selfing=False):
    """Animals 1..n, parents drawn among earlier animals (some unknown, some shared: inbreeding)."""
    rows = []
    for i in range(n):
        s = rng.integers(0, i) + 1 if i > 3 and rng.random() < 0.8 else 0
        d = rng.integers(0, i) + 1 if i > 3 and rng.random() < 0.7 else 0
        if selfing and s and rng.random() < 0.1:
            d = s
        rows.append((str(i + 1), str(s), str(d)))
    return pd.DataFrame(rows, columns=["id", "sire", "dam"])


def random_data(rng, ids, n):
    """Records on random animals with a covariate, a crossed factor and a herd factor."""
    return pd.DataFrame({"id": rng.choice(ids, n), "x": rng.normal(size=n),
                         "herd": rng.choice(list("abcdef"), n), "g": rng.choice(list("pqrstuvw"), n),
                         "y": rng.normal(10, 2, n)})


@pytest.mark.parametrize("selfing", [False, True])
def test_ainverse_operator_equals_formed_ainverse(selfing):
    rng = np.random.default_rng(5)
    ped = hd.Pedigree.from_frame(random_pedigree(rng, 300, selfing), sire_as_dam="allow")
    assert float(ped.inbreeding.max()) > 0
    A_inv, _ = ped.ainverse()
    op = AinverseOperator.from_pedigree(ped)
    X = rng.normal(size=(ped.n, 3))
    np.testing.assert_allclose(op.apply(X), A_inv @ X, atol=1e-12)
    np.testing.assert_allclose(op.apply(X[:, 0]), A_inv @ X[:, 0], atol=1e-12)
    np.testing.assert_allclose(op.diagonal(), A_inv.diagonal(), atol=1e-14)
    out = np.ones((ped.n, 3))
    op.apply_add(np.ascontiguousarray(X), 0.5, out)
    np.testing.assert_allclose(out, 1.0 + 0.5 * (A_inv @ X), atol=1e-12)
    L = op.factor_times(np.eye(ped.n))          # the factor of Monte Carlo REML's probes
    np.testing.assert_allclose(L @ L.T, A_inv.toarray(), atol=1e-12)


def models(rng):
    ped_frame = random_pedigree(rng, 400)
    ped = hd.Pedigree.from_frame(ped_frame, sire_as_dam="allow")
    data = random_data(rng, ped_frame["id"].to_numpy(), 600)
    yield hd.Model("y ~ x + herd + (1|id)", data, relationships={"id": ped}), {"id": 0.5, "Residual": 1.3}
    yield (hd.Model("y ~ herd + (1 + x|id) + (1|g)", data, relationships={"id": ped}),
           {"id": [[0.5, 0.1], [0.1, 0.2]], "g": 0.3, "Residual": 1.1})
    data["dam"] = rng.choice(ped_frame["id"].to_numpy()[:200], len(data))
    yield (hd.Model("y ~ herd + (1|id) + (1|dam)", data, relationships={"id": ped, "dam": ped},
                    correlated=[("id", "dam")]), {"id+dam": [[0.5, -0.1], [-0.1, 0.3]], "Residual": 1.0})
    yield (hd.Model("y ~ herd + diag(1 + x|g)", data), {"g": [[0.4, 0.0], [0.0, 0.2]], "Residual": 1.0})
    K = sp.random(8, 8, density=0.3, random_state=1)
    K = sp.csc_matrix(K @ K.T + 2 * sp.identity(8))
    yield (hd.Model("y ~ x + (1|g) + (1|herd)", data, relationships={"g": (K, list("pqrstuvw"))}),
           {"g": 0.4, "herd": 0.2, "Residual": 1.0})


def test_operator_and_preconditioner_equal_the_formed_mme():
    rng = np.random.default_rng(11)
    for m, v in models(rng):
        theta = m.theta(v)
        C = m.pattern.values(theta).toarray()
        op = mme_operator(m, m.vm.at(theta))
        x = rng.normal(size=C.shape[0])
        np.testing.assert_allclose(op.matvec(x), C @ x, rtol=1e-12, atol=1e-10)
        # M^-1 inverts the diagonal on the fixed effects and the q x q per-level blocks of C elsewhere
        M = np.zeros_like(C)
        p = m.design.p
        M[np.arange(p), np.arange(p)] = np.diag(C)[:p]
        for t in op.terms:
            for i in range(t.m):
                idx = t.offset + i + t.m * np.arange(t.q)
                M[np.ix_(idx, idx)] = C[np.ix_(idx, idx)]
        np.testing.assert_allclose(op.preconditioner()(x), np.linalg.solve(M, x), rtol=1e-9, atol=1e-9)


def test_pcg_equals_the_direct_solution():
    rng = np.random.default_rng(3)
    for m, v in models(rng):
        direct = m.solve(v)
        it = m.solve(v, solver="pcg", tol=1e-24)
        assert it.converged and it.iterations["criterion"].iloc[-1] < 1e-24
        np.testing.assert_allclose(it.fixed_effects["estimate"], direct.fixed_effects["estimate"], atol=1e-7)
        for name, df in direct.random_effects.items():
            cols = list(it.random_effects[name].columns.drop("ebv", errors="ignore"))
            np.testing.assert_allclose(it.random_effects[name][cols], df[cols], atol=1e-8)


def test_pcg_stops_on_the_squared_relative_residual():
    rng = np.random.default_rng(2)
    B = rng.normal(size=(50, 50))
    C = B @ B.T + 50 * np.eye(50)
    b = rng.normal(size=50)
    d = np.diag(C)
    res = pcg(lambda x: C @ x, b, lambda r: r / d, tol=1e-12)
    assert res.converged and res.criterion[-1] < 1e-12 <= res.criterion[-2]
    assert res.criterion.size == res.n_iter + 1 and res.criterion[0] == 1.0
    r = b - C @ res.x
    assert (r @ r) / (b @ b) == pytest.approx(res.criterion[-1], rel=1e-6)  # the true residual of x
    short = pcg(lambda x: C @ x, b, lambda r: r / d, tol=1e-30, max_iter=3)
    assert not short.converged and short.n_iter == 3


def test_pcg_refuses_a_residual_structure():
    data = pd.DataFrame({"g": list("aabbccdd"), "w": [1.0, 2, 1, 2, 1, 2, 1, 2], "y": [1.0, 2, 3, 4, 5, 7, 6, 8]})
    m = hd.Model("y ~ (1|g)", data, weights="w")
    with pytest.raises(hd.DesignError, match="solver='pcg' needs R = sigma2 I"):
        m.solve({"g": 1.0, "Residual": 1.0}, solver="pcg")


def test_solver_choice_is_checked():
    data = pd.DataFrame({"g": list("aabbcc"), "y": [1.0, 2, 3, 4, 5, 7]})
    with pytest.raises(ValueError, match="solver"):
        hd.Model("y ~ (1|g)", data).solve({"g": 1.0, "Residual": 1.0}, solver="cg")


def test_block_pcg_workspace_reused_across_solves_gives_the_same_solutions():
    """pcg_block with one Workspace through solves of 7, then 3, then 9 columns (columns stopping at
    different rounds) returns what it returns with fresh arrays, bit for bit."""
    from henderson.linalg.block_pcg import Workspace, pcg_block
    rng = np.random.default_rng(3)
    A = rng.normal(size=(60, 60))
    C = A @ A.T + 60 * np.eye(60)
    dinv = 1.0 / np.diag(C)

    def matmat(V, out):
        np.matmul(C, V, out=out)
        return out

    ws = Workspace()
    for r in (7, 3, 9):
        B = rng.normal(size=(60, r))
        tols = np.logspace(-4, -14, r)
        plain = pcg_block(matmat, B, dinv, tol=tols)
        again = pcg_block(matmat, B, dinv, tol=tols, workspace=ws)
        np.testing.assert_array_equal(again.X, plain.X)
        np.testing.assert_array_equal(again.q, plain.q)
        np.testing.assert_allclose(again.X, np.linalg.solve(C, B), rtol=1e-1, atol=1e-2 * np.abs(B).max())
