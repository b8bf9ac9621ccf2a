"""Multi-trait REML against the dense brute-force oracle (tests/multitrait/sim.py): V = sum Z (Sigma (x) K) Z' + R
over the stacked records, REML log-likelihood maximized by Nelder-Mead and Powell."""

import warnings

import numpy as np
import pytest

import henderson as hd
from tests.multitrait.sim import dense_V, oracle_m2ll, traits_data
from tests.oracles import reml_maximum

G2 = [[1.0, 0.5], [0.5, 2.0]]
R2 = [[2.0, 0.6], [0.6, 3.0]]


def _tri(S):
    S = np.asarray(S)
    return np.array([S[a, b] for a in range(len(S)) for b in range(a + 1)])


def _full(x, q):
    S = np.zeros((q, q))
    i = 0
    for a in range(q):
        for b in range(a + 1):
            S[a, b] = S[b, a] = x[i]
            i += 1
    return S


def _psd_V(model, sigmas, R0, K):
    """dense_V, or None (the oracle's 'outside') when a covariance matrix is not positive semi-definite."""
    if any(np.linalg.eigvalsh(S)[0] < 0 for S in list(sigmas) + [R0]):
        return None
    return dense_V(model, sigmas, R0, K)


@pytest.fixture(scope="module")
def bivariate():
    df, ped, A = traits_data(120, G2, R2, seed=3)
    m = hd.Model({"y1": "y1 ~ sex + (1|id)", "y2": "y2 ~ 1 + (1|id)"}, data=df, relationships={"id": ped})
    return m, A


def test_solve_loglik_equals_dense_oracle(bivariate):
    m, A = bivariate
    r = m.solve(variances={"id": np.array(G2), "Residual": np.array(R2)})
    assert np.isnan(m.data["y2"]).sum() > 20   # records with trait 2 missing are kept
    assert r.loglik == pytest.approx(-0.5 * oracle_m2ll(m, [np.array(G2)], np.array(R2), [A]), abs=1e-8)


def test_solve_blups_equal_dense_gls(bivariate):
    """b = (X'V^-1X)^-1 X'V^-1 y and u = (Sigma (x) A) Z'V^-1 (y - X b), densely."""
    m, A = bivariate
    r = m.solve(variances={"id": np.array(G2), "Residual": np.array(R2)})
    y, X = m.design.y, m.design.X.toarray()
    V = dense_V(m, [np.array(G2)], np.array(R2), [A])
    Vi = np.linalg.inv(V)
    b = np.linalg.solve(X.T @ Vi @ X, X.T @ Vi @ y)
    term = m.design.terms[0]
    K = A.loc[term.levels, term.levels].to_numpy()
    u = np.kron(np.array(G2), K) @ term.Z.toarray().T @ Vi @ (y - X @ b)
    np.testing.assert_allclose(r.fixed_effects["estimate"], b, rtol=1e-9)
    np.testing.assert_allclose(r.random_effects["id"][["y1", "y2"]].to_numpy().T.ravel(), u, atol=1e-9)


@pytest.mark.slow
def test_bivariate_reml_reaches_the_oracle_maximum(bivariate):
    m, A = bivariate
    f = m.fit()
    assert f.converged
    S, R0 = f.covariance("id").to_numpy(), f.covariance("Residual").to_numpy()
    assert f.loglik == pytest.approx(-0.5 * oracle_m2ll(m, [S], R0, [A]), abs=1e-8)
    y, X = m.design.y, m.design.X.toarray()
    best, x = reml_maximum(y, X, lambda x: _psd_V(m, [_full(x[:3], 2)], _full(x[3:], 2), [A]),
                           np.concatenate([_tri(G2), _tri(R2)]))
    assert f.loglik >= -0.5 * best - 1e-7
    np.testing.assert_allclose(f.theta, x, rtol=2e-3, atol=2e-3)


def test_ai_and_em_reach_the_same_optimum(bivariate):
    m, _ = bivariate
    ai, em = m.fit(algorithm="ai"), m.fit(algorithm="em")
    assert ai.converged and em.converged
    assert em.loglik == pytest.approx(ai.loglik, abs=1e-7)
    np.testing.assert_allclose(em.theta, ai.theta, rtol=1e-4)


