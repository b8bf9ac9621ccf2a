"""Delta-method standard errors against gradients by central finite differences, and the naming rules."""
import numpy as np
import pytest

from henderson.errors import DesignError


def _fd_se(f, theta, V, rel=1e-6):
    g = np.zeros(len(theta))
    for j in range(len(theta)):
        h = rel * abs(theta[j])
        tp, tm = theta.copy(), theta.copy()
        tp[j] += h
        tm[j] -= h
        g[j] = (f(tp) - f(tm)) / (2 * h)
    return np.sqrt(g @ np.nan_to_num(V) @ g)


def test_icc_and_expression(fits):
    r = fits["oats"]
    th = r.variance_components["estimate"].to_numpy()
    tab = r.icc()
    for i, g in enumerate(["B", "V:B"]):
        f = lambda t, i=i: t[i] / t.sum()  # noqa: E731
        np.testing.assert_allclose(tab.loc[f"icc({g})", "estimate"], f(th), rtol=1e-12)
        np.testing.assert_allclose(tab.loc[f"icc({g})", "std_error"], _fd_se(f, th, r.vcov_theta), rtol=1e-6)
    expr = r.derived("V:B / (B + V:B + Residual)")
    np.testing.assert_allclose(expr["std_error"].iloc[0], tab.loc["icc(V:B)", "std_error"], rtol=1e-10)
    f = lambda t: (t[0] + t[1]) / t.sum()  # noqa: E731
    tab2 = r.repeatability(["B", "V:B"])
    np.testing.assert_allclose(tab2["std_error"].iloc[0], _fd_se(f, th, r.vcov_theta), rtol=1e-6)
    h = r.heritability("B", denominator=["B", "Residual"])
    f = lambda t: t[0] / (t[0] + t[2])  # noqa: E731
    np.testing.assert_allclose(h["std_error"].iloc[0], _fd_se(f, th, r.vcov_theta), rtol=1e-6)


def test_correlation_and_nonlinear_expression(fits):
    r = fits["sleepstudy"]
    th = r.variance_components["estimate"].to_numpy()
    assert r.component_names() == ["Subject[(Intercept)]", "Subject[Days,(Intercept)]", "Subject[Days]", "Residual"]
    f = lambda t: t[1] / np.sqrt(t[0] * t[2])  # noqa: E731
    c = r.correlations()
    np.testing.assert_allclose(c["estimate"].iloc[0], f(th), rtol=1e-12)
    np.testing.assert_allclose(c["std_error"].iloc[0], _fd_se(f, th, r.vcov_theta), rtol=1e-6)
    g = lambda t: np.log(t[2]) * np.sqrt(t[3]) / (t[0] + t[3])  # noqa: E731
    d = r.derived("log(Subject[Days]) * sqrt(Residual) / (Subject[(Intercept)] + Residual)")
    np.testing.assert_allclose(d["estimate"].iloc[0], g(th), rtol=1e-12)
    np.testing.assert_allclose(d["std_error"].iloc[0], _fd_se(g, th, r.vcov_theta), rtol=1e-6)


def test_unknown_component_is_named(fits):
    with pytest.raises(DesignError, match="herd"):
        fits["oats"].derived("B / (B + herd)")
    with pytest.raises(DesignError, match="denominator"):
        fits["sleepstudy"].icc("Subject[Days]")
