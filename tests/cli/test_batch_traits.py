"""henderson batch: jobs that differ only in the response share the model and MME analysis in one worker,
with the same results, folders, fingerprints and resume as jobs run one by one."""
import numpy as np
import pandas as pd
import pytest
from conftest import write_toml

from henderson.cli.batch import run_batch
from henderson.cli.jobspec import load_batch
from henderson.cli.traitgroups import group_jobs, share_key
from henderson.io import folders

TRAITS = ["t0", "t1", "t2", "t3", "t4"]


@pytest.fixture
def trait_batch(tmp_path):
    rng = np.random.default_rng(11)
    n = 200
    d = pd.DataFrame({"g": rng.integers(0, 25, n), "x": rng.normal(size=n)})
    for k, t in enumerate(TRAITS):
        d[t] = k + d["x"] + rng.normal(size=25)[d["g"]] + rng.normal(size=n)
    d.loc[[4, 9], "t2"] = np.nan        # t2 left out on other rows: its own analysis
    data = tmp_path / "traits.csv"
    d.to_csv(data, index=False)
    grid = "[" + ", ".join(f'"{t}"' for t in TRAITS + ["nope"]) + "]"
    text = (f'[defaults]\ndata = "{data}"\nfactors = ["g"]\n[grid]\ntrait = {grid}\n'
            '[grid.job]\nformula = "{trait} ~ x + (1|g)"\nname = "{trait}"\n')
    return load_batch(write_toml(tmp_path / "b.toml", text))[0]


def _into(jobs, folder):
    """The jobs with their result folders in ``folder``."""
    return [dict(j, out=str(folder / j["name"])) for j in jobs]


def _results(folder, name):
    return {f: (folder / name / f).read_text() for f in ("fixed_effects.csv", "variance_components.csv")}


def test_jobs_of_one_design_are_grouped_by_everything_but_the_response(trait_batch):
    keys = {share_key(j) for j in trait_batch}
    assert len(keys) == 1
    items = [(j, None) for j in trait_batch]
    assert [len(g) for g in group_jobs(items, 1)] == [6]
    assert [len(g) for g in group_jobs(items, 4)] == [2, 2, 2]      # split so that every worker has work
    other = dict(trait_batch[0], method="ML")
    assert share_key(other) != share_key(trait_batch[0])


def test_shared_batch_equals_the_unshared_one_and_resumes(tmp_path, trait_batch):
    shared = run_batch(_into(trait_batch, tmp_path / "shared"), tmp_path / "shared", workers=1)
    alone = run_batch(_into(trait_batch, tmp_path / "alone"), tmp_path / "alone", workers=1, share=False)
    assert shared["name"].tolist() == alone["name"].tolist() == TRAITS + ["nope"]
    assert shared["status"].tolist() == alone["status"].tolist() == ["ok"] * 5 + ["failed"]
    assert "'nope'" in shared["error"].iloc[-1]
    assert shared["iterations"].tolist() == alone["iterations"].tolist()
    np.testing.assert_allclose(shared["loglik"][:5].astype(float), alone["loglik"][:5].astype(float),
                               rtol=1e-12)
    for t in TRAITS:
        assert folders.is_complete(tmp_path / "shared" / t)
        assert _results(tmp_path / "shared", t) == _results(tmp_path / "alone", t)
    again = run_batch(_into(trait_batch, tmp_path / "shared"), tmp_path / "shared", workers=1)
    assert again["status"].tolist() == ["skipped"] * 5 + ["failed"]


@pytest.mark.filterwarnings("ignore::henderson.errors.MissingDataWarning")
def test_a_worker_builds_the_model_once_per_design(tmp_path, trait_batch):
    from henderson.cli.runjob import _build_model
    models = {}
    first, second, other_rows = (_build_model(j, models) for j in trait_batch[:3])
    assert len(models) == 1 and models[share_key(trait_batch[0])] is first
    assert second.shares_analysis and second.data is first.data
    assert not other_rows.shares_analysis          # t2 is missing on other rows
