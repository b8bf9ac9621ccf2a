"""Batch jobs on a cluster the user already has (SLURM, PBS, SGE, LSF) through dask-jobqueue.

A batch file's ``[cluster]`` table, or ``henderson batch --cluster KIND --jobs N``, describes the Dask
workers to submit to the queue: ``jobs`` cluster jobs of ``cores`` cores and ``memory`` each, each running
``processes`` single-threaded Dask worker processes (default: one per core, so that each fit has a process
of its own). The batch process runs the Dask scheduler; the workers connect back to it, so the batch
folder and the jobs' inputs must be on a file system the compute nodes see. Worker job logs go to
``cluster-logs/`` in the batch folder. A cluster job that ends while the batch runs is submitted anew
(JobKeeper); the cluster jobs are cancelled when the batch ends.
"""
from __future__ import annotations

from pathlib import Path

from .jobspec import JobFileError

KINDS = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "sge": "SGECluster", "lsf": "LSFCluster"}
CLUSTER_FIELDS = {
    "kind": str, "jobs": int, "cores": int, "memory": str, "processes": int, "walltime": str, "queue": str,
    "account": str, "interface": str, "scheduler_host": str, "python": str, "local_directory": str,
    "job_extra_directives": list, "job_script_prologue": list, "worker_extra_args": list, "wait": float,
}
CLUSTER_DEFAULTS = {"jobs": 1, "cores": 1, "memory": "2GB", "walltime": "01:00:00"}
POSITIVE = ("jobs", "cores", "processes", "wait")
LOGS = "cluster-logs"


def cluster_spec(table: dict | None, kind: str | None = None, jobs: int | None = None, file="") -> dict | None:
    """The checked cluster description: the batch file's ``[cluster]`` table with the command line's
    ``--cluster KIND`` and ``--jobs N`` on top and defaults filled in; None when neither names a cluster.
    JobFileError (naming ``file``) for an unknown key or kind, a wrong type or a number below 1."""
    if table is not None and not isinstance(table, dict):
        raise JobFileError(file, f"'cluster' must be a table ([cluster]), got {table!r}")
    spec = dict(table or {})
    if kind:
        spec["kind"] = kind
    if jobs is not None:
        spec["jobs"] = jobs
    if not spec:
        return None
    for k, v in spec.items():
        t = CLUSTER_FIELDS.get(k)
        if t is None:
            raise JobFileError(file, f"unknown key {k!r} in [cluster]; known keys: {', '.join(sorted(CLUSTER_FIELDS))}")
        if t is float and isinstance(v, int) and not isinstance(v, bool):
            v = spec[k] = float(v)
        if not isinstance(v, t) or isinstance(v, bool) or (t is list and not all(isinstance(x, str) for x in v)):
            raise JobFileError(file, f"key {k!r} in [cluster] must be "
                                     f"{'a list of strings' if t is list else t.__name__}, got {v!r}")
        if k in POSITIVE and not v > 0:
            raise JobFileError(file, f"key {k!r} in [cluster] must be > 0, got {v!r}")
    if "kind" not in spec:
        raise JobFileError(file, f"[cluster] needs a kind ({', '.join(KINDS)}), or pass --cluster KIND")
    spec["kind"] = spec["kind"].lower()
    if spec["kind"] not in KINDS:
        raise JobFileError(file, f"cluster kind must be one of {', '.join(KINDS)}, got {spec['kind']!r}")
    spec = {**CLUSTER_DEFAULTS, **spec}
    spec.setdefault("processes", spec["cores"])
    if spec["processes"] > spec["cores"]:
        raise JobFileError(file, f"[cluster] processes ({spec['processes']}) must not exceed cores ({spec['cores']})")
    return spec


def worker_slots(spec: dict) -> int:
    """How many jobs the cluster runs at once when all its workers are up: one per worker thread."""
    return spec["jobs"] * spec["cores"]


