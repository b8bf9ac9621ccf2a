"""Issue 13 benchmark: BLUP at known variances by PCG on the matrix-free MME (no factorization).

    python -m benchmarks.bench_pcg [--sizes 1000000] [--lactations 1] [--compare] [--every 25] [--json out.json]

Population as bench_animal (henderson.simulate: herds, 10 generations, AI sires, h2 = 0.3); with
``--lactations 3`` cows have up to three records (about 9 records per 10 animals) and the model is a
repeatability model y ~ hy + (1|id) + (1|pe) with pe the cow. Variances: the simulated ones. Phases:
simulation (not in the total), pedigree, design (Model without the MME pattern), PCG (rounds, time per
round, criterion ||r||^2/||b||^2 < --tol as BLUPF90; deflated PCG); peak memory of the process.
``--compare`` also solves by factorization and reports max |EBV_pcg - EBV_direct| / sd(EBV) (at the
default tol and at --tol-compare), and solves by plain PCG (no deflation) to --tol: its rounds, seconds
(wall and CPU) and EBV difference. The load average (1, 5, 15 min) at the start and
at the end goes to the JSON.

``--traits 2``: a bivariate animal model {"y": "y ~ hy + (1|id)", "y2": "y2 ~ hy + (1|id)"} (henderson
.multitrait), y2 from a second breeding value along the same pedigree (genetic correlation 0.5, h2 0.25)
and a residual correlated 0.3 with y's, y2 missing on --missing of the records; the EBV difference
per trait.
"""
from __future__ import annotations

import argparse
import logging
import os
import time

import numpy as np
import pandas as pd

import henderson as hd
from benchmarks.common import Phases
from henderson.fitted.iterative import solve_pcg


def model_of(n, lactations, seed):
    data, pedigree, truth = hd.simulate(n, n_generations=10, h2=0.3, lactations=lactations, seed=seed)
    var = truth["variances"]
    formula, variances = "y ~ hy + (1|id)", {"id": var["additive"], "Residual": var["residual"]}
    if lactations > 1:
        data["pe"] = data["id"]
        formula += " + (1|pe)"
        variances["pe"] = var["permanent"]
    return data, pedigree, formula, variances


G2 = np.array([[1.0, 0.5], [0.5, 1.0]])   # genetic correlation 0.5 (scaled to the simulated variances)
R2 = np.array([[1.0, 0.3], [0.3, 1.0]])   # residual correlation 0.3


def _pedigree_values(ped, rng) -> np.ndarray:
    """a ~ N(0, A) along a Pedigree (parents first): a_i = (a_s + a_d)/2 + sqrt(d_i) z_i."""
    sire, dam, sd = ped.sire.tolist(), ped.dam.tolist(), np.sqrt(ped.dii).tolist()
    z = rng.standard_normal(ped.n).tolist()
    a = [0.0] * ped.n
    for i in range(ped.n):
        a[i] = 0.5 * ((a[sire[i]] if sire[i] >= 0 else 0.0) + (a[dam[i]] if dam[i] >= 0 else 0.0)) + sd[i] * z[i]
    return np.array(a)


def bivariate_model(data, pedigree, truth, ped, missing, seed):
    """Second trait y2 on the records of y (module docstring); (data, formulas, variances {id, Residual})."""
    rng = np.random.default_rng(seed + 1)
    var = truth["variances"]
    a1 = truth["breeding_values"]
    e1 = (data["y"] - truth["mean"] - truth["herd_year"].loc[data["hy"]].to_numpy()
          - a1.loc[data["id"]].to_numpy()).to_numpy()
    G = G2 * np.sqrt(np.outer([var["additive"], 0.25], [var["additive"], 0.25]))
    R = R2 * np.sqrt(np.outer([var["residual"], 0.6], [var["residual"], 0.6]))
    a_ind = pd.Series(_pedigree_values(ped, rng), index=ped.index)
    a2 = G[0, 1] / G[0, 0] * a1 + np.sqrt(G[1, 1] - G[0, 1] ** 2 / G[0, 0]) * a_ind.loc[a1.index].to_numpy()
    e2 = R[0, 1] / R[0, 0] * e1 + np.sqrt(R[1, 1] - R[0, 1] ** 2 / R[0, 0]) * rng.standard_normal(len(data))
    hy2 = rng.standard_normal(len(truth["herd_year"])) * np.sqrt(0.15)
    y2 = 20.0 + hy2[truth["herd_year"].index.get_indexer(data["hy"])] + a2.loc[data["id"]].to_numpy() + e2
    data = data.assign(y2=np.where(rng.random(len(data)) < missing, np.nan, y2))
    return data, {"y": "y ~ hy + (1|id)", "y2": "y2 ~ hy + (1|id)"}, {"id": G, "Residual": R}


