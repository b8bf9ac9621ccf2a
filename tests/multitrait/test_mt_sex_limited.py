"""Sex-limited traits: the residual covariance of traits never recorded on the same row is not a parameter.

It is held at 0 (as BLUPF90 and WOMBAT do); every other covariance is estimated and has the standard error
of the inverse average information, here computed densely (V, P = V^-1 - V^-1 X (X'V^-1 X)^-1 X'V^-1,
AI_ij = y'P V_i P V_j P y / 2, score_i = -(tr(P V_i) - y'P V_i P y) / 2) over the estimated parameters.
Three traits: y1 on males, y2 on females, y3 on everyone; R0 must be positive definite as a whole with
R0[y1, y2] = 0 (the covariance of a full trait vector), which with strong residual correlations of y1 and
y2 with y3 puts the optimum on the boundary of that set.
"""
import warnings

import numpy as np
import pandas as pd
import pytest

import henderson as hd
from henderson.errors import HendersonWarning
from tests.oracles import tabular_a

from .mt_oracle import dense_mme, incidence, stacked
from .mt_random import random_pedigree


def sex_limited_data(seed, n, G0, R0, recorded):
    """One row per non-founder; traits simulated from the animal model; ``recorded[sex]``: the traits
    recorded on that sex. (data, pedigree, Y, Z, A)."""
    rng = np.random.default_rng(seed)
    t = len(G0)
    sire, dam = random_pedigree(rng, n, 20)
    A = tabular_a(sire, dam)
    ids = np.array([f"a{i}" for i in range(n)], dtype=object)
    U = np.linalg.cholesky(A) @ rng.standard_normal((n, t)) @ np.linalg.cholesky(np.array(G0)).T
    rows = np.arange(20, n)
    Y = 10 + U[rows] + rng.standard_normal((rows.size, t)) @ np.linalg.cholesky(np.array(R0)).T
    sex = np.where(rows % 2 == 0, "M", "F")
    for s, traits in recorded.items():
        Y[np.ix_(sex == s, [k for k in range(t) if k not in traits])] = np.nan
    data = pd.DataFrame({"id": ids[rows], "sex": sex, **{f"y{k + 1}": Y[:, k] for k in range(t)}})
    ped = pd.DataFrame({"id": ids, "sire": np.where(sire >= 0, ids[np.maximum(sire, 0)], "0"),
                        "dam": np.where(dam >= 0, ids[np.maximum(dam, 0)], "0")})
    return data, hd.Pedigree.from_frame(ped), Y, incidence(data["id"], list(ids)), A


def model(data, ped, t, order=None):
    order = range(1, t + 1) if order is None else order
    return hd.Model({f"y{k}": f"y{k} ~ 1 + (1|id)" for k in order}, data, relationships={"id": ped})


def pairs(t):
    return [(a, b) for a in range(t) for b in range(a + 1)]


def dense_score_ai(Y, Z, A, G0, R0):
    """(score, AI) over (G0's lower triangle, R0's lower triangle), row by row, densely (module docstring)."""
    t = Y.shape[1]
    X_list = [np.ones((len(Y), 1))] * t
    y, X, Zs, trait, row = stacked(Y, X_list, [(Z, list(range(t)))])
    same = row[:, None] == row[None, :]
    V = Zs @ np.kron(G0, A) @ Zs.T + np.asarray(R0)[np.ix_(trait, trait)] * same
    Vi = np.linalg.inv(V)
    ViX = Vi @ X
    P = Vi - ViX @ np.linalg.solve(X.T @ ViX, ViX.T)
    dV = []
    for a, b in pairs(t):
        E = np.zeros((t, t))
        E[a, b] = E[b, a] = 1.0
        dV.append(Zs @ np.kron(E, A) @ Zs.T)
    for a, b in pairs(t):
        E = np.zeros((t, t))
        E[a, b] = E[b, a] = 1.0
        dV.append(E[np.ix_(trait, trait)] * same)
    Py = P @ y
    score = np.array([-0.5 * (np.sum(P * D) - Py @ D @ Py) for D in dV])
    ai = 0.5 * np.array([[Py @ Di @ P @ Dj @ Py for Dj in dV] for Di in dV])
    return score, ai


def fitted(r, t):
    traits = [f"y{k}" for k in range(1, t + 1)]
    return (r.covariance("id").loc[traits, traits].to_numpy(), r.covariance("Residual").loc[traits, traits].to_numpy())


def check_against_dense(r, Y, Z, A, t, held):
    """Stationary over the estimated parameters and their standard errors those of the inverse dense AI;
    the held covariance 0 with no standard error."""
    G0, R0 = fitted(r, t)
    score, ai = dense_score_ai(Y, Z, A, G0, R0)
    vc = r.variance_components
    free = np.ones(len(vc), bool)
    free[held] = False
    assert np.abs(score[free]).max() < 1e-3 * np.abs(np.diag(ai)).max() ** 0.5
    se = np.sqrt(np.diag(np.linalg.inv(ai[np.ix_(free, free)])))
    np.testing.assert_allclose(vc["std_error"].to_numpy()[free], se, rtol=1e-6)
    assert (vc["estimate"].to_numpy()[held] == 0).all() and vc["std_error"].iloc[held].isna().all()


