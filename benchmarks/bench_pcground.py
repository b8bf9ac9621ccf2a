"""Issue 13: the cost of one round of Monte Carlo REML's side-by-side PCG solves.

    python -m benchmarks.bench_pcground [--size 1000000] [--columns 1 31] [--json out.json]

Builds the equations of bench_mcreml (henderson.simulate, y ~ hy + (1|id), animals in lineage order as
henderson.fitted.mc_problem puts them) and times, for blocks of r columns: one product C X
(henderson.linalg.block_pcg.mme_matmat; the median of 5), on one numba thread and on all where the
parallel kernels exist, and one round of pcg_block (the difference between runs of 25 and 5 rounds,
divided by 20; no column stops: tol 1e-30; the threads as pcg_block chooses them where it does).
Wall and CPU seconds; the load average before and after.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numba
import numpy as np

import henderson as hd
from benchmarks.common import peak_rss_mb
from henderson.fitted.mc_problem import MCProblem
from henderson.linalg.block_pcg import mme_matmat, pcg_block


def _timed(f):
    t, c = time.perf_counter(), time.process_time()
    f()
    return time.perf_counter() - t, time.process_time() - c


def problem(n: int, seed: int = 1):
    """The MMEOperator of bench_mcreml's model at half the variance of y to each component."""
    data, pedigree, _ = hd.simulate(n, n_generations=10, h2=0.3, seed=seed)
    ped = hd.Pedigree.from_frame(pedigree, id="id", sire="sire", dam="dam")
    m = hd.Model("y ~ hy + (1|id)", data, relationships={"id": ped})
    yc = m.design.y - m.design.y.mean()
    v = float(np.var(yc)) / 2
    theta = m.vm.pack([np.array([[v]])], v)
    return MCProblem(m, yc, m.vm.at(theta)).operator(m.vm.at(theta))


def measure(op, r: int, seed: int = 0) -> dict:
    """Per-product and per-round wall and CPU seconds for a block of r columns."""
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((op.size, r))
    out = np.empty_like(B)
    mme_matmat(op, B, out)        # compile
    most = numba.get_num_threads()
    prods = {}
    for threads in sorted({1, most}):
        numba.set_num_threads(threads)
        prods[threads] = sorted(_timed(lambda: mme_matmat(op, B, out)) for _ in range(5))[2]
    numba.set_num_threads(most)
    dinv = op.preconditioner()(np.ones(op.size))

    def run(k):
        return _timed(lambda: pcg_block(lambda V, o: mme_matmat(op, V, o), B, dinv, tol=1e-30, max_iter=k))
    run(2)
    (w5, c5), (w25, c25) = run(5), run(25)
    row = dict(columns=r, matmat={t: dict(seconds=w, cpu_seconds=c) for t, (w, c) in prods.items()},
               round_seconds=(w25 - w5) / 20, round_cpu_seconds=(c25 - c5) / 20)
    cx = "; ".join(f"{t} thread(s) {w:.4f} s ({c:.4f} s CPU)" for t, (w, c) in prods.items())
    print(f"r = {r:>3}: C X {cx}; PCG round {row['round_seconds']:.4f} s ({row['round_cpu_seconds']:.4f} s CPU)",
          flush=True)
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--columns", type=int, nargs="+", default=[1, 31])
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    op = problem(a.size)
    load = os.getloadavg()[0]
    print(f"# {a.size:,} animals: {op.size:,} equations, {op.W.shape[0]:,} records; load average {load:.2f}")
    rows = [measure(op, r) for r in a.columns]
    print(f"load average {os.getloadavg()[0]:.2f}")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(dict(n_animals=a.size, size=op.size, rows=rows, peak_mb=peak_rss_mb(),
                           load_before=load, load_after=os.getloadavg()[0]), fh, indent=1)


if __name__ == "__main__":
    main()
