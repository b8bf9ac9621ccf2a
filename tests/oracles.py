"""Independent dense oracles shared by several test folders."""
import numpy as np


def tabular_a(sire, dam):
    """Numerator relationship matrix by the tabular method; parents must precede offspring (-1 unknown)."""
    n = len(sire)
    a = np.zeros((n, n))
    for i in range(n):
        s, d = sire[i], dam[i]
        for j in range(i):
            v = 0.5 * ((a[s, j] if s >= 0 else 0.0) + (a[d, j] if d >= 0 else 0.0))
            a[i, j] = a[j, i] = v
        a[i, i] = 1.0 + (0.5 * a[s, d] if s >= 0 and d >= 0 else 0.0)
    return a


def reml_m2ll(y, X, V):
    """-2 REML log-likelihood with V dense: (n - p) log 2pi + log|V| + log|X'V^-1X| + r'V^-1 r."""
    Vi = np.linalg.inv(V)
    XVX = X.T @ Vi @ X
    b = np.linalg.solve(XVX, X.T @ Vi @ y)
    r = y - X @ b
    n, p = X.shape
    return float((n - p) * np.log(2 * np.pi) + np.linalg.slogdet(V)[1] + np.linalg.slogdet(XVX)[1] + r @ Vi @ r)


def reml_maximum(y, X, v_of, x0):
    """(-2 REML log-likelihood, x) at its minimum over x, V = v_of(x) (1e30 where V is not PD), by
    Nelder-Mead from x0 then Powell, both to tight tolerances: the brute-force oracle."""
    from scipy.optimize import minimize

    def f(x):
        V = v_of(x)
        if V is None or np.linalg.eigvalsh(V)[0] <= 0:
            return 1e30
        return reml_m2ll(y, X, V)
    res = minimize(f, x0, method="Nelder-Mead", options=dict(xatol=1e-9, fatol=1e-11, maxiter=20000, maxfev=20000))
    res = minimize(f, res.x, method="Powell", options=dict(xtol=1e-10, ftol=1e-13, maxiter=20000))
    return float(res.fun), res.x
