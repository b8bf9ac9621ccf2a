"""Cost of one AI-REML iteration's pieces on InstEval, in numeric factorizations.

    python -m benchmarks.bench_iteration [--repeat 5] [--orderings auto amd]

Model y ~ service*dept + (1|s) + (1|d) (73,421 rows). For each ordering ("auto": block elimination
of the 2,972 students and a dense Schur complement; "amd": CHOLMOD on the whole MME), the median
seconds over --repeat runs at the REML estimates of: the numeric factorization, the selected
inverse, the score and AI matrix (traces from the selected inverse + working-variate solves), and
a whole iteration (factorization + solve of the MME + score and AI), the last also as a multiple
of the factorization.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

import henderson as hd
from benchmarks.common import median_seconds
from henderson.reml.derivatives import derivatives

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "InstEval.csv.gz"
FORMULA = "y ~ service*dept + (1|s) + (1|d)"



def measure(df: pd.DataFrame, ordering: str, repeat: int) -> dict:
    m = hd.Model(FORMULA, df, ordering=ordering)
    t0 = time.perf_counter()
    r = m.fit()
    fit_s = time.perf_counter() - t0
    obj = m.objective("REML")
    C = m.pattern.values(r.theta)
    obj.at(r.theta)
    f = obj._factor               # the raw factor: this benchmark times refactor and selinv alone
    refactor = median_seconds(lambda: f.refactor(C), repeat)
    selinv = median_seconds(lambda: (f.refactor(C), f.selected_inverse()), repeat) - refactor

    def iteration():
        obj._theta = None            # force the numeric factorization, as a new theta would
        derivatives(obj, obj.at(r.theta))
    it = median_seconds(iteration, repeat)
    state = obj.at(r.theta)
    deriv = median_seconds(lambda: (f.refactor(C), derivatives(obj, state)), repeat) - refactor
    return dict(ordering=ordering, factor=type(f).__name__ + f" ({f.ordering})", nnz_L=f.nnz_L, fit=fit_s,
                n_iter=r.n_iter, refactor=refactor, selinv=selinv, deriv=deriv, iteration=it,
                deviance=r.deviance)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--orderings", nargs="+", default=["auto", "amd"])
    a = ap.parse_args(argv)
    df = pd.read_csv(DATA, dtype={c: str for c in ("s", "d", "service", "dept")})
    hd.Model(FORMULA, df).fit()  # load numba's cached kernels before timing
    for ordering in a.orderings:
        x = measure(df, ordering, a.repeat)
        print(f"ordering={x['ordering']}: {x['factor']}, factor entries {x['nnz_L']:,}; fit {x['fit']:.2f} s in "
              f"{x['n_iter']} iterations, REML criterion {x['deviance']:.4f}")
        print(f"  numeric factorization {x['refactor']:.3f} s; selected inverse {x['selinv']:.3f} s; "
              f"score + AI (incl. selected inverse) {x['deriv']:.3f} s; one iteration {x['iteration']:.3f} s "
              f"= {x['iteration'] / x['refactor']:.1f} factorizations")


if __name__ == "__main__":
    main()
