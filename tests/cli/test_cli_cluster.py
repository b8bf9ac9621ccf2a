"""henderson batch --cluster slurm: a batch submitted through dask-jobqueue to a real one-node SLURM cluster
(munged, slurmctld and slurmd started here on 127.0.0.1, see onenode_slurm) gives the local results."""
import json
import os
import re
import time
import tomllib
from pathlib import Path

import pytest
from conftest import SLEEP, write_toml
from onenode_slurm import OneNodeSlurm, cannot_start

from henderson.cli import main
from henderson.cli.clusters import cluster_spec, start_cluster
from henderson.cli.jobspec import JobFileError
from henderson.io import is_complete, read_manifest

JOBS = f'''
[defaults]
data = "{SLEEP}"
factors = ["Subject"]
[[job]]
name = "slope"
formula = "Reaction ~ Days + (Days|Subject)"
[[job]]
name = "intercept"
formula = "Reaction ~ Days + (1|Subject)"
[[job]]
name = "bad"
formula = "Reaction ~ Days + (1|Nobody)"
'''
# Loopback only: the scheduler on lo's address, the workers' nanny, worker and dashboard on 127.0.0.1.
CLUSTER = '''
[cluster]
kind = "slurm"
jobs = 2
cores = 1
memory = "1GB"
walltime = "00:10:00"
queue = "debug"
interface = "lo"
worker_extra_args = ["--dashboard-address", "127.0.0.1:0"]
wait = 60
'''


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    """A running one-node SLURM cluster (SLURM_CONF set for this module's tests); skipped where the
    daemons cannot start."""
    reason = cannot_start()
    if reason:
        pytest.skip(f"no one-node SLURM cluster: {reason}")
    pytest.importorskip("dask_jobqueue", reason="dask-jobqueue not installed (pip install 'henderson[cluster]')")
    cluster = OneNodeSlurm(tmp_path_factory.mktemp("slurm")).start()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SLURM_CONF", str(cluster.conf))
        try:
            yield cluster
        finally:
            cluster.stop()


def test_slurm_batch_equals_local_batch(tmp_path, slurm):
    jobs = write_toml(tmp_path / "jobs.toml", JOBS + CLUSTER)
    local = write_toml(tmp_path / "local.toml", JOBS)
    assert main(["batch", str(local), "--out", str(tmp_path / "local"), "-q"]) == 2
    assert main(["batch", str(jobs), "--out", str(tmp_path / "slurm"), "-q"]) == 2
    for name in ("slope", "intercept"):
        a = json.loads((tmp_path / "local" / name / "result.json").read_text())
        b = json.loads((tmp_path / "slurm" / name / "result.json").read_text())
        for key in ("loglik", "theta", "fixed_effects", "variance_components", "random_effects", "n_iter"):
            assert a[key] == b[key], key
        assert b["fingerprint"]["formula"] == a["fingerprint"]["formula"]
        assert is_complete(tmp_path / "slurm" / name)
    assert "Nobody" in (tmp_path / "slurm" / "errors" / "bad.txt").read_text()
    assert not (tmp_path / "slurm" / "bad").exists()
    assert "cluster-logs" in read_manifest(tmp_path / "slurm")["files"]
    logs = "".join(p.read_text() for p in (tmp_path / "slurm" / "cluster-logs").glob("*.err"))
    assert "tcp://127.0.0.1:" in logs and "Starting established connection" in logs  # workers ran under SLURM
    assert slurm.queue("PD,CF,R,S") == []  # the batch cancelled its worker jobs
    # a re-run reuses every complete result without starting a cluster
    assert main(["batch", str(jobs), "--out", str(tmp_path / "slurm"), "-q"]) == 2
    summary = (tmp_path / "slurm" / "summary.csv").read_text()
    assert summary.count(",skipped,reused,") == 2


