"""Random unbalanced designs with correlated random slopes, many with singular true covariances.

Writes designs.csv (all designs stacked; column ``design``) and index.csv (design, formula,
REML, truth) beside this file; make_boundary.R fits them with lme4. Run from the repository root:

    python tests/reference/boundary/make_designs.py

Each design has 10-40 groups of 2-15 records and one of these random parts:

    q = 2:  y ~ x + (1 + x | g)              q = 3:  y ~ x + z + (1 + x + z | g)
    q = 2 with a crossed intercept:  y ~ x + (1 + x | g) + (1 | h)

and a true Sigma that is interior (a random correlation), or singular: correlation +-1 (rank 1),
zero slope variance, zero intercept variance (q = 3: also rank 2). Values are written with
7 significant digits; R and the tests read the same rounded numbers.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
SEED = 20261201
N_DESIGNS = 64
TRUTHS = ("interior", "corr1", "zero_slope", "zero_intercept", "rank2")


def true_sigma(q: int, truth: str, rng) -> np.ndarray:
    """A q x q covariance of the named kind, variances about 0.2 to 2 (residual variance 1)."""
    sd = rng.uniform(0.45, 1.4, q)
    if truth == "interior":
        A = rng.normal(size=(q, q + 2))
        C = np.corrcoef(A)
    elif truth == "corr1" or (truth == "rank2" and q == 2):
        v = rng.choice([-1.0, 1.0], q)
        C = np.outer(v, v)
    elif truth == "rank2":
        A = rng.normal(size=(q, 2))
        C = np.corrcoef(A)
    else:
        C = np.corrcoef(rng.normal(size=(q, q + 2)))
    S = C * np.outer(sd, sd)
    if truth == "zero_slope":
        S[-1, :] = S[:, -1] = 0.0
    if truth == "zero_intercept":
        S[0, :] = S[:, 0] = 0.0
    return S


def one_design(i: int, rng) -> tuple[pd.DataFrame, dict]:
    kind = ("q2", "q3", "q2", "q3", "q2h")[i % 5]
    truth = TRUTHS[(i // 5) % len(TRUTHS)]
    q = 3 if kind == "q3" else 2
    m = int(rng.integers(10, 41))
    sizes = rng.integers(2, 16, m)
    g = np.repeat(np.arange(m), sizes)
    n = g.size
    x = rng.normal(size=n) + rng.normal(size=m)[g]
    z = rng.uniform(-1, 1, n)
    S = true_sigma(q, truth, rng)
    w, V = np.linalg.eigh(S)
    U = rng.normal(size=(m, q)) @ (V * np.sqrt(np.clip(w, 0, None))).T
    cols = [np.ones(n), x, z][:q]
    y = 1.0 + 0.5 * x + sum(U[g, a] * c for a, c in enumerate(cols)) + rng.normal(size=n)
    df = pd.DataFrame({"design": f"d{i:02d}", "g": [f"g{v:02d}" for v in g], "x": x, "y": y})
    if q == 3:
        df["z"] = z
        y += 0.3 * z
        df["y"] = y
        formula = "y ~ x + z + (1 + x + z | g)"
    elif kind == "q2h":
        h = rng.integers(0, int(rng.integers(4, 9)), n)
        df["h"] = [f"h{v}" for v in h]
        df["y"] = y + rng.normal(size=h.max() + 1)[h] * 0.7
        formula = "y ~ x + (1 + x | g) + (1 | h)"
    else:
        formula = "y ~ x + (1 + x | g)"
    spec = dict(design=f"d{i:02d}", formula=formula, REML="TRUE" if i % 4 != 3 else "FALSE", truth=truth, n=n, groups=m)
    return df, spec


def main() -> None:
    rng = np.random.default_rng(SEED)
    frames, specs = [], []
    for i in range(N_DESIGNS):
        df, spec = one_design(i, rng)
        frames.append(df)
        specs.append(spec)
    data = pd.concat(frames, ignore_index=True)[["design", "g", "h", "x", "z", "y"]]
    data.to_csv(HERE / "designs.csv", index=False, float_format="%.7g")
    pd.DataFrame(specs).to_csv(HERE / "index.csv", index=False)


if __name__ == "__main__":
    main()
