"""The multi-trait finish at a rank-deficient covariance (henderson/reml/factors.py with polish.py).

Oracle: the dense REML log-likelihood (sim.oracle_m2ll) maximized by BFGS over the face of the PSD cone
the fit ends on (Sigma = L L' with L of q x rank, R0 = L0 L0'), and the dense likelihood falling when
Sigma leaves that face along its null space (so the face's maximum is the maximum over the PSD cone).
"""
import warnings

import numpy as np
import pytest
from scipy.optimize import minimize

import henderson as hd
from henderson.reml import factors
from tests.multitrait.sim import oracle_m2ll, traits_data

R2 = [[2.0, 0.6], [0.6, 3.0]]
R3 = [[2.0, 0.6, 0.1], [0.6, 3.0, 0.5], [0.1, 0.5, 2.5]]


def _trapezoid(p, q, rank):
    """q x rank lower-trapezoidal L from its stacked entries (row by row)."""
    L = np.zeros((q, rank))
    rows, cols = np.tril_indices(q, 0, rank)
    L[rows, cols] = p
    return L


def _face_maximum(m, A, rank, G, R0):
    """(max over the rank-``rank`` face of -1/2 oracle_m2ll, Sigma there), by BFGS from (G, R0)."""
    q = len(R0)
    n_g = len(np.tril_indices(q, 0, rank)[0])
    w, V = np.linalg.eigh(G)
    top = V[:, ::-1][:, :rank] * np.sqrt(w[::-1][:rank])
    Q, Rf = np.linalg.qr(top.T)   # top = Rf' Q': a lower-trapezoidal factor of top top'
    p0 = np.concatenate([Rf.T[np.tril_indices(q, 0, rank)], np.linalg.cholesky(R0)[np.tril_indices(q)]])

    def sigmas(p):
        L, L0 = _trapezoid(p[:n_g], q, rank), np.zeros((q, q))
        L0[np.tril_indices(q)] = p[n_g:]
        return L @ L.T, L0 @ L0.T

    def f(p):
        S, R = sigmas(p)
        return oracle_m2ll(m, [S], R, [A])
    res = minimize(f, p0, method="BFGS", options=dict(gtol=1e-7))
    S, R = sigmas(res.x)
    w, V = np.linalg.eigh(S)
    for j in range(q - rank):   # leaving the face along its null space lowers the likelihood
        n = V[:, j]
        assert oracle_m2ll(m, [S + 1e-4 * np.outer(n, n)], R, [A]) > res.fun
    return -0.5 * float(res.fun), S


def _fit(m, algorithm):
    with warnings.catch_warnings():
        warnings.simplefilter("error", hd.ConvergenceWarning)
        return m.fit(algorithm=algorithm)


def _check_boundary_fit(m, A, rank):
    ai, em = _fit(m, "ai"), _fit(m, "em")
    for f in (ai, em):
        assert f.converged and "finish" in f.criteria
        assert f.criteria["newton_decrement"] <= factors.TOL
        assert np.linalg.eigvalsh(f.covariance("id").to_numpy())[-rank - 1] < 1e-6
        # flagged as in single-trait models (cholesky.boundary_flags): the last trait's genetic covariances
        # with the earlier ones on the boundary, no standard error in the rank-deficient block
        vc = f.variance_components
        g = vc[vc.group == "id"]
        assert f.singular and g["std_error"].isna().all()
        assert (g["boundary"] == ((g["term1"] == g["term1"].iloc[-1]) & (g["term2"].fillna("") != ""))).all()
    best, S = _face_maximum(m, A, rank, ai.covariance("id").to_numpy(), ai.covariance("Residual").to_numpy())
    assert ai.loglik == pytest.approx(best, abs=1e-6)
    assert em.loglik == pytest.approx(best, abs=1e-6)
    np.testing.assert_allclose(ai.covariance("id").to_numpy(), S, atol=2e-3)


@pytest.mark.slow
def test_genetic_correlation_of_one_converges_at_the_dense_maximum():
    """Bivariate, simulated genetic correlation 1 (rank-one Sigma_g)."""
    df, ped, A = traits_data(150, [[1.0, 1.2], [1.2, 1.44 + 1e-9]], R2, seed=1)
    m = hd.Model({"y1": "y1 ~ sex + (1|id)", "y2": "y2 ~ 1 + (1|id)"}, data=df, relationships={"id": ped})
    _check_boundary_fit(m, A, rank=1)


@pytest.mark.slow
def test_three_traits_one_genetic_variance_zero_converges_at_the_dense_maximum():
    """Three traits, trait 3 simulated without genetic variance: Sigma_g of rank 2 at the optimum."""
    G3 = np.array([[2.0, 1.0, 0.0], [1.0, 3.0, 0.0], [0.0, 0.0, 0.0]]) + 1e-12 * np.eye(3)
    df, ped, A = traits_data(100, G3, R3, seed=2)
    m = hd.Model({"y1": "y1 ~ sex + (1|id)", "y2": "y2 ~ 1 + (1|id)", "y3": "y3 ~ 1 + (1|id)"}, data=df,
                 relationships={"id": ped})
    _check_boundary_fit(m, A, rank=2)


def test_factor_hessian_at_an_interior_optimum_equals_differences_of_the_gradient():
    """J' AI J of FactorSpace (the score terms vanish at an interior optimum) against central differences
    of the chain-rule gradient."""
    df, ped, _ = traits_data(120, [[1.0, 0.5], [0.5, 2.0]], R2, seed=3)
    m = hd.Model({"y1": "y1 ~ sex + (1|id)", "y2": "y2 ~ 1 + (1|id)"}, data=df, relationships={"id": ped})
    f = m.fit()
    space = factors.FactorSpace(m.objective(), f.theta)
    x = space.start(f.theta)
    assert not space.near_face(x).any()
    H = space.hessian(x)
    h = 1e-5
    fd = np.array([(space.evaluate(x + h * e)[1] - space.evaluate(x - h * e)[1]) / (2 * h) for e in np.eye(len(x))])
    np.testing.assert_allclose(H, 0.5 * (fd + fd.T), rtol=0.05, atol=0.05 * np.abs(fd).max())
