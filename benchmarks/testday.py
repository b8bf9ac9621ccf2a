"""Random regression test-day model: cows x test days, Legendre order 2 genetic and permanent environment.

    y = htd + C(parity):leg(dim, 2) + phi(dim)' a_id + phi(dim)' p_id + e,   a ~ N(0, K_g (x) A), p ~ N(0, K_p (x) I)

The issue's size is 20,000 cows x 10 test days (200,000 records):

    OPENBLAS_NUM_THREADS=1 python -m benchmarks.testday --cows 20000
    python -m benchmarks.testday --cows 2000            # the reduced size measured on a shared machine

Prints the REML fit's iterations, seconds per iteration, total seconds and the estimated K_g, K_p, sigma2.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from henderson.formula.legendre import legendre_matrix, standardize

K_G = np.array([[3.0, 0.4, -0.3], [0.4, 0.6, 0.05], [-0.3, 0.05, 0.3]])
K_P = np.array([[4.0, 0.3, -0.2], [0.3, 0.8, 0.1], [-0.2, 0.1, 0.4]])
SIGMA2 = 2.0
FORMULA = "y ~ htd + C(parity):leg(dim, 2) + (leg(dim, 2) | id) + (leg(dim, 2) | pe)"


def simulate_testday(n_cows: int, n_tests: int = 10, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(records, pedigree): n_cows daughters of n_cows/50 sires and n_cows/2 unrecorded dams (base
    animals), n_tests test days each at random days in milk 5..305, herd-test-days of about 20 records."""
    rng = np.random.default_rng(seed)
    n_sires, n_dams = max(n_cows // 50, 2), max(n_cows // 2, 2)
    Lg, Lp = np.linalg.cholesky(K_G), np.linalg.cholesky(K_P)
    a_par = rng.normal(size=(n_sires + n_dams, 3)) @ Lg.T
    sire = rng.integers(0, n_sires, n_cows)
    dam = n_sires + rng.integers(0, n_dams, n_cows)
    a_cow = 0.5 * (a_par[sire] + a_par[dam]) + np.sqrt(0.5) * rng.normal(size=(n_cows, 3)) @ Lg.T
    p_cow = rng.normal(size=(n_cows, 3)) @ Lp.T
    cow = np.repeat(np.arange(n_cows), n_tests)
    dim = rng.integers(5, 306, n_cows * n_tests)
    herd = rng.integers(0, max(n_cows // 20, 2), n_cows)[cow]
    htd = herd * 20 + dim // 15
    parity = rng.integers(1, 4, n_cows)[cow]
    phi = legendre_matrix(standardize(dim, 5, 305), 2)
    curve = np.array([[20.0, 2.0, -1.0], [25.0, 1.0, -1.5], [27.0, 0.5, -2.0]])[parity - 1]
    y = (np.einsum("ij,ij->i", phi, curve + a_cow[cow] + p_cow[cow]) + rng.normal(0, 0.3, htd.max() + 1)[htd]
         + rng.normal(0, np.sqrt(SIGMA2), len(cow)))
    ids = np.array([f"s{i}" for i in range(n_sires)] + [f"d{i}" for i in range(n_dams)]
                   + [f"c{i}" for i in range(n_cows)])
    data = pd.DataFrame({"y": y, "id": ids[n_sires + n_dams + cow], "htd": htd.astype(str), "dim": dim,
                         "parity": parity})
    data["pe"] = data["id"]
    ped = pd.DataFrame({"id": ids, "sire": [None] * (n_sires + n_dams) + list(ids[sire]),
                        "dam": [None] * (n_sires + n_dams) + list(ids[dam])})
    return data, ped


def main(argv=None) -> None:
    import henderson as hd
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cows", type=int, default=2000)
    ap.add_argument("--tests", type=int, default=10)
    args = ap.parse_args(argv)
    data, ped = simulate_testday(args.cows, args.tests)
    t0 = time.perf_counter()
    m = hd.Model(FORMULA, data, relationships={"id": hd.Pedigree.from_frame(ped)})
    t1 = time.perf_counter()
    r = m.fit()
    t2 = time.perf_counter()
    it = len(r.iterations) if hasattr(r, "iterations") else np.nan
    print(f"{args.cows} cows x {args.tests} test days = {len(data)} records; MME size {m.pattern.size}")
    print(f"build {t1 - t0:.1f} s; REML {t2 - t1:.1f} s, {it} iterations, {(t2 - t1) / max(it, 1):.2f} s/iteration; "
          f"converged {r.converged}")
    print("K_g\n", r.covariance("id").round(3), "\nK_p\n", r.covariance("pe").round(3), "\nsigma2", round(r.sigma2, 3))


if __name__ == "__main__":
    main()