def _timed_pcg(title, formula, data, pedigree, variances, ebv_columns, tol, every, compare, tol_compare):
    """Phases pedigree, design and PCG solve (and, with ``compare``, the PCG solve without deflation, the
    direct solve and a PCG solve at ``tol_compare``); the largest |EBV_pcg - EBV_direct| / sd(EBV) over
    ``ebv_columns``. (phases, solution, total seconds, extra JSON fields)."""
    load = os.getloadavg()
    ph = Phases(title)
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
    extra = {"load_start": load}
    if compare:
        with ph.phase("PCG solve, not deflated"):
            p = solve_pcg(m, m.theta(variances), tol=tol, progress_every=every, deflate=False)
        print(f"not deflated: {p.n_iter} rounds ({p.seconds / max(p.n_iter, 1):.3f} s per round), "
              f"converged: {p.converged}")
        extra.update(rounds_plain=p.n_iter, seconds_plain=p.seconds)
        with ph.phase("direct solve (for comparison)"):
            d = m.solve(variances)
        ebv = d.random_effects["id"][ebv_columns].to_numpy()
        tight = m.solve(variances, solver="pcg", tol=tol_compare)
        err = [float((np.abs(x.random_effects["id"][ebv_columns].to_numpy() - ebv).max(axis=0)
                      / ebv.std(axis=0)).max()) for x in (s, tight, p)]
        print(f"max |EBV_pcg - EBV_direct| / sd(EBV) over {ebv_columns}: {err[0]:.2e} at tol {tol:g} "
              f"({s.n_iter} rounds); {err[1]:.2e} at tol {tol_compare:g} ({tight.n_iter} rounds)"
              f"; not deflated {err[2]:.2e} at tol {tol:g}")
        extra.update(max_diff_sd=err[0], max_diff_sd_tight=err[1], rounds_tight=tight.n_iter,
                     max_diff_sd_plain=err[2])
    extra["load_end"] = os.getloadavg()
    return ph, s, total, extra


def run_traits(n, seed=1, tol=1e-12, every=25, compare=False, tol_compare=1e-16, json_path=None, missing=0.2):
    """The bivariate benchmark (module docstring)."""
    t = time.perf_counter()
    data, pedigree, truth = hd.simulate(n, n_generations=10, h2=0.3, seed=seed)
    ped = hd.Pedigree.from_frame(pedigree, id="id", sire="sire", dam="dam")
    data, formulas, variances = bivariate_model(data, pedigree, truth, ped, missing, seed)
    print(f"simulation: {time.perf_counter() - t:.1f} s (not counted)")
    title = (f"multi-trait PCG BLUP, {n:,} animals ({len(data):,} rows, {int(data['y2'].notna().sum()):,} "
             f"with y2), {formulas}")
    ph, s, total, extra = _timed_pcg(title, formulas, data, pedigree, variances, ["y", "y2"], tol, every,
                                     compare, tol_compare)
    ph.dump(json_path, n_animals=n, n_rows=len(data), n_records=int(data[["y", "y2"]].notna().to_numpy().sum()),
            missing_y2=missing, rounds=s.n_iter, converged=s.converged, total=total, **extra)


def run(n, lactations=1, seed=1, tol=1e-12, every=25, compare=False, tol_compare=1e-16, json_path=None):
    t = time.perf_counter()
    data, pedigree, formula, variances = model_of(n, lactations, seed)
    print(f"simulation: {time.perf_counter() - t:.1f} s (not counted)")
    ph, s, total, extra = _timed_pcg(f"PCG BLUP, {n:,} animals ({len(data):,} records), {formula}", formula, data,
                                     pedigree, variances, ["ebv"], tol, every, compare, tol_compare)
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
    ap.add_argument("--traits", type=int, choices=(1, 2), default=1, help="2: the bivariate animal model")
    ap.add_argument("--missing", type=float, default=0.2, help="fraction of y2 missing (--traits 2)")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for n in a.sizes:
        if a.traits == 2:
            run_traits(n, a.seed, a.tol, a.every, a.compare, a.tol_compare, a.json, a.missing)
        else:
            run(n, a.lactations, a.seed, a.tol, a.every, a.compare, a.tol_compare, a.json)
        print()


if __name__ == "__main__":
    main()