@pytest.mark.slow
def test_three_traits_term_in_some_traits_reaches_the_oracle_maximum():
    """Three traits, the pedigree term in all, an iid herd term in traits 1 and 3 only, rows missing traits
    2 and 3 (and four rows with none, dropped)."""
    G3 = [[2.0, 1.0, 0.5], [1.0, 3.0, 0.8], [0.5, 0.8, 2.5]]
    R3 = [[2.0, 0.6, 0.1], [0.6, 3.0, 0.5], [0.1, 0.5, 2.5]]
    df, ped, A = traits_data(90, G3, R3, seed=1, herd_sd=1.0)
    df.loc[df.index[:4], ["y1", "y2", "y3"]] = np.nan
    with pytest.warns(hd.MissingDataWarning, match="4 row"):
        m = hd.Model({"y1": "y1 ~ sex + (1|id) + (1|herd)", "y2": "y2 ~ 1 + (1|id)",
                      "y3": "y3 ~ sex + (1|herd) + (1|id)"}, data=df, relationships={"id": ped})
    assert m.trait_design.n_dropped == 4 and [t.effects for t in m.vm.terms] == [("y1", "y2", "y3"), ("y1", "y3")]
    f = m.fit()
    assert f.converged and f.n_dropped == 4
    sig = [f.covariance("id").to_numpy(), f.covariance("herd").to_numpy()]
    R0 = f.covariance("Residual").to_numpy()
    assert f.loglik == pytest.approx(-0.5 * oracle_m2ll(m, sig, R0, [A, None]), abs=1e-8)
    y, X = m.design.y, m.design.X.toarray()

    def v_of(x):
        return _psd_V(m, [_full(x[:6], 3), _full(x[6:9], 2)], _full(x[9:], 3), [A, None])
    best, x = reml_maximum(y, X, v_of, np.concatenate([_tri(G3), _tri([[1.0, 0.0], [0.0, 1.0]]), _tri(R3)]))
    assert f.loglik >= -0.5 * best - 1e-7
    np.testing.assert_allclose(f.theta, x, rtol=1e-2, atol=1e-2)


def test_traits_without_a_common_term():
    """y1 has the pedigree term, y2 a herd term: the traits are related through R0 only."""
    df, ped, A = traits_data(80, G2, R2, seed=7, herd_sd=1.0)
    m = hd.Model({"y1": "y1 ~ 1 + (1|id)", "y2": "y2 ~ sex + (1|herd)"}, data=df, relationships={"id": ped})
    assert [t.effects for t in m.vm.terms] == [("y1",), ("y2",)]
    r = m.solve(variances={"id": [[1.0]], "herd": [[0.7]], "Residual": R2})
    assert r.loglik == pytest.approx(-0.5 * oracle_m2ll(m, [np.eye(1), np.eye(1) * 0.7], np.array(R2), [A, None]),
                                     abs=1e-8)
    f = m.fit()
    assert f.converged
    S = [f.covariance("id").to_numpy(), f.covariance("herd").to_numpy()]
    assert f.loglik == pytest.approx(-0.5 * oracle_m2ll(m, S, f.covariance("Residual").to_numpy(), [A, None]),
                                     abs=1e-8)


def test_one_trait_dict_equals_the_single_trait_model():
    df, ped, _ = traits_data(150, G2, R2, seed=11)
    multi = hd.Model({"y1": "y1 ~ sex + (1|id)"}, data=df, relationships={"id": ped})
    single = hd.Model("y1 ~ sex + (1|id)", data=df, relationships={"id": ped})
    a, b = multi.fit(), single.fit()
    assert b.theta[0] > 0.1   # an interior optimum
    assert a.loglik == pytest.approx(b.loglik, abs=1e-8)
    np.testing.assert_allclose(a.theta, b.theta, rtol=1e-8)
    np.testing.assert_allclose(a.fixed_effects["estimate"], b.fixed_effects["estimate"], rtol=1e-8)
    s1 = multi.solve({"id": [[0.5]], "Residual": [[1.5]]})
    s2 = single.solve({"id": 0.5, "Residual": 1.5})
    assert s1.loglik == pytest.approx(s2.loglik, abs=1e-8)
    np.testing.assert_allclose(s1.random_effects["id"]["y1"], s2.random_effects["id"]["(Intercept)"], atol=1e-10)


