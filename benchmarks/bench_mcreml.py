"""Issue 13 benchmark: Monte Carlo AI-REML (PCG solves, Hutchinson traces) against the exact AI-REML.

    python -m benchmarks.bench_mcreml [--sizes 100000] [--probes 100] [--no-exact] [--json out.json]
    python -m benchmarks.bench_mcreml --sizes 1000000 --probes 30 --json benchmarks/results/mcreml_1M.json
    python -m benchmarks.bench_mcreml --sizes 4000000 --probes 30 --no-exact \
        --json benchmarks/results/mcreml_4M.json
    python -m benchmarks.bench_mcreml --crossover benchmarks/results/mcreml_crossover.json \
        benchmarks/results/animal_1M_dense_last.json,benchmarks/results/animal_2M.json,\
benchmarks/results/animal_4M.json \
        benchmarks/results/mcreml_1M.json,benchmarks/results/mcreml_2M.json,benchmarks/results/mcreml_4M.json

Population as bench_animal (henderson.simulate: herds, 10 generations, AI sires, h2 = 0.3), model
y ~ hy + (1|id). Both fits start from the same values (half the variance of y each). Reported: each
fit's time, estimates, the Monte Carlo standard errors of the MC estimates, (MC - exact) / MC SE,
AI steps (with the PCG rounds, the rounds with the probes and the seconds of each), PCG rounds
and peak memory of the process. --crossover tabulates bench_animal runs against runs of this
script (CPU seconds, as the machine is shared; the MC side without the exact fit's phase).
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

import henderson as hd
from benchmarks.common import Phases


def run(n, probes=100, seed=1, exact=True, json_path=None):
    t = time.perf_counter()
    data, pedigree, truth = hd.simulate(n, n_generations=10, h2=0.3, seed=seed)
    print(f"simulation: {time.perf_counter() - t:.1f} s (not counted); true variances {truth['variances']}")
    ph = Phases(f"MC AI-REML vs exact AI-REML, {n:,} animals ({len(data):,} records), y ~ hy + (1|id)")
    with ph.phase("pedigree + design"):
        ped = hd.Pedigree.from_frame(pedigree, id="id", sire="sire", dam="dam")
        m = hd.Model("y ~ hy + (1|id)", data, relationships={"id": ped})
    v = float(np.var(m.design.y)) / 2
    start = {"id": v, "Residual": v}
    with ph.phase(f"MC AI-REML ({probes} probes)"):
        mc = m.fit(algorithm="mc-ai", n_probes=probes, seed=seed, start=start,
                   callback=lambda r: print(f"  step {r['iteration']}: theta ({r['theta0']:.4f}, {r['theta1']:.4f}) "
                                            f"T = {r['trace']:.1f} +- {r['trace_se']:.1f}, decrement "
                                            f"{r['decrement']:.2e}, {r['pcg_rounds']} PCG rounds "
                                            f"({r['probe_rounds']} with the probes), "
                                            f"{r['seconds']:.1f} s", flush=True))
    print(f"MC: {dict(mc.variances.round(5))} MC SE {dict(mc.mc_se.round(5))} sampling SE "
          f"{dict(mc.sampling_se.round(5))}; {len(mc.iterations)} steps, {mc.pcg_rounds} PCG rounds, "
          f"converged {mc.converged}")
    extra = dict(mc=list(mc.variances), mc_se=list(mc.mc_se), mc_steps=len(mc.iterations), pcg_rounds=mc.pcg_rounds,
                 steps=mc.iterations.to_dict(orient="records"))
    if exact:
        with ph.phase("exact AI-REML (factorization)"):
            ex = m.fit(start=start)
        z = (mc.variances.to_numpy() - ex.theta) / mc.mc_se.to_numpy()
        print(f"exact: {dict(zip(mc.variances.index, np.round(ex.theta, 5)))}; (MC - exact) / MC SE = {np.round(z, 2)}")
        extra.update(exact=list(ex.theta), z=list(z))
    ph.dump(json_path, n_animals=n, n_records=len(data), probes=probes, **extra)


def _is_mc(name: str) -> bool:
    return name == "pedigree + design" or name.startswith("MC AI-REML")


def _total(path: str, keep=None) -> dict:
    with open(path) as fh:
        d = json.load(fh)
    rows = [r for r in d["phases"] if keep is None or keep(r["phase"])]
    return dict(animals=d["n_animals"], seconds=sum(r["seconds"] for r in rows),
                cpu_seconds=sum(r["cpu_seconds"] for r in rows), peak_mb=max(r["peak_mb"] for r in rows))


def crossover(exact_paths, mc_paths, out: str) -> None:
    """One table of the exact AI-REML (bench_animal JSONs: all phases) against MC AI-REML (this script's
    JSONs: pedigree + design and the MC fit; the peak before any exact fit), by number of animals."""
    exact = {t["animals"]: t for t in map(_total, exact_paths)}
    mc = {t["animals"]: t for t in (_total(p, _is_mc) for p in mc_paths)}
    rows = [dict(animals=n, exact=exact.get(n), mc=mc.get(n)) for n in sorted(set(exact) | set(mc))]
    for r in rows:
        e, m = r["exact"], r["mc"]
        r["mc_over_exact_cpu"] = m["cpu_seconds"] / e["cpu_seconds"] if e and m else None
        print(f"{r['animals']:>10,}: exact " + (f"{e['seconds']:.0f} s ({e['cpu_seconds']:.0f} s CPU), "
              f"{e['peak_mb'] / 1024:.1f} GiB" if e else "-") + "; MC " +
              (f"{m['seconds']:.0f} s ({m['cpu_seconds']:.0f} s CPU), {m['peak_mb'] / 1024:.1f} GiB" if m else "-"))
    with open(out, "w") as fh:
        json.dump(dict(exact_sources=list(exact_paths), mc_sources=list(mc_paths), sizes=rows), fh, indent=1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    ap.add_argument("--probes", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-exact", action="store_true", help="skip the exact AI-REML fit")
    ap.add_argument("--json", default=None)
    ap.add_argument("--crossover", nargs=3, metavar=("OUT", "EXACT_JSONS", "MC_JSONS"), default=None,
                    help="no fit: tabulate bench_animal JSONs against --no-exact JSONs of this script "
                         "(comma-separated lists) into OUT")
    a = ap.parse_args(argv)
    if a.crossover:
        out, ex, mc = a.crossover
        crossover(ex.split(","), mc.split(","), out)
        return
    for n in a.sizes:
        run(n, a.probes, a.seed, not a.no_exact, a.json)
        print()


if __name__ == "__main__":
    main()
