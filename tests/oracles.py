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
