"""henderson batch --scheduler: the same jobs on a local Dask distributed cluster give the local results."""
import json

import pytest
from conftest import SLEEP, write_toml

from henderson.cli import main

distributed = pytest.importorskip("distributed")

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


def test_dask_batch_equals_local_batch(tmp_path):
    jobs = write_toml(tmp_path / "jobs.toml", JOBS)
    assert main(["batch", str(jobs), "--out", str(tmp_path / "local"), "--workers", "1", "-q"]) == 2
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0") as cluster:   # loopback only
        assert main(["batch", str(jobs), "--out", str(tmp_path / "dask"), "--scheduler",
                     cluster.scheduler_address, "-q"]) == 2
    for name in ("slope", "intercept"):
        a = json.loads((tmp_path / "local" / name / "result.json").read_text())
        b = json.loads((tmp_path / "dask" / name / "result.json").read_text())
        for key in ("loglik", "theta", "fixed_effects", "variance_components", "random_effects", "n_iter"):
            assert a[key] == b[key], key
    assert "Nobody" in (tmp_path / "dask" / "errors" / "bad.txt").read_text()
    assert not (tmp_path / "dask" / "bad").exists()
