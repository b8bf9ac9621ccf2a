"""Issue 13 benchmark: Monte Carlo AI-REML (PCG solves, Hutchinson traces) against the exact AI-REML.

    python -m benchmarks.bench_mcreml [--sizes 100000] [--probes 100] [--no-exact] [--json out.json]
    python -m benchmarks.bench_mcreml --sizes 1000000 --probes 30   # 1M: 390 s, 3.6 GiB (exact 39 s)

Population as bench_animal (henderson.simulate: herds, 10 generations, AI sires, h2 = 0.3), model
y ~ hy + (1|id). Both fits start from the same values (half the variance of y each). Reported: each
fit's time, estimates, the Monte Carlo standard errors of the MC estimates, (MC - exact) / MC SE,
AI steps, PCG rounds and peak memory of the process.
"""
from __future__ import annotations

import argparse
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
                                            f"{r['decrement']:.2e}, {r['pcg_rounds']} PCG rounds ({r['probe_rounds']} with the probes), "
                                            f"{r['seconds']:.1f} s", flush=True))
    print(f"MC: {dict(mc.variances.round(5))} MC SE {dict(mc.mc_se.round(5))} sampling SE "
          f"{dict(mc.sampling_se.round(5))}; {len(mc.iterations)} steps, {mc.pcg_rounds} PCG rounds, "
          f"converged {mc.converged}")
    extra = dict(mc=list(mc.variances), mc_se=list(mc.mc_se), mc_steps=len(mc.iterations), pcg_rounds=mc.pcg_rounds)
    if exact:
        with ph.phase("exact AI-REML (factorization)"):
            ex = m.fit(start=start)
        z = (mc.variances.to_numpy() - ex.theta) / mc.mc_se.to_numpy()
        print(f"exact: {dict(zip(mc.variances.index, np.round(ex.theta, 5)))}; (MC - exact) / MC SE = {np.round(z, 2)}")
        extra.update(exact=list(ex.theta), z=list(z))
    ph.dump(json_path, n_animals=n, n_records=len(data), probes=probes, **extra)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    ap.add_argument("--probes", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-exact", action="store_true", help="skip the exact AI-REML fit")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    for n in a.sizes:
        run(n, a.probes, a.seed, not a.no_exact, a.json)
        print()


if __name__ == "__main__":
    main()
