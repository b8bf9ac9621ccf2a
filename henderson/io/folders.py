"""Result folders written atomically: files go to a hidden sibling folder that is renamed into place.

A folder named like the target therefore exists only when every file in it is complete; an
interrupted write leaves at most a ``.partial-*`` folder, which :func:`clean_partials` removes.
"""
from __future__ import annotations

import json
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path

RESULT_FILES = ("fixed_effects.csv", "variance_components.csv", "iterations.csv", "summary.txt", "result.json")
PARTIAL = ".partial-"


@contextmanager
def atomic_folder(target):
    """Yield a temporary folder; on success rename it to ``target`` (replacing an old one), on error delete it."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f"{PARTIAL}{target.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        old = None
        if target.exists():
            old = target.parent / f"{PARTIAL}{target.name}-old-{uuid.uuid4().hex[:8]}"
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_result(result, target, extra: dict | None = None) -> Path:
    """Write a FitResult's tables, summary and JSON into ``target`` atomically.

    Files: fixed_effects.csv, variance_components.csv, random_effects_<group>.csv, iterations.csv,
    summary.txt, result.json (``extra`` is stored under the key "job").
    """
    target = Path(target)
    with atomic_folder(target) as tmp:
        result.fixed_effects.to_csv(tmp / "fixed_effects.csv", float_format="%.17g")
        result.variance_components.to_csv(tmp / "variance_components.csv", index=False, float_format="%.17g")
        for group, df in result.random_effects.items():
            df.to_csv(tmp / f"random_effects_{_safe(group)}.csv", index_label="level", float_format="%.17g")
        result.iterations.to_csv(tmp / "iterations.csv", index=False, float_format="%.17g")
        (tmp / "summary.txt").write_text(result.summary() + "\n")
        d = result.to_dict()
        if extra is not None:
            d["job"] = extra
        (tmp / "result.json").write_text(json.dumps(d, indent=1, allow_nan=True, default=str))
    return target


def _safe(name: str) -> str:
    """A group name usable in a file name (g1:g2 -> g1_g2)."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


def is_complete(target) -> bool:
    """True when ``target`` holds every result file (it was renamed into place after a full write)."""
    target = Path(target)
    return target.is_dir() and all((target / f).is_file() for f in RESULT_FILES)


def read_result_json(target) -> dict:
    """The result.json of a complete result folder."""
    return json.loads((Path(target) / "result.json").read_text())


def clean_partials(folder) -> int:
    """Remove ``.partial-*`` folders left in ``folder`` by interrupted writes; return how many."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    n = 0
    for p in folder.glob(PARTIAL + "*"):
        shutil.rmtree(p, ignore_errors=True)
        n += 1
    return n
