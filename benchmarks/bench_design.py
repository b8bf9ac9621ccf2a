"""Issue 2 benchmark: formula -> design -> MME pattern -> analysis -> refactor -> solve at scale.

    python benchmarks/bench_design.py [--n 1000000] [--fixed-levels 20000] [--random-levels 1000000]

1,000,000 records, a fixed factor with 20,000 levels plus a covariate, and a random
factor with 1,000,000 levels (one record per level, as an animal model with one record
per animal; animals nested in herd-year-seasons, 5% of records elsewhere). Reports per-phase
time and peak memory. Target: design + pattern < 10 s,
and a refactor with new variances does no re-analysis (the factor's permutation object
and symbolic analysis are reused: n_factorizations counts numeric factorizations only).
"""
from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from benchmarks.common import Phases
from henderson.covariance import TermCovariance, VarianceModel
from henderson.formula import build_design
from henderson.linalg import Factor
from henderson.mme import build_pattern


def simulate(n: int, n_fixed: int, n_random: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    animal = rng.permutation(np.arange(n) % n_random)
    hys = animal % n_fixed                       # animals nested in herd-year-seasons ...
    moved = rng.random(n) < 0.05                 # ... except 5% of records in another one
    hys[moved] = rng.integers(0, n_fixed, int(moved.sum()))
    x = rng.normal(size=n)
    y = 0.01 * hys + 0.5 * x + rng.normal(size=n_random)[animal] + rng.normal(size=n)
    return pd.DataFrame({"y": y, "x": x, "hys": pd.Categorical(hys), "animal": animal})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--fixed-levels", type=int, default=20_000)
    ap.add_argument("--random-levels", type=int, default=1_000_000)
    ap.add_argument("--ordering", default="amd")
    ap.add_argument("--json", default=None, help="write the phase table here")
    a = ap.parse_args(argv)
    df = simulate(a.n, a.fixed_levels, a.random_levels)
    ph = Phases(f"design + MME: n={a.n:,}, fixed factor {a.fixed_levels:,} levels, "
                f"random factor {a.random_levels:,} levels")
    with ph.phase("formula -> design"):
        d = build_design("y ~ x + hys + (1|animal)", df)
    vm = VarianceModel(tuple(TermCovariance(t.name, t.effects, t.m, None, 0.0) for t in d.terms))
    with ph.phase("MME pattern"):
        pat = build_pattern(d, vm)
    theta = np.array([0.5, 1.0])
    with ph.phase("values C(theta)"):
        C = pat.values(theta)
    with ph.phase("symbolic analysis"):
        f = Factor.analyze(C, ordering=a.ordering)
    with ph.phase("numeric factorization"):
        f.refactor(C)
    perm = f.perm
    with ph.phase("refactor, new variances"):
        f.refactor(pat.values(np.array([0.3, 1.2])))
    with ph.phase("solve"):
        sol = f.solve(pat.rhs(np.array([0.3, 1.2])))
    assert f.perm is perm and f.n_factorizations == 2
    print(f"X: {d.X.shape[0]:,} x {d.X.shape[1]:,} sparse ({d.X.nnz:,} nonzeros); "
          f"Z: {d.Z.shape[1]:,} columns; C: {pat.size:,} rows, {pat.pattern.nnz:,} nonzeros; "
          f"L: {f.nnz_L:,} nonzeros; solution finite: {bool(np.isfinite(sol).all())}")
    print(f"design + pattern: {ph.total(['formula -> design', 'MME pattern']):.2f} s (target < 10 s)")
    ph.dump(a.json, n=a.n, fixed_levels=a.fixed_levels, random_levels=a.random_levels)


if __name__ == "__main__":
    main()
