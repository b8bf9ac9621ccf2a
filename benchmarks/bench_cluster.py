"""Overhead of a batch on SLURM (dask-jobqueue) against local worker processes, on the same small jobs.

    python -m benchmarks.bench_cluster [--repeats 5] [--json benchmarks/results/cluster_6jobs.json]

Six small jobs (the bundled milk data with its pedigree: fat, milk and prot, each with herd random and
herd fixed; about 0.4 s of fitting each) run as ``henderson batch --force``: with ``--workers 2``
(local process pool), and with ``--cluster slurm --jobs 2`` (two one-core SLURM jobs, one Dask worker
each) on the one-node SLURM cluster the tests use (tests/cli/onenode_slurm.py: needs root and Debian's
slurm-wlm and munge). Reports the batch's wall-clock seconds and the jobs' own seconds (sum of the
summary's ``seconds`` column), so that wall - fit / 2 is the path's overhead on 2 cores, and, on its own,
the SLURM start-up: from submitting the 2 jobs to both Dask workers connected, then cancelled.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import pandas as pd

import henderson as hd
from henderson.cli import main as henderson
from henderson.cli.clusters import cluster_spec, start_cluster

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "cli"))
from onenode_slurm import OneNodeSlurm, cannot_start  # noqa: E402

BATCH = """
[defaults]
data = "{milk}"
pedigree = "{ped}"
pedigree_term = "id"
factors = ["herd"]
scale = ["milk", "fat", "prot"]

[grid]
trait = ["fat", "milk", "prot"]
model = {{ herd_random = "lact + np.log(dim) + (1|id) + (1|herd)", herd_fixed = "lact + np.log(dim) + herd + (1|id)" }}

[grid.job]
formula = "{{trait}} ~ {{model}}"
"""
CLUSTER = """
[cluster]
kind = "slurm"
cores = 1
memory = "2GB"
walltime = "00:10:00"
interface = "lo"
worker_extra_args = ["--dashboard-address", "127.0.0.1:0"]
wait = 120
"""
PATHS = {"local --workers 2": ["--workers", "2"], "slurm --jobs 2": ["--cluster", "slurm", "--jobs", "2"]}


def run(batch: Path, out: Path, flags: list[str]) -> dict:
    """One forced batch run: wall seconds, summed job seconds, statuses."""
    t0 = time.perf_counter()
    code = henderson(["batch", str(batch), "--out", str(out), "--force", "-q", *flags])
    wall = time.perf_counter() - t0
    table = pd.read_csv(out / "summary.csv")
    return {"exit_code": code, "wall_seconds": wall, "job_seconds": float(table["seconds"].sum()),
            "statuses": sorted(set(table["status"]))}


def startup(tmp: Path) -> float:
    """Seconds from submitting 2 SLURM worker jobs to both workers connected (the jobs then cancelled)."""
    spec = cluster_spec(tomllib.loads(CLUSTER)["cluster"], jobs=2)
    t0 = time.perf_counter()
    client, close = start_cluster(spec, tmp / "startup-logs")
    try:
        client.wait_for_workers(2, timeout=120)
        return time.perf_counter() - t0
    finally:
        close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", default=None, help="write the rows here")
    a = ap.parse_args(argv)
    reason = cannot_start()
    if reason:
        sys.exit(f"cannot start the one-node SLURM cluster: {reason}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="henderson-bench-cluster-") as tmp:
        tmp = Path(tmp)
        batch = tmp / "batch.toml"
        batch.write_text(BATCH.format(milk=hd.datasets.path("milk"), ped=hd.datasets.path("pedCows")) + CLUSTER)
        (tmp / "slurm").mkdir()
        cluster = OneNodeSlurm(tmp / "slurm").start()
        os.environ["SLURM_CONF"] = str(cluster.conf)
        try:
            for flags in PATHS.values():
                run(batch, tmp / "warm", flags)  # first run: numba cache, imports
            for r in range(a.repeats):  # the paths take turns, so that a busy machine slows both alike
                for path, flags in PATHS.items():
                    row = {"path": path, "repeat": r + 1, **run(batch, tmp / f"out-{path.split()[0]}", flags)}
                    rows.append(row)
                    print(f"{path:<20} wall {row['wall_seconds']:6.2f} s  jobs {row['job_seconds']:6.2f} s  "
                          f"exit {row['exit_code']} {row['statuses']}", flush=True)
                rows.append({"path": "slurm start-up", "repeat": r + 1, "wall_seconds": startup(tmp)})
                print(f"slurm start-up       wall {rows[-1]['wall_seconds']:6.2f} s", flush=True)
        finally:
            cluster.stop()
    table = pd.DataFrame(rows)
    print(table.groupby("path")[["wall_seconds", "job_seconds"]].median().round(2).to_string())
    if a.json:
        Path(a.json).write_text(json.dumps({"jobs": 6, "cores": os.cpu_count(), "load_average": os.getloadavg(),
                                            "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
