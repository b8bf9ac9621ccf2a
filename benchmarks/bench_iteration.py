"""Cost of one AI-REML iteration's pieces on InstEval: numeric refactorization, selected inversion, derivatives.

    python -m benchmarks.bench_iteration [--repeat 5]

Model y ~ service*dept + (1|s) + (1|d) (73,421 rows) at the REML estimates; median seconds of each
piece over --repeat runs, to compare one iteration with one numeric factorization.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

import henderson as hd
from henderson.reml.derivatives import derivatives

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "InstEval.csv.gz"


def _median_seconds(f, repeat: int) -> float:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        out.append(time.perf_counter() - t0)
    return float(np.median(out))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args(argv)
    df = pd.read_csv(DATA, dtype={c: str for c in ("s", "d", "service", "dept")})
    m = hd.Model("y ~ service*dept + (1|s) + (1|d)", df)
    t0 = time.perf_counter()
    r = m.fit()
    fit_s = time.perf_counter() - t0
    obj = m.objective("REML")
    C = m.pattern.values(r.theta)
    state = obj.at(r.theta)
    refactor = _median_seconds(lambda: obj.factor.refactor(C), a.repeat)
    selinv = _median_seconds(lambda: (obj.factor.refactor(C), obj.factor.selected_inverse()), a.repeat) - refactor
    deriv = _median_seconds(lambda: (obj.factor.refactor(C), derivatives(obj, state)), a.repeat) - refactor
    print(f"InstEval MME: {m.pattern.size:,} rows, L {obj.factor.nnz_L:,} nonzeros")
    print(f"fit {fit_s:.2f} s in {r.n_iter} iterations ({fit_s / r.n_iter:.2f} s per iteration incl. start and tables)")
    print(f"numeric refactorization {refactor:.3f} s; selected inverse {selinv:.3f} s; "
          f"score + AI (incl. selected inverse) {deriv:.3f} s")


if __name__ == "__main__":
    main()