def start_cluster(spec: dict, log_dir: Path):
    """(client, close): a dask-jobqueue cluster of ``spec`` with ``spec['jobs']`` jobs submitted and a
    Client connected to it; ``close()`` cancels the cluster jobs and stops the scheduler.

    The scheduler listens on ``scheduler_host`` (or ``interface``; neither: Dask's default, all
    interfaces) and its dashboard on the same address (dask-jobqueue's default is ':8787', all
    interfaces, whatever the scheduler's). OSError when the queue refuses the jobs, or when ``wait`` seconds pass
    before the first worker joins; ImportError without dask-jobqueue.
    """
    try:
        import dask_jobqueue
        from distributed import Client
    except ImportError as exc:
        raise ImportError("--cluster needs dask-jobqueue (pip install 'henderson[cluster]')") from exc
    cls = getattr(dask_jobqueue, KINDS[spec["kind"]])
    scheduler = {"dashboard_address": None}  # None: the scheduler's own address, not ':8787' (all interfaces)
    if spec.get("scheduler_host"):
        scheduler["host"] = spec["scheduler_host"]
    kwargs = {k: spec[k] for k in ("cores", "memory", "processes", "walltime", "queue", "account", "interface",
                                     "python", "local_directory", "job_extra_directives", "job_script_prologue",
                                     "worker_extra_args") if spec.get(k) is not None}
    log_dir.mkdir(parents=True, exist_ok=True)
    cluster = cls(**kwargs, log_directory=str(log_dir), scheduler_options=scheduler, name="henderson")
    client = None
    try:
        try:
            _submit(cluster, spec["jobs"])
        except RuntimeError as exc:
            raise OSError(f"{spec['kind']} refused the worker jobs: {_stderr_of(exc)}") from None
        client = Client(cluster)
        if spec.get("wait"):
            try:
                client.wait_for_workers(1, timeout=spec["wait"])
            except TimeoutError:
                raise OSError(f"no {spec['kind']} worker joined within {spec['wait']:g} s: see the queue "
                              f"and the job logs in {log_dir}") from None
    except BaseException:
        _close(client, cluster)
        raise
    keeper = JobKeeper(cluster)

    def close():
        keeper.stop()
        _close(client, cluster)
    return client, close


def _submit(cluster, jobs: int) -> None:
    """Submit ``jobs`` worker jobs and return once the queue has taken them: the RuntimeError of the
    submit command (sbatch, qsub...) when it refuses one. (``cluster.scale`` submits in the background
    and only logs a refusal, leaving the batch waiting for workers that never come.)"""
    while len(cluster.worker_spec) < jobs:
        cluster.worker_spec.update(cluster.new_worker_spec())
    try:
        cluster.sync(cluster._correct_state_internal)
    except RuntimeError:
        from distributed.core import Status
        for name, job in list(cluster.workers.items()):  # refused jobs never started: nothing to cancel
            if job.job_id is None:
                job.status = Status.failed
                del cluster.workers[name]
                cluster.worker_spec.pop(name, None)
        raise


class JobKeeper:
    """Keeps the cluster at its number of jobs: every ``every`` seconds, a job whose workers had joined and
    have all left (walltime, preemption, scancel) is cancelled if still listed and submitted anew.
    dask-jobqueue does not replace such a job, and a batch whose workers are all gone would wait for
    ever for the fits queued on them; Dask reruns a lost worker's fit on the workers that remain."""

    def __init__(self, cluster, every: float = 2.0):
        from tornado.ioloop import PeriodicCallback
        self.cluster, self.seen = cluster, set()
        self.sweep(set())  # the jobs whose workers have joined already
        self.callback = PeriodicCallback(self.check, every * 1000)
        cluster.loop.add_callback(self.callback.start)

    def stop(self) -> None:
        self.cluster.loop.add_callback(self.callback.stop)

    async def check(self) -> None:
        """Forget the jobs whose workers all left, then submit what the cluster lacks."""
        from distributed.core import Status
        c = self.cluster
        if c.status != Status.running:
            return
        for job in self.sweep(self.seen):
            await job.close()  # scancel/qdel; a job already gone is no error
            job.status = Status.closed
        if set(c.worker_spec) - set(c.workers):
            await c._correct_state()

    def sweep(self, seen: set) -> list:
        """Note the jobs with a worker connected; take out of the cluster and return those in ``seen``
        whose workers have all left. (A job that ends before any of its workers joined is not seen.)"""
        c = self.cluster
        live = {str(ws.name) for ws in list(c.scheduler.workers.values())}  # the scheduler runs in this process
        lost = []
        for name in list(c.workers):
            own = {name} | {f"{name}{suffix}" for suffix in c.worker_spec.get(name, {}).get("group", ())}
            if own & live:
                self.seen.add(name)
            elif name in seen:
                self.seen.discard(name)
                lost.append(c.workers.pop(name))
        return lost


def _stderr_of(exc: Exception) -> str:
    """The submit command's error output from dask-jobqueue's RuntimeError (its whole text otherwise)."""
    text = str(exc)
    tail = text.rpartition("stderr:")[2].strip()
    return " ".join(tail.splitlines()) if tail else text


def _close(client, cluster) -> None:
    """Close the client (if any), then the cluster (cancels its queued and running jobs)."""
    if client is not None:
        client.close()
    cluster.close()
