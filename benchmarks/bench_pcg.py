"""Issue 13 benchmark: BLUP at known variances by PCG on the matrix-free MME (no factorization).

    python -m benchmarks.bench_pcg [--sizes 1000000] [--lactations 1] [--compare] [--every 25] [--json out.json]

Population as bench_animal (henderson.simulate: herds, 10 generations, AI sires, h2 = 0.3); with
``--lactations 3`` cows have up to three records (about 9 records per 10 animals) and the model is a
repeatability model y ~ hy + (1|id) + (1|pe) with pe the cow. Variances: the simulated ones. Phases:
simulation (not in the total), pedigree, design (Model without the MME pattern), PCG (rounds, time per
round, criterion ||r||^2/||b||^2 < --tol as BLUPF90); peak memory of the process. ``--compare``
also solves by factorization and reports max |EBV_pcg - EBV_direct| / sd(EBV) (at the default tol and
at --tol-compare).
"""
from __future__ import annotations

import argparse
import logging
import time

import numpy as np

import henderson as hd
from benchmarks.common import Phases


def model_of(n, lactations, seed):
    data, pedigree, truth = hd.simulate(n, n_generations=10, h2=0.3, lactations=lactations, seed=seed)
    var = truth["variances"]
    formula, variances = "y ~ hy + (1|id)", {"id": var["additive"], "Residual": var["residual"]}
    if lactations > 1:
        data["pe"] = data["id"]
        formula += " + (1|pe)"
        variances["pe"] = var["permanent"]
    return data, pedigree, formula, variances


def run(n, lactations=1, seed=1, tol=1e-12, every=25, compare=False, tol_compare=1e-16, json_path=None):
    t = time.perf_counter()
    data, pedigree, formula, variances = model_of(n, lactations, seed)
    print(f"simulation: {time.perf_counter() - t:.1f} s (not counted)")
    ph = Phases(f"PCG BLUP, {n:,} animals ({len(data):,} records), {formula}")
    with ph.phase("pedigree: read, check, sort"):
        ped = hd.Pedigree.from_frame(pedigree, id="id", sire="sire", dam="dam")
    with ph.phase("design (+ inbreeding, A^-1)"):
        m = hd.Model(formula, data, relationships={"id": ped})
    with ph.phase("PCG solve"):
        s = m.solve(variances, solver="pcg", tol=tol, progress_every=every)
    total = ph.total()
    print(f"rounds: {s.n_iter} ({s.seconds / max(s.n_iter, 1):.3f} s per round), converged: {s.converged}, "
          f"final ||r||^2/||b||^2 = {s.iterations['criterion'].iloc[-1]:.2e}")
    print(f"total: {total:.1f} s")
    extra = {}
    if compare:
        with ph.phase("direct solve (for comparison)"):
            d = m.solve(variances)
        ebv = d.random_effects["id"]["ebv"].to_numpy()
        err = float(np.abs(s.random_effects["id"]["ebv"].to_numpy() - ebv).max() / ebv.std())
        tight = m.solve(variances, solver="pcg", tol=tol_compare)
        err_t = float(np.abs(tight.random_effects["id"]["ebv"].to_numpy() - ebv).max() / ebv.std())
        print(f"max |EBV_pcg - EBV_direct| / sd(EBV): {err:.2e} at tol {tol:g} ({s.n_iter} rounds); "
              f"{err_t:.2e} at tol {tol_compare:g} ({tight.n_iter} rounds)")
        extra = dict(max_diff_sd=err, max_diff_sd_tight=err_t, rounds_tight=tight.n_iter)
    ph.dump(json_path, n_animals=n, n_records=len(data), rounds=s.n_iter, converged=s.converged, total=total,
            **extra)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--lactations", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tol", type=float, default=1e-12)
    ap.add_argument("--every", type=int, default=25, help="progress line every this many rounds")
    ap.add_argument("--compare", action="store_true", help="also solve by factorization and compare EBVs")
    ap.add_argument("--tol-compare", type=float, default=1e-16)
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for n in a.sizes:
        run(n, a.lactations, a.seed, a.tol, a.every, a.compare, a.tol_compare, a.json)
        print()


if __name__ == "__main__":
    main()
