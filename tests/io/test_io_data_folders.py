"""io: CSV and Parquet read the same table; transforms match pandas; result folders appear whole or not at all."""
import numpy as np
import pandas as pd
import pytest

from henderson.errors import DesignError
from henderson.io import atomic_folder, clean_partials, is_complete, prepare_data, read_table


@pytest.fixture
def frame():
    return pd.DataFrame({"id": ["007", "008", "009", "010"], "y": [1.0, 2.0, 4.0, 8.0], "g": [1, 1, 2, 2]})


def test_csv_and_parquet_read_alike(tmp_path, frame):
    pytest.importorskip("pyarrow")
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet", index=False)
    a = read_table(tmp_path / "d.csv", columns_as_text=["id"])
    b = read_table(tmp_path / "d.parquet", columns_as_text=["id"])
    assert list(a["id"]) == list(b["id"]) == ["007", "008", "009", "010"]
    np.testing.assert_array_equal(a["y"], b["y"])


def test_transforms(frame):
    out = prepare_data(frame, subset="y > 1", factors=["g"], scale=["y"])
    y = np.array([2.0, 4.0, 8.0])
    np.testing.assert_allclose(out["y"], y / np.std(y, ddof=1))
    assert isinstance(out["g"].dtype, pd.CategoricalDtype) and list(out["g"].cat.categories) == ["1", "2"]
    with pytest.raises(DesignError, match="'nope'"):
        prepare_data(frame, factors=["nope"], label="d.csv")
    with pytest.raises(DesignError, match="no rows"):
        prepare_data(frame, subset="y > 100")


def test_missing_file_named(tmp_path):
    with pytest.raises(DesignError, match="absent.csv: file not found"):
        read_table(tmp_path / "absent.csv")


def test_atomic_folder_replaces_whole_or_not_at_all(tmp_path):
    target = tmp_path / "res"
    with atomic_folder(target) as tmp:
        (tmp / "a.txt").write_text("1")
    assert (target / "a.txt").read_text() == "1"
    with pytest.raises(RuntimeError):
        with atomic_folder(target) as tmp:
            (tmp / "a.txt").write_text("2")
            raise RuntimeError
    assert (target / "a.txt").read_text() == "1"          # old result untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]
    with atomic_folder(target) as tmp:
        (tmp / "b.txt").write_text("3")
    assert sorted(p.name for p in target.iterdir()) == [".henderson-manifest.json", "b.txt"]  # a.txt was ours
    (tmp_path / ".partial-res-0123abcd").mkdir()       # what an interrupted write of "res" leaves
    (tmp_path / ".partial-notes.txt").write_text("a user's file that merely looks like one")
    (tmp_path / ".partial-other-0123abcd").mkdir()     # another folder's leftover: not ours to judge here
    assert clean_partials(tmp_path, prefix="res-") == 1 and not is_complete(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".partial-notes.txt", ".partial-other-0123abcd", "res"]
    assert clean_partials(tmp_path) == 1                 # without a prefix: any henderson-named leftover
    assert (tmp_path / ".partial-notes.txt").exists()
