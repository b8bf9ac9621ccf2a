"""io.ownership / io.folders: what henderson may write into, and a half-swapped folder is never 'complete'."""
import os

import pytest

from henderson.errors import OutputFolderError
from henderson.io import atomic_folder, check_output, folders, is_complete, read_manifest


def test_manifest_lists_exactly_what_was_written(tmp_path):
    target = tmp_path / "res"
    with atomic_folder(target, kind="fit result") as tmp:
        (tmp / "a.csv").write_text("1")
    m = read_manifest(target)
    assert m["files"] == ["a.csv"] and m["kind"] == "fit result" and m["complete"] is True


def test_check_output_rules(tmp_path):
    check_output(tmp_path / "new" / "deeper", "fit result")            # new: fine
    (tmp_path / "empty").mkdir()
    check_output(tmp_path / "empty", "fit result")                      # empty: fine
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(OutputFolderError, match="is a file"):
        check_output(tmp_path / "f.txt", "fit result")
    with pytest.raises(OutputFolderError, match="did not write"):
        check_output(tmp_path, "fit result")
    with atomic_folder(tmp_path / "sim", kind="simulation") as tmp:
        (tmp / "data.csv").write_text("y\n1\n")
    with pytest.raises(OutputFolderError, match="an input of this job"):
        check_output(tmp_path / "sim", "simulation", protect=[tmp_path / "sim" / "data.csv"])
    with pytest.raises(OutputFolderError, match="holds a henderson simulation"):
        check_output(tmp_path / "sim", "fit result")


def test_interrupted_swap_is_not_complete_and_is_finished_by_the_next_write(tmp_path, monkeypatch):
    target = tmp_path / "res"
    names = folders.RESULT_FILES
    with atomic_folder(target, kind=folders.FIT_RESULT) as tmp:
        for n in names:
            (tmp / n).write_text("old")
    assert is_complete(target)
    real_replace, calls = os.replace, []

    def dies_on_second_file(src, dst):
        if str(dst).endswith(names[1]):
            raise KeyboardInterrupt
        calls.append(dst)
        return real_replace(src, dst)
    monkeypatch.setattr(folders.os, "replace", dies_on_second_file)
    with pytest.raises(KeyboardInterrupt):
        with atomic_folder(target, kind=folders.FIT_RESULT) as tmp:
            for n in names:
                (tmp / n).write_text("new")
    monkeypatch.undo()
    assert (target / names[0]).read_text() == "new" and (target / names[1]).read_text() == "old"
    assert not is_complete(target)                   # a mix of two results is never taken as one
    with atomic_folder(target, kind=folders.FIT_RESULT) as tmp:
        for n in names:
            (tmp / n).write_text("newer")
    assert is_complete(target) and {(target / n).read_text() for n in names} == {"newer"}
    assert sorted(p.name for p in target.iterdir()) == sorted([*names, ".henderson-manifest.json"])