def test_refused_submission_is_bad_input(tmp_path, slurm, capsys):
    jobs = write_toml(tmp_path / "jobs.toml", JOBS + CLUSTER.replace('"debug"', '"nosuchqueue"'))
    assert main(["batch", str(jobs), "--out", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "henderson: error: slurm: slurm refused the worker jobs: sbatch: error: invalid partition" in err
    assert slurm.queue("PD,CF,R,S") == []


def test_no_worker_within_wait_is_bad_input(tmp_path, slurm, capsys):
    jobs = write_toml(tmp_path / "jobs.toml", JOBS + CLUSTER.replace("wait = 60", "wait = 3"))
    slurm.scontrol("update", "partitionname=debug", "state=DOWN")  # jobs are accepted, never started
    try:
        assert main(["batch", str(jobs), "--out", str(tmp_path / "out"), "-q"]) == 2
    finally:
        slurm.scontrol("update", "partitionname=debug", "state=UP")
    assert "henderson: error: slurm: no slurm worker joined within 3 s" in capsys.readouterr().err
    assert slurm.queue("PD,CF,R,S") == []  # the pending worker jobs were cancelled


@pytest.mark.parametrize("cores", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_a_lost_job_is_replaced(tmp_path, slurm, cores):
    """A worker job that ends (scancel here; walltime or preemption on a real cluster) is submitted anew,
    so that the fits queued on it still run; with 2 cores, a job of two worker processes."""
    spec = cluster_spec({**tomllib.loads(CLUSTER)["cluster"], "cores": cores, "memory": "2GB"}, jobs=1)
    client, close = start_cluster(spec, tmp_path / "logs")
    try:
        client.wait_for_workers(1, timeout=60)
        first = slurm.queue("R")
        assert len(first) == 1
        slurm.scancel(first[0])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (slurm.queue("R") in ([], first) or len(client.nthreads()) < cores):
            time.sleep(0.5)
        second = slurm.queue("R")
        assert len(second) == 1 and second != first
        assert client.submit(sum, [1, 2], pure=False).result(timeout=60) == 3
    finally:
        close()
    assert slurm.queue("PD,CF,R,S") == []


@pytest.mark.parametrize("table, flags, message", [
    ({"kind": "slurm", "cpus": 2}, {}, "unknown key 'cpus' in [cluster]"),
    ({"kind": "torque"}, {}, "cluster kind must be one of slurm, pbs, sge, lsf, got 'torque'"),
    ({"kind": "slurm", "jobs": 0}, {}, "key 'jobs' in [cluster] must be > 0, got 0"),
    ({"kind": "slurm", "memory": 2}, {}, "key 'memory' in [cluster] must be str, got 2"),
    ({"kind": "slurm", "cores": 1, "processes": 2}, {}, "processes (2) must not exceed cores (1)"),
    (None, {"jobs": 3}, "[cluster] needs a kind"),
])
def test_cluster_table_errors(table, flags, message):
    with pytest.raises(JobFileError) as e:
        cluster_spec(table, file="b.toml", **flags)
    assert message in str(e.value)


def test_cluster_flags_override_table():
    spec = cluster_spec({"kind": "pbs", "jobs": 2, "cores": 4, "queue": "short"}, kind="SLURM", jobs=5)
    assert spec == {"kind": "slurm", "jobs": 5, "cores": 4, "processes": 4, "memory": "2GB",
                    "walltime": "01:00:00", "queue": "short"}
    assert cluster_spec(None) is None


def test_readme_cluster_table_is_valid():
    """The README's [cluster] example (a fence without a language: it needs a cluster to run) is accepted."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = re.search(r"^```\n(\[cluster\]\n.*?)^```", readme, re.S | re.M).group(1)
    spec = cluster_spec(tomllib.loads(block)["cluster"], file="README.md")
    assert spec["kind"] == "slurm" and spec["jobs"] == 4 and spec["processes"] == 4


def test_scheduler_and_cluster_exclude_each_other(tmp_path, capsys):
    jobs = write_toml(tmp_path / "jobs.toml", JOBS)
    assert main(["batch", str(jobs), "--cluster", "slurm", "--scheduler", "tcp://127.0.0.1:1", "-q"]) == 2
    assert "exclude each other" in capsys.readouterr().err
    assert not (tmp_path / "jobs_results").exists()
    assert os.listdir(tmp_path) == ["jobs.toml"]
