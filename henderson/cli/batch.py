"""Run many jobs in parallel worker processes, on a Dask cluster or on a SLURM/PBS cluster through
dask-jobqueue (henderson.cli.clusters); resumable; summary table at the end.

A job whose result folder holds a complete result of the same fingerprint (henderson.cli.resume) is
reused (its numbers are read back from result.json); any other is computed, and the summary's "reuse"
column says why. Each job writes its folder atomically (henderson.io.atomic_folder), so an interrupted
batch leaves no half-written folder. A failing job is recorded (summary table, errors/<name>.txt) and
the others go on. The batch folder is checked like any output folder (henderson.io.check_output) before
any job starts; worker processes end when the batch process ends, even by SIGKILL (lifeline).
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
from pathlib import Path

import pandas as pd

from ..io import check_output, clean_partials, read_manifest, read_result_json, write_text_atomic
from ..io.ownership import write_manifest
from .clusters import LOGS, start_cluster, worker_slots
from .lifeline import die_with_parent
from .progress import JobBar
from .resume import REUSED, job_fingerprint, resume_reason
from .traitgroups import group_jobs, run_group_quietly

SUMMARY_COLUMNS = ["name", "status", "reuse", "seconds", "iterations", "loglik", "converged", "error", "out"]
BATCH = "batch"
BATCH_FILES = ("summary.csv", "summary.md", "errors", LOGS)


def skipped_row(job: dict) -> dict:
    """Summary row of a job whose earlier result is reused."""
    d = read_result_json(job["out"])
    return {"name": job["name"], "status": "skipped", "reuse": REUSED, "exit_code": 0, "seconds": 0.0,
            "iterations": d.get("n_iter"), "loglik": d.get("loglik"), "converged": d.get("converged"),
            "error": "", "traceback": "", "out": job["out"]}


def prepare_batch_folder(out_dir: Path, jobs: list[dict], protect=()) -> None:
    """Check that ``out_dir`` may take this batch (new, empty or an earlier henderson batch; it must not
    hold the jobs' inputs nor ``protect``), create it, and list in its manifest what the batch writes
    there: the summary files, errors/ and the result folders of jobs placed directly inside it."""
    inputs = [j.get(k) for j in jobs for k in ("data", "pedigree") if j.get(k)]
    check_output(out_dir, BATCH, list(protect) + inputs)
    out_dir.mkdir(parents=True, exist_ok=True)
    m = read_manifest(out_dir)
    here = out_dir.absolute()
    jobs_here = {Path(j["out"]).name for j in jobs if Path(j["out"]).absolute().parent == here}
    write_manifest(out_dir, BATCH, (set(m["files"]) if m else set()) | set(BATCH_FILES) | jobs_here)


def _executor(workers: int, scheduler: str | None, cluster: dict | None = None, out_dir: Path | None = None):
    """(executor, in-flight limit, closer): the executor of a Dask client (of a dask-jobqueue cluster
    started here, its worker logs in out_dir/cluster-logs, or of a running scheduler), a spawn-based
    process pool for workers > 1, or a single thread of this process for workers == 1."""
    if cluster:
        client, close = start_cluster(cluster, out_dir / LOGS)
        return client.get_executor(pure=False), workers or worker_slots(cluster), close
    if scheduler:
        try:
            from distributed import Client
        except ImportError as exc:
            raise RuntimeError("--scheduler needs dask.distributed (pip install 'henderson[dask]')") from exc
        client = Client(scheduler)
        limit = workers or max(sum(client.nthreads().values()), 1)

        def close():
            client.close()
        return client.get_executor(pure=False), limit, close
    if workers == 1:  # no extra process: one job at a time in this process (a thread keeps the loop responsive)
        pool = cf.ThreadPoolExecutor(max_workers=1)
    else:
        pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                      initializer=die_with_parent, initargs=(os.getpid(),))
    return pool, workers, lambda: pool.shutdown(wait=True, cancel_futures=True)


def run_batch(jobs: list[dict], out_dir, workers: int = 1, scheduler: str | None = None, force: bool = False,
              bar: JobBar | None = None, protect=(), cluster: dict | None = None, share: bool = True) -> pd.DataFrame:
    """Run ``jobs`` (dicts from load_batch), at most ``workers`` at a time; the summary table.

    ``scheduler`` runs them on a running Dask scheduler, ``cluster`` (from clusters.cluster_spec) on
    Dask workers submitted as SLURM/PBS/... jobs for the batch's duration; with either, ``workers``
    None means as many at a time as the workers have threads.

    Jobs whose complete result has the job's current fingerprint are reused unless ``force``. The table
    is written to out_dir/summary.csv and summary.md; error messages and tracebacks to
    out_dir/errors/<name>.txt. OutputFolderError before any job runs when ``out_dir`` cannot take the
    batch (see prepare_batch_folder). ``share``: jobs that differ only in the response run in groups,
    one worker each, sharing the inputs, model and MME analysis (henderson.cli.traitgroups); False runs
    every job on its own.
    """
    out_dir = Path(out_dir)
    prepare_batch_folder(out_dir, jobs, protect)
    for j in jobs:
        clean_partials(Path(j["out"]).parent, prefix=Path(j["out"]).name + "-")
        if read_manifest(j["out"]) is not None:
            clean_partials(j["out"])
    bar = bar or JobBar(len(jobs), enabled=False)
    rows, todo, reasons, cache = {}, [], {}, {}
    for j in jobs:
        fp = job_fingerprint(j, cache)
        reasons[j["name"]] = resume_reason(j, fp, force)
        if reasons[j["name"]] == REUSED:
            rows[j["name"]] = skipped_row(j)
        else:
            todo.append((j, fp))
    counts = {"ok": 0, "failed": 0, "skipped": len(rows)}
    bar.update(0, 0, 0, counts["skipped"])
    if todo:
        remote = scheduler or cluster
        executor, limit, close = _executor(workers if remote else max(int(workers or 1), 1), scheduler, cluster,
                                           out_dir)
        try:
            pending, queue = {}, group_jobs(todo, limit) if share else [[item] for item in todo]
            while queue or pending:
                while queue and len(pending) < limit:
                    group = queue.pop(0)
                    pending[executor.submit(run_group_quietly, group)] = [j for j, _ in group]
                bar.update(counts["ok"], sum(map(len, pending.values())), counts["failed"], counts["skipped"])
                finished, _ = cf.wait(list(pending), return_when=cf.FIRST_COMPLETED)
                for fut in finished:
                    group = pending.pop(fut)
                    for j, row in zip(group, _rows_of(fut, group)):
                        row = {**row, "reuse": reasons[j["name"]]}
                        rows[j["name"]] = row
                        counts["ok" if row["status"] in ("ok", "not_converged") else "failed"] += 1
                        _record_error(out_dir, row)
            bar.update(counts["ok"], 0, counts["failed"], counts["skipped"])
        finally:
            close()
    bar.close()
    table = pd.DataFrame([rows[j["name"]] for j in jobs])
    table["iterations"] = table["iterations"].astype("Int64")
    write_summary(table, out_dir)
    return table


def _rows_of(fut, group: list[dict]) -> list[dict]:
    """The summary rows of a group's jobs; a worker that died is recorded as an internal failure of each."""
    try:
        return fut.result()
    except Exception as exc:
        return [{"name": job["name"], "status": "failed", "exit_code": 4, "seconds": None, "iterations": None,
                 "loglik": None, "converged": None, "error": f"worker failed: {type(exc).__name__}: {exc}",
                 "traceback": "", "out": job["out"]} for job in group]


def _record_error(out_dir: Path, row: dict) -> None:
    """errors/<name>.txt for a failed job; removed when the job later succeeds."""
    path = out_dir / "errors" / f"{row['name']}.txt"
    if row["status"] == "failed":
        path.parent.mkdir(exist_ok=True)
        write_text_atomic(path, row["error"] + "\n" + (row.get("traceback") or ""))
    elif path.exists():
        path.unlink()


def format_table(table: pd.DataFrame) -> str:
    """Fixed-width text of the summary table (name, status, reuse, seconds, iterations, loglik, error)."""
    t = table[["name", "status", "reuse", "seconds", "iterations", "loglik", "error"]].copy()
    t["seconds"] = t["seconds"].map(lambda x: "" if pd.isna(x) else f"{x:.2f}")
    t["iterations"] = t["iterations"].map(lambda x: "" if pd.isna(x) else str(int(x)))
    t["loglik"] = t["loglik"].map(lambda x: "" if pd.isna(x) else f"{x:.4f}")
    t["error"] = t["error"].fillna("").map(lambda s: s if len(s) <= 90 else s[:87] + "...")
    return t.to_string(index=False)


def write_summary(table: pd.DataFrame, out_dir: Path) -> None:
    """summary.csv (all columns) and summary.md (a Markdown table), each written then renamed into place."""
    cols = [c for c in SUMMARY_COLUMNS if c in table.columns]
    write_text_atomic(out_dir / "summary.csv", table[cols].to_csv(index=False))
    md = ["| " + " | ".join(cols[:-1]) + " |", "|" + "---|" * (len(cols) - 1)]
    for _, r in table.iterrows():
        cells = ["" if pd.isna(r[c]) else (f"{r[c]:.4f}" if isinstance(r[c], float) else str(r[c]))
                 for c in cols[:-1]]
        md.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
    write_text_atomic(out_dir / "summary.md", "\n".join(md) + "\n")
