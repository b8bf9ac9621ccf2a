"""Benchmark of henderson.pedigree on simulated dairy-like pedigrees.

Simulation: calves born over 20 years; each birth year, 60 of the males become AI bulls
(about 300 per generation of ~5 years); calves are sired by bulls born 2-7 years earlier and
out of cows born 2-8 years earlier; 10% of dams are unknown. Rows are shuffled and ids are
strings, so from_frame has to normalize, check and sort. Each size runs in its own process and
reports the time of each phase and the peak resident memory of the process.

    .venv/bin/python benchmarks/bench_pedigree.py [--sizes 10000 100000 1000000] [--seed 1] [--years 20]

Seconds are printed as wall/CPU: on a shared machine the CPU time of this single-threaded
process is the better measure. --years 40 gives a deeper pedigree (more ancestors per animal),
which mostly costs inbreeding time (tracing ancestors is linear in their number).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install


def simulate(n: int, seed: int = 1, years: int = 20, bulls_per_year: int = 60) -> pd.DataFrame:
    """Shuffled (id, sire, dam) table of n animals with string ids and '0' for an unknown dam."""
    rng = np.random.default_rng(seed)
    per_year = n // (years + 1)
    born = [per_year] * years
    born.insert(0, n - per_year * years)  # founders in year 0
    male = rng.random(n) < 0.5
    sire = np.full(n, -1, np.int64)
    dam = np.full(n, -1, np.int64)
    start = np.concatenate([[0], np.cumsum(born)])
    bull = np.zeros(n, bool)
    for y in range(years + 1):
        males = np.flatnonzero(male[start[y]:start[y + 1]]) + start[y]
        bull[rng.choice(males, size=min(bulls_per_year, males.size), replace=False)] = True
        if y == 0:
            continue
        calves = np.arange(start[y], start[y + 1])
        lo_s, hi_s = start[max(0, y - 7)], start[max(1, y - 1)]
        bulls = np.flatnonzero(bull[lo_s:hi_s]) + lo_s
        lo_d, hi_d = start[max(0, y - 8)], start[max(1, y - 1)]
        cows = np.flatnonzero(~male[lo_d:hi_d]) + lo_d
        sire[calves] = rng.choice(bulls, size=calves.size)
        dam[calves] = rng.choice(cows, size=calves.size)
        dam[calves[rng.random(calves.size) < 0.10]] = -1
    perm = rng.permutation(n)
    label = np.array([f"DE{k:09d}" for k in rng.permutation(n)], dtype=object)
    parent = lambda p: np.where(p >= 0, label[np.maximum(p, 0)], "0")  # noqa: E731
    return pd.DataFrame({"id": label[perm], "sire": parent(sire)[perm], "dam": parent(dam)[perm]})


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Phase:
    """Wall-clock and CPU seconds of a block (CPU time is robust to other jobs on a shared machine)."""

    def __init__(self, out: dict, name: str):
        self.out, self.name = out, name

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def __exit__(self, *exc):
        self.out[self.name + "_s"] = time.perf_counter() - self.wall
        self.out[self.name + "_cpu"] = time.process_time() - self.cpu


def run_one(n: int, seed: int, years: int = 20) -> dict:
    from henderson.pedigree import Pedigree

    Pedigree.from_frame(simulate(2000, seed)).ainverse()  # compile / load numba caches
    df = simulate(n, seed, years=years)
    out = {"n": n}
    with Phase(out, "from_frame"):
        ped = Pedigree.from_frame(df, id="id", sire="sire", dam="dam")
    with Phase(out, "inbreeding"):
        f = ped.inbreeding
    with Phase(out, "ainverse"):
        ainv, _ = ped.ainverse()
    with Phase(out, "logdet"):
        out["logdet_a"] = ped.logdet_a()
    for unit in ("s", "cpu"):
        out["total_" + unit] = sum(out[f"{p}_{unit}"] for p in ("from_frame", "inbreeding", "ainverse", "logdet"))
    out["peak_rss_mb"] = round(peak_mb())
    out["generations"] = int(ped.generation.max()) + 1
    out["mean_F"] = float(f.mean())
    out["max_F"] = float(f.max())
    out["inbred_share"] = float((f > 0).mean())
    out["nnz_ainv"] = int(ainv.nnz)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--years", type=int, default=20, help="birth years simulated (deeper pedigrees with more)")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.seed, args.years)))
        return
    print("seconds as wall/cpu; peak resident memory of the process (simulated table included)")
    cols = ["from_frame", "inbreeding", "ainverse", "logdet", "total"]
    print(f"{'n':>9} " + " ".join(f"{c:>12}" for c in cols)
          + f" {'peakMB':>7}   generations mean_F max_F inbred% nnz(A^-1)")
    for n in args.sizes:
        res = subprocess.run([sys.executable, __file__, "--one", str(n), "--seed", str(args.seed),
                              "--years", str(args.years)],
                             check=True, stdout=subprocess.PIPE, text=True)
        r = json.loads(res.stdout.strip().splitlines()[-1])
        times = " ".join(f"{r[c + '_s']:>6.2f}/{r[c + '_cpu']:<5.2f}" for c in cols)
        print(f"{r['n']:>9} {times} {r['peak_rss_mb']:>7}   "
              f"{r['generations']:>11} {r['mean_F']:.4f} {r['max_F']:.3f} {100 * r['inbred_share']:6.1f} "
              f"{r['nnz_ainv']}", flush=True)


if __name__ == "__main__":
    main()
