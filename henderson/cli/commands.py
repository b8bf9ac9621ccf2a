"""The three commands: fit one job, run a batch, simulate a population."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..errors import OutputFolderError
from . import error
from .batch import format_table, run_batch
from .clusters import cluster_spec
from .jobspec import PEDIGREE_OPTIONS, JobFileError, finish, load_batch, load_job, resolve_paths
from .progress import IterationPrinter, JobBar
from .runjob import BAD_INPUT, INTERNAL, NOT_CONVERGED, OK, run_job


def _fit_overrides(args) -> dict:
    return {"data": args.data, "formula": args.formula, "pedigree": args.pedigree,
            "pedigree_term": args.pedigree_term, "method": args.method, "algorithm": args.algorithm,
            "factors": args.factors, "scale": args.scale, "subset": args.subset, "max_iter": args.max_iter,
            "tol": args.tol, "ordering": args.ordering, "out": args.out, "correlation": args.correlation,
            "variance": args.variance, "weights": args.weights, "correlated": args.correlated,
            **{k: getattr(args, k) for k in PEDIGREE_OPTIONS}}


def fit(args) -> int:
    """henderson fit: one progress line per iteration, the summary, the result folder."""
    over = _fit_overrides(args)
    try:
        if args.job:
            job = load_job(args.job, resolve_paths({k: v for k, v in over.items() if v not in (None, [])},
                                                   Path.cwd()))
        else:
            job = finish(resolve_paths({k: v for k, v in over.items() if v not in (None, [])}, Path.cwd()),
                         "command line")
    except JobFileError as exc:
        error(f"{exc.file}: {exc}")
        return BAD_INPUT
    job.setdefault("name", Path(args.job).stem if args.job else "fit")
    cb = None if args.quiet else IterationPrinter(sys.stderr, verbose=args.verbose)
    row = run_job(job, callback=cb, protect=[args.job] if args.job else ())
    if not args.quiet:
        for w in row.get("warnings", []):
            print(f"henderson: warning: {w}", file=sys.stderr)
    if row["exit_code"] in (OK, NOT_CONVERGED) and row["status"] != "failed":
        if not args.quiet:
            out = Path(job["out"]) / "summary.txt" if job.get("out") else None
            if out is not None and out.exists():
                print(out.read_text(), end="")
            if job.get("out"):
                print(f"results written to {job['out']}")
        if row["exit_code"] == NOT_CONVERGED:
            error(f"{job['data']}: {row['error']}")
        return row["exit_code"]
    error(row["error"])
    if row["exit_code"] == INTERNAL and args.verbose and row.get("traceback"):
        print(row["traceback"], file=sys.stderr, end="")
    return row["exit_code"]


def batch(args) -> int:
    """henderson batch: all jobs, a progress bar, the summary table; exit 0 only if every job succeeded."""
    try:
        jobs, opts = load_batch(args.jobs)
        cluster = cluster_spec(opts["cluster"], args.cluster, args.cluster_jobs, file=args.jobs)
    except JobFileError as exc:
        error(f"{exc.file}: {exc}")
        return BAD_INPUT
    if cluster and args.scheduler:
        error("--scheduler and a cluster (--cluster or [cluster]) exclude each other: name one")
        return BAD_INPUT
    out_dir = Path(args.out) if args.out else Path(opts["out"])
    if args.out:
        for j in jobs:
            j["out"] = str(out_dir / j["name"])
    remote = args.scheduler or (cluster and cluster["kind"])
    workers = args.workers or opts.get("workers") or (None if remote else 1)
    bar = JobBar(len(jobs), enabled=not args.quiet)
    try:
        table = run_batch(jobs, out_dir, workers=workers, scheduler=args.scheduler, force=args.force, bar=bar,
                          protect=[args.jobs], cluster=cluster)
    except OutputFolderError as exc:
        bar.close()
        error(f"{exc.file}: {exc}")
        return BAD_INPUT
    except ImportError as exc:
        bar.close()
        error(str(exc))
        return BAD_INPUT
    except OSError as exc:
        bar.close()
        error(f"{remote or out_dir}: {exc}")
        return BAD_INPUT if remote else INTERNAL
    if not args.quiet:
        print(format_table(table))
        print(f"summary written to {out_dir / 'summary.csv'}")
    if args.verbose:
        for _, r in table[table.status == "failed"].iterrows():
            print(f"--- {r['name']}: {r['error']}\n{r.get('traceback') or ''}", file=sys.stderr)
    codes = set(table["exit_code"].astype(int))
    return max(codes) if codes - {0} else OK


def simulate(args) -> int:
    """henderson simulate: data, pedigree and truth files in --out."""
    from ..io import check_output
    from ..simulate import simulate as sim
    from ..simulate import write_simulation
    try:
        check_output(args.out, "simulation")
    except OutputFolderError as exc:
        error(f"{exc.file}: {exc}")
        return BAD_INPUT
    try:
        data, ped, truth = sim(args.animals, n_generations=args.generations, n_herds=args.herds,
                               sires_per_generation=args.sires_per_generation,
                               unknown_dam_fraction=args.unknown_dam_fraction,
                               unknown_sire_fraction=args.unknown_sire_fraction,
                               record_fraction=args.record_fraction, h2=args.h2, lactations=args.lactations,
                               seed=args.seed)
    except ValueError as exc:
        error(f"simulate: {exc}")
        return BAD_INPUT
    paths = write_simulation(args.out, data, ped, truth, fmt=args.format)
    if not args.quiet:
        print(f"{len(ped)} animals, {len(data)} records; mean inbreeding "
              f"{truth['inbreeding'].mean():.4f}; variances {json.dumps(truth['variances'])}")
        print("written: " + ", ".join(str(p) for p in paths))
    return OK
