"""The few distribution functions inference needs, from scipy.special (scipy.stats costs about half a
second to import, more than a small fit).

    t_sf(x, df) = P(T > x)      t_ppf(p, df)     norm_ppf(p)
    chi2_sf(x, df)              chi2_ppf(p, df)  f_sf(x, df1, df2)
"""
from __future__ import annotations

import numpy as np
from scipy import special


def t_sf(x, df):
    """Upper tail of Student's t with ``df`` degrees of freedom (df = inf: the normal)."""
    return special.stdtr(df, -np.asarray(x, dtype=float))


def t_ppf(p, df):
    """Quantile of Student's t (df = inf: the normal)."""
    df = np.asarray(df, dtype=float)
    p = np.asarray(p, dtype=float)
    return np.where(np.isinf(df), special.ndtri(p), special.stdtrit(np.where(np.isinf(df), 1.0, df), p))


def norm_ppf(p):
    """Quantile of the standard normal."""
    return special.ndtri(p)


def chi2_sf(x, df):
    """Upper tail of the chi-square distribution."""
    return special.chdtrc(df, x)


def chi2_ppf(p, df):
    """Quantile of the chi-square distribution."""
    return special.chdtri(df, 1.0 - np.asarray(p, dtype=float))


def f_sf(x, df1, df2):
    """Upper tail of the F distribution."""
    return special.fdtrc(df1, df2, x)