def test_two_sex_limited_traits_standard_errors_are_the_dense_inverse_ai():
    data, ped, Y, Z, A = sex_limited_data(5, 240, [[1.0, 0.4], [0.4, 1.5]], [[2.0, 0.0], [0.0, 1.0]],
                                          {"M": [0], "F": [1]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", HendersonWarning)
        r = model(data, ped, 2).fit()
    assert r.converged
    check_against_dense(r, Y, Z, A, 2, held=[4])
    assert r.correlations().set_index("group").loc["Residual"].drop(["trait1", "trait2", "estimate"]).isna().all()


def three_traits(seed, R0):
    return sex_limited_data(seed, 240, [[1.0, 0.3, 0.3], [0.3, 1.0, 0.3], [0.3, 0.3, 1.0]], R0,
                            {"M": [0, 2], "F": [1, 2]})


def test_three_traits_two_never_together_hold_only_that_covariance():
    """y1 and y2 each recorded with y3: R0[y2, y1] held at 0, R0[y3, y1] and R0[y3, y2] estimated."""
    data, ped, Y, Z, A = three_traits(6, [[2.0, 0.4, 0.5], [0.4, 1.5, -0.4], [0.5, -0.4, 1.0]])
    r = model(data, ped, 3).fit()
    assert r.converged
    held = r.variance_components.index[(r.variance_components.group == "Residual")
                                       & (r.variance_components.term1 == "y2")
                                       & (r.variance_components.term2 == "y1")].tolist()
    assert held == [7]
    check_against_dense(r, Y, Z, A, 3, held=held)
    assert np.linalg.eigvalsh(fitted(r, 3)[1])[0] > 0


@pytest.mark.parametrize("order", [(1, 2, 3), (3, 1, 2)])
def test_three_traits_optimum_on_the_boundary_of_a_positive_definite_r0(order):
    """Residual correlations 0.85 of y1 and y2 with y3 (and 0.72 of y1 with y2, never seen): with R0[y2, y1]
    held at 0 R0 is positive definite only while r13^2 + r23^2 < 1, so the estimate ends on that boundary
    (the smallest eigenvalue of R0 about 0) and no move along it that keeps R0 PSD raises the dense
    likelihood. With y3 first the finish over R0's Cholesky factor orders y3 last (reml.factors: the held
    R0[y2, y1] = 0 is then L0[y2, y1] = 0)."""
    R0 = np.array([[1.0, 0.72, 0.85], [0.72, 1.0, 0.85], [0.85, 0.85, 1.0]])
    data, ped, Y, Z, A = three_traits(7, R0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = model(data, ped, 3, order).fit()
    assert r.converged
    G, R = fitted(r, 3)
    assert R[0, 1] == 0.0
    w = np.linalg.eigvalsh(R)
    assert 0 <= w[0] < 1e-4 * w[-1]
    f0 = dense_mme(Y, [np.ones((len(Y), 1))] * 3, Z, A, G, R).m2ll
    assert -2 * r.loglik == pytest.approx(f0, rel=1e-8)
    L, M = np.linalg.cholesky(R + 1e-12 * np.eye(3)), np.linalg.cholesky(G)
    rng = np.random.default_rng(0)
    for _ in range(4):     # small moves of the Cholesky factors keeping L[1, 0] = 0: R0 stays PSD
        dL, dM = np.tril(rng.normal(size=(3, 3))), np.tril(rng.normal(size=(3, 3)))
        dL[1, 0] = 0.0
        L1, M1 = L + 0.01 * dL, M + 0.01 * dM
        assert dense_mme(Y, [np.ones((len(Y), 1))] * 3, Z, A, M1 @ M1.T, L1 @ L1.T).m2ll > f0 - 1e-6


def test_a_given_covariance_of_traits_never_together_warns_and_is_ignored():
    data, ped, Y, Z, A = sex_limited_data(5, 240, [[1.0, 0.4], [0.4, 1.5]], [[2.0, 0.0], [0.0, 1.0]],
                                          {"M": [0], "F": [1]})
    m = model(data, ped, 2)
    given = {"id": [[1.0, 0.4], [0.4, 1.5]], "Residual": [[2.0, 0.5], [0.5, 1.0]]}
    with pytest.warns(HendersonWarning, match=r"never recorded on the same row.*\(y2, y1\) = 0.5"):
        s = m.solve(given)
    plain = m.solve({**given, "Residual": [[2.0, 0.0], [0.0, 1.0]]})
    assert s.loglik == plain.loglik
    np.testing.assert_array_equal(s.covariance("Residual").to_numpy(), [[2.0, 0.0], [0.0, 1.0]])
    with pytest.warns(HendersonWarning, match="never recorded on the same row"):
        r = m.fit(start=given)
    np.testing.assert_allclose(r.theta, m.fit().theta, rtol=1e-4)   # two starts, the same optimum