@pytest.mark.slow
def test_genetic_correlation_of_one_reaches_the_oracle_maximum():
    """A rank-one genetic covariance (correlation 1): AI steps stop at the PSD boundary, the finish over the
    Cholesky factors of every block (R0's too) reaches the oracle's maximum to 1e-5."""
    df, ped, A = traits_data(150, [[1.0, 1.2], [1.2, 1.44 + 1e-9]], R2, seed=1)
    m = hd.Model({"y1": "y1 ~ sex + (1|id)", "y2": "y2 ~ 1 + (1|id)"}, data=df, relationships={"id": ped})
    with warnings.catch_warnings():   # the finish may end in its line search a little short of its tolerance
        warnings.simplefilter("ignore", hd.ConvergenceWarning)
        f = m.fit()
    assert "finish" in f.criteria and f.singular
    cov = f.covariance("id").to_numpy()
    assert cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1]) > 0.999
    best, _ = reml_maximum(m.design.y, m.design.X.toarray(),
                           lambda x: _psd_V(m, [_full(x[:3], 2)], _full(x[3:], 2), [A]),
                           np.concatenate([_tri([[1.0, 0.5], [0.5, 1.5]]), _tri(R2)]))
    assert f.loglik >= -0.5 * best - 1e-5


def test_ml_loglik_equals_dense_oracle(bivariate):
    """ML: -1/2 [n log 2pi + log|V| + e'V^-1 e] at the GLS b, densely, at henderson's ML estimates."""
    m, A = bivariate
    r = m.fit(method="ML")
    assert r.converged
    V = dense_V(m, [r.covariance("id").to_numpy()], r.covariance("Residual").to_numpy(), [A])
    y, X = m.design.y, m.design.X.toarray()
    Vi = np.linalg.inv(V)
    e = y - X @ np.linalg.solve(X.T @ Vi @ X, X.T @ Vi @ y)
    assert r.loglik == pytest.approx(-0.5 * (len(y) * np.log(2 * np.pi) + np.linalg.slogdet(V)[1] + e @ Vi @ e),
                                     abs=1e-8)


def test_score_equals_numerical_derivatives(bivariate):
    """The REML score over R0's and Sigma's elements (R^-1 per missing pattern, traces from the selected
    inverse) equals central differences of the log-likelihood; EM keeps R0 positive definite."""
    from henderson.reml.derivatives import derivatives, em_update
    m, _ = bivariate
    obj = m.objective()
    theta = m.theta({"id": G2, "Residual": R2})
    d = derivatives(obj, obj.at(theta))
    h = 1e-5
    num = [(obj.at(theta + h * e).loglik - obj.at(theta - h * e).loglik) / (2 * h) for e in np.eye(len(theta))]
    np.testing.assert_allclose(d.score, num, rtol=1e-6, atol=1e-7)
    new = em_update(obj, obj.at(theta), d)
    assert obj.at(new).loglik > obj.at(theta).loglik


def test_trait_without_random_terms():
    """y2 has fixed effects only: its covariance with y1 is R0's alone; AI and EM agree."""
    df, ped, A = traits_data(100, G2, R2, seed=8)
    m = hd.Model({"y1": "y1 ~ 1 + (1|id)", "y2": "y2 ~ sex"}, data=df, relationships={"id": ped})
    ai, em = m.fit(), m.fit(algorithm="em")
    assert ai.converged and em.converged
    assert em.loglik == pytest.approx(ai.loglik, abs=1e-7)
    assert ai.loglik == pytest.approx(-0.5 * oracle_m2ll(m, [ai.covariance("id").to_numpy()],
                                                         ai.covariance("Residual").to_numpy(), [A]), abs=1e-8)
    assert list(ai.heritability().index) == ["y1"]
