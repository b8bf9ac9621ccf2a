"""Multi-trait PCG (henderson.linalg.trait_operator): the matrix-free operator and preconditioner equal the
formed MME (W' R^-1 W + G^-1, R from the direct solver's R0 blocks), and solve(solver="pcg") equals the
direct multi-trait solve, on random pedigrees with random missing patterns."""

import numpy as np
import pytest
import scipy.sparse as sp

import henderson as hd
from henderson.fitted.iterative import mme_operator
from tests.multitrait.sim import traits_data


def _spd(t, rng, scale=1.0):
    L = rng.standard_normal((t, t))
    return scale * (L @ L.T / t + np.eye(t))


def _missing_at_random(df, traits, rng, frac=0.3):
    """Every trait (y1 too) missing in ``frac`` of the rows, independently: all missing patterns occur."""
    df = df.copy()
    for y in traits:
        df.loc[rng.random(len(df)) < frac, y] = np.nan
    return df


def _case(t, seed):
    """t traits on 90 animals: y1 with sex, the animal term and (when t = 3) an iid herd term; y2 with
    the animal term and herd; y3 (t = 3) with the herd term only (no animal term)."""
    rng = np.random.default_rng(seed)
    G, R = _spd(t, rng), _spd(t, rng, 2.0)
    df, ped, _ = traits_data(90, G, R, seed=seed, herd_sd=0.7)
    df = _missing_at_random(df, [f"y{j + 1}" for j in range(t)], rng)
    if t == 2:
        formulas = {"y1": "y1 ~ sex + (1|id)", "y2": "y2 ~ 1 + (1|id) + (1|herd)"}
        variances = {"id": G, "herd": np.array([[0.5]]), "Residual": R}
    else:
        formulas = {"y1": "y1 ~ sex + (1|id) + (1|herd)", "y2": "y2 ~ 1 + (1|id) + (1|herd)",
                    "y3": "y3 ~ sex + (1|herd)"}
        variances = {"id": G[:2, :2], "herd": _spd(3, rng, 0.5), "Residual": R}
    with pytest.warns(hd.errors.MissingDataWarning, match="no trait recorded"):
        m = hd.Model(formulas, data=df, relationships={"id": ped})
    return m, variances


def _formed_mme(m, variances):
    """W' R^-1 W + blockdiag(0, G^-1) and W' R^-1 y densely (R from the direct solver's residual)."""
    params = m.vm.at(m.theta(variances))
    d = m.design
    W = sp.hstack([d.X] + [t.Z for t in d.terms]).toarray()
    Rinv = params.residual.rinv.toarray()
    C = W.T @ Rinv @ W
    pos = d.p
    for term, Sinv, rel in zip(d.terms, params.sinv, [m.relationships.get(t.name) for t in d.terms]):
        Kinv = np.eye(term.m) if rel is None else rel.Kinv.toarray()
        C[pos:pos + term.q * term.m, pos:pos + term.q * term.m] += np.kron(Sinv, Kinv)
        pos += term.q * term.m
    return C, W.T @ Rinv @ d.y


@pytest.mark.parametrize("t, seed", [(2, 1), (3, 2)])
def test_operator_and_preconditioner_equal_the_formed_mme(t, seed):
    m, variances = _case(t, seed)
    patterns = {tuple(r) for r in m.data[list(m.traits)].notna().to_numpy()}
    assert len(patterns) >= 2 ** t - 2          # several missing patterns (rows with none are dropped)
    C, rhs = _formed_mme(m, variances)
    op = mme_operator(m, m.vm.at(m.theta(variances)))
    x = np.random.default_rng(seed).standard_normal(C.shape[0])
    np.testing.assert_allclose(op.matvec(x), C @ x, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(op.rhs(m.design.y), rhs, rtol=1e-12, atol=1e-10)
    M = np.zeros_like(C)                          # block diagonal of C: fixed diagonal, per-level q x q
    p = m.design.p
    M[np.arange(p), np.arange(p)] = np.diag(C)[:p]
    for blk in op.terms:
        for lvl in range(blk.m):
            idx = blk.offset + lvl + blk.m * np.arange(blk.q)
            M[np.ix_(idx, idx)] = C[np.ix_(idx, idx)]
    np.testing.assert_allclose(op.preconditioner()(x), np.linalg.solve(M, x), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("t, seed", [(2, 3), (3, 4)])
def test_pcg_equals_the_direct_multitrait_solve(t, seed):
    m, variances = _case(t, seed)
    d = m.solve(variances)
    s = m.solve(variances, solver="pcg", tol=1e-16)
    assert s.converged and s.iterations["criterion"].iloc[-1] < 1e-16
    x_d = np.concatenate([d.fixed_effects["estimate"].to_numpy()]
                         + [d.random_effects[g][list(s.random_effects[g].columns)].to_numpy().T.ravel()
                            for g in s.random_effects])
    assert np.abs(s.solution - x_d).max() <= 1e-8 * np.abs(x_d).max()
    for g, df in s.random_effects.items():
        assert list(df.index) == list(d.random_effects[g].index)
        np.testing.assert_allclose(df.to_numpy(), d.random_effects[g][list(df.columns)].to_numpy(),
                                   rtol=1e-8, atol=1e-8 * np.abs(x_d).max())


def test_pcg_is_a_choice_of_solve():
    m, variances = _case(2, 5)
    with pytest.raises(ValueError, match="solver"):
        m.solve(variances, solver="gauss-seidel")
