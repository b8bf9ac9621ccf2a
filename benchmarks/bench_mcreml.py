"""Issue 13 benchmark: Monte Carlo AI-REML (PCG solves, Hutchinson traces) against the exact AI-REML.

    python -m benchmarks.bench_mcreml [--sizes 100000] [--probes 100] [--fits mc exact] [--json out.json]
    python -m benchmarks.bench_mcreml --sizes 100000 250000 500000 1000000 2000000 4000000 --probes 30 \
        --sweep benchmarks/results/mcreml_sweep
    python -m benchmarks.bench_mcreml --sizes 1000000 --probes 30 --replicates 5 \
        --json benchmarks/results/mcreml_1M_replicates.json
    python -m benchmarks.bench_mcreml --crossover OUT EXACT_JSONS MC_JSONS

Population as bench_animal (henderson.simulate: herds, 10 generations, AI sires, h2 = 0.3), model
y ~ hy + (1|id). Both fits start from the same values (half the variance of y each). Reported: each
fit's time, estimates, the Monte Carlo standard errors of the MC estimates, (MC - exact) / MC SE,
AI steps (with the PCG rounds, the rounds with the probes and the seconds of each), PCG rounds
and peak memory of the process. ``--sweep`` runs, size by size, the MC fit and the exact fit each in
a process of its own (pedigree + design, then the fit: peaks of their own) and tabulates them
(crossover.json: wall and CPU seconds, peaks, ratios, (MC - exact) / MC SE). --crossover tabulates
given JSONs (bench_animal's or this script's ``--fits exact`` against ``--fits mc``). ``--replicates``
fits one population exactly and with K independent probe sets (the spread of MC estimates).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import henderson as hd
from benchmarks.common import Phases


def _model(data, pedigree):
    """The model y ~ hy + (1|id) with the pedigree, and the start of both fits (half the variance of y each)."""
    ped = hd.Pedigree.from_frame(pedigree, id="id", sire="sire", dam="dam")
    m = hd.Model("y ~ hy + (1|id)", data, relationships={"id": ped})
    v = float(np.var(m.design.y)) / 2
    return m, {"id": v, "Residual": v}


def run(n, probes=100, seed=1, fits=("mc", "exact"), json_path=None):
    """Simulate ``n`` animals and time the ``fits`` ("mc", "exact") of y ~ hy + (1|id) on one design, from
    the same start; write the phases (and estimates) to ``json_path``."""
    t = time.perf_counter()
    data, pedigree, truth = hd.simulate(n, n_generations=10, h2=0.3, seed=seed)
    print(f"simulation: {time.perf_counter() - t:.1f} s (not counted); true variances {truth['variances']}")
    ph = Phases(f"MC AI-REML vs exact AI-REML, {n:,} animals ({len(data):,} records), y ~ hy + (1|id)")
    with ph.phase("pedigree + design"):
        m, start = _model(data, pedigree)
    extra = {}
    if "mc" in fits:
        with ph.phase(f"MC AI-REML ({probes} probes)"):
            mc = m.fit(algorithm="mc-ai", n_probes=probes, seed=seed, start=start,
                       callback=lambda r: print(f"  step {r['iteration']}: theta ({r['theta0']:.4f}, "
                                                f"{r['theta1']:.4f}) T = {r['trace']:.1f} +- {r['trace_se']:.1f}, "
                                                f"decrement {r['decrement']:.2e}, {r['pcg_rounds']} PCG rounds "
                                                f"({r['probe_rounds']} with the probes), {r['seconds']:.1f} s",
                                                flush=True))
        print(f"MC: {dict(mc.variances.round(5))} MC SE {dict(mc.mc_se.round(5))} sampling SE "
              f"{dict(mc.sampling_se.round(5))}; {len(mc.iterations)} steps, {mc.pcg_rounds} PCG rounds, "
              f"converged {mc.converged}")
        extra.update(mc=list(mc.variances), mc_se=list(mc.mc_se), sampling_se=list(mc.sampling_se),
                     mc_steps=len(mc.iterations), pcg_rounds=mc.pcg_rounds,
                     steps=mc.iterations.to_dict(orient="records"))
    if "exact" in fits:
        with ph.phase("exact AI-REML (factorization)"):
            ex = m.fit(start=start)
        print(f"exact: {dict(zip(m.vm.names(), np.round(ex.theta, 5)))}, {ex.n_iter} iterations")
        extra.update(exact=list(ex.theta), exact_iterations=int(ex.n_iter))
        if "mc" in fits:
            z = (mc.variances.to_numpy() - ex.theta) / mc.mc_se.to_numpy()
            print(f"(MC - exact) / MC SE = {np.round(z, 2)}")
            extra.update(z=list(z))
    ph.dump(json_path, n_animals=n, n_records=len(data), probes=probes, fits=list(fits), **extra)


def replicates(n, probes=30, seed=1, count=5, json_path=None):
    """On one simulated population (``seed``), the exact AI-REML fit and ``count`` MC fits with
    independent probe sets (probe seeds seed + 1, ..., seed + count): each estimate, (MC - exact) / MC SE,
    and the mean of the MC estimates with its standard error (the fits' spread / sqrt(count))."""
    data, pedigree, _ = hd.simulate(n, n_generations=10, h2=0.3, seed=seed)
    m, start = _model(data, pedigree)
    exact = m.fit(start=start).theta
    rows = []
    for k in range(1, count + 1):
        mc = m.fit(algorithm="mc-ai", n_probes=probes, seed=seed + k, start=start)
        z = (mc.variances.to_numpy() - exact) / mc.mc_se.to_numpy()
        rows.append(dict(probe_seed=seed + k, mc=list(mc.variances), mc_se=list(mc.mc_se), z=list(z),
                         seconds=mc.seconds))
        print(f"probe seed {seed + k}: {np.round(mc.variances.to_numpy(), 5)} MC SE "
              f"{np.round(mc.mc_se.to_numpy(), 5)}, (MC - exact) / MC SE {np.round(z, 2)}, {mc.seconds:.1f} s",
              flush=True)
    est = np.array([r["mc"] for r in rows])
    mean, se = est.mean(axis=0), est.std(axis=0, ddof=1) / np.sqrt(count)
    print(f"exact {np.round(exact, 5)}; mean of {count} MC fits {np.round(mean, 5)} +- {np.round(se, 5)}: "
          f"(mean - exact) / SE {np.round((mean - exact) / se, 2)}")
    if json_path:
        with open(json_path, "w") as fh:
            json.dump(dict(n_animals=n, probes=probes, seed=seed, exact=list(exact), fits=rows, mean=list(mean),
                           mean_se=list(se), z_mean=list((mean - exact) / se)), fh, indent=1)


def sweep(sizes, probes, seed, folder):
    """For each size, the MC fit and the exact fit in processes of their own (one after the other, so
    that each peak is its own), JSONs mcreml_<n>_mc.json and mcreml_<n>_exact.json in ``folder``,
    then the table (crossover.json)."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    mc_paths, exact_paths = [], []
    for n in sizes:
        for fit, paths in (("mc", mc_paths), ("exact", exact_paths)):
            path = str(Path(folder) / f"mcreml_{n}_{fit}.json")
            subprocess.run([sys.executable, "-m", "benchmarks.bench_mcreml", "--sizes", str(n), "--probes",
                            str(probes), "--seed", str(seed), "--fits", fit, "--json", path], check=True)
            paths.append(path)
    crossover(exact_paths, mc_paths, str(Path(folder) / "crossover.json"))


def _is_mc(name: str) -> bool:
    return name == "pedigree + design" or name.startswith("MC AI-REML")


def _is_exact(name: str) -> bool:
    return not name.startswith("MC AI-REML")


def _total(path: str, keep=None) -> dict:
    with open(path) as fh:
        d = json.load(fh)
    rows = [r for r in d["phases"] if keep is None or keep(r["phase"])]
    out = dict(animals=d["n_animals"], seconds=sum(r["seconds"] for r in rows),
               cpu_seconds=sum(r["cpu_seconds"] for r in rows), peak_mb=max(r["peak_mb"] for r in rows))
    for key in ("mc", "mc_se", "sampling_se", "exact", "mc_steps", "pcg_rounds", "exact_iterations"):
        if key in d:
            out[key] = d[key]
    return out


def crossover(exact_paths, mc_paths, out: str) -> None:
    """One table of the exact AI-REML (bench_animal JSONs: all phases; or this script's ``--fits exact``
    JSONs) against MC AI-REML (this script's JSONs: pedigree + design and the MC fit; the peak before
    any exact fit), by number of animals: times, peaks, their ratios and (MC - exact) / MC SE."""
    exact = {t["animals"]: t for t in (_total(p, _is_exact) for p in exact_paths)}
    mc = {t["animals"]: t for t in (_total(p, _is_mc) for p in mc_paths)}
    rows = [dict(animals=n, exact=exact.get(n), mc=mc.get(n)) for n in sorted(set(exact) | set(mc))]
    for r in rows:
        e, m = r["exact"], r["mc"]
        r["mc_over_exact_cpu"] = m["cpu_seconds"] / e["cpu_seconds"] if e and m else None
        r["mc_over_exact_wall"] = m["seconds"] / e["seconds"] if e and m else None
        if e and m and "exact" in e and "mc" in m:
            r["z"] = [(a - b) / s for a, b, s in zip(m["mc"], e["exact"], m["mc_se"])]
        print(f"{r['animals']:>10,}: exact " + (f"{e['seconds']:.0f} s ({e['cpu_seconds']:.0f} s CPU), "
              f"{e['peak_mb'] / 1024:.1f} GiB" if e else "-") + "; MC " +
              (f"{m['seconds']:.0f} s ({m['cpu_seconds']:.0f} s CPU), {m['peak_mb'] / 1024:.1f} GiB" if m else "-") +
              (f"; MC / exact wall {r['mc_over_exact_wall']:.2f}" if e and m else "") +
              (f"; (MC - exact) / MC SE {np.round(r['z'], 2)}" if "z" in r else ""))
    with open(out, "w") as fh:
        json.dump(dict(exact_sources=list(exact_paths), mc_sources=list(mc_paths), sizes=rows), fh, indent=1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    ap.add_argument("--probes", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--fits", nargs="+", choices=["mc", "exact"], default=["mc", "exact"])
    ap.add_argument("--replicates", type=int, default=0, metavar="K",
                    help="the exact fit and K MC fits with independent probe sets on one population (--sizes N)")
    ap.add_argument("--sweep", default=None, metavar="FOLDER",
                    help="each size's MC and exact fits in processes of their own, JSONs and the table in FOLDER")
    ap.add_argument("--json", default=None)
    ap.add_argument("--crossover", nargs=3, metavar=("OUT", "EXACT_JSONS", "MC_JSONS"), default=None,
                    help="no fit: tabulate exact JSONs (bench_animal's or --fits exact) against --fits mc JSONs "
                         "(comma-separated lists) into OUT")
    a = ap.parse_args(argv)
    if a.crossover:
        out, ex, mc = a.crossover
        crossover(ex.split(","), mc.split(","), out)
        return
    if a.sweep:
        sweep(a.sizes, a.probes, a.seed, a.sweep)
        return
    if a.replicates:
        replicates(a.sizes[0], a.probes, a.seed, a.replicates, a.json)
        return
    for n in a.sizes:
        run(n, a.probes, a.seed, tuple(a.fits), a.json)
        print()


if __name__ == "__main__":
    main()
