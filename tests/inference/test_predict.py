"""Prediction, residuals and the marginal covariance block, against dense NumPy computations."""
import numpy as np
import pandas as pd
import pytest


def test_new_levels_predict_x_b_exactly(fits, frames):
    r = fits["sleepstudy"]
    new = pd.DataFrame({"Days": [0.0, 3.0, 7.5], "Subject": ["new1", "new2", "new1"]})
    b = r.fixed_effects["estimate"].to_numpy()
    X = np.column_stack([np.ones(3), new["Days"]])
    assert np.array_equal(r.predict(new), X @ b)


def test_known_levels_reproduce_fitted_and_blups(fits, frames):
    r = fits["sleepstudy"]
    d = frames["sleepstudy"]
    np.testing.assert_allclose(r.predict(d), r.fitted(), rtol=1e-12)
    u = r.random_effects["Subject"]
    b = r.fixed_effects["estimate"].to_numpy()
    row = d.iloc[[17]]
    s = row["Subject"].iloc[0]
    expect = b[0] + u.loc[s, "(Intercept)"] + row["Days"].iloc[0] * (b[1] + u.loc[s, "Days"])
    np.testing.assert_allclose(r.predict(row), [expect], rtol=1e-12)


def test_excluding_random_terms(fits, frames):
    r = fits["Penicillin_half"]
    d = frames["Penicillin_half"]
    b = r.fixed_effects["estimate"].to_numpy()
    xb = b[0] + b[1] * (d["half"] == "second").to_numpy()
    np.testing.assert_allclose(r.predict(d, random=False), xb, rtol=1e-12)
    only_plate = xb + r.random_effects["plate"].loc[d["plate"], "(Intercept)"].to_numpy()
    np.testing.assert_allclose(r.predict(d, random=["plate"]), only_plate, rtol=1e-12)
    np.testing.assert_allclose(r.residuals("marginal"), d["diameter"] - xb, rtol=1e-12)


def test_residual_kinds(fits):
    r = fits["oats"]
    np.testing.assert_allclose(r.residuals("standardized"), r.residuals() / np.sqrt(r.sigma2), rtol=1e-12)
    with pytest.raises(ValueError):
        r.residuals("deviance")


def test_marginal_covariance_equals_dense_v(fits):
    """The rows of block 'I' of oats: V = Z G Z' + sigma2 I computed densely on all rows, then sliced."""
    r = fits["oats"]
    m = r.model
    sigmas, s2 = m.vm.unpack(r.theta)
    V = s2 * np.eye(m.design.n)
    for t, S in zip(m.design.terms, sigmas):
        Z = t.Z.toarray()
        V += S[0, 0] * Z @ Z.T
    block = r.marginal_covariance("B", "I")
    rows = np.flatnonzero(m.design.term("B").Z[:, list(m.design.term("B").levels).index("I")].toarray().ravel())
    assert block.shape == (len(rows), len(rows)) == (12, 12)
    np.testing.assert_allclose(block.to_numpy(), V[np.ix_(rows, rows)], rtol=1e-12)


def test_marginal_covariance_vector_term(fits):
    r = fits["sleepstudy"]
    sigmas, s2 = r.model.vm.unpack(r.theta)
    block = r.marginal_covariance("Subject", "308")
    Zi = np.column_stack([np.ones(10), np.arange(10.0)])
    np.testing.assert_allclose(block.to_numpy(), Zi @ sigmas[0] @ Zi.T + s2 * np.eye(10), rtol=1e-12)
