"""Result folders written whole or not at all, into folders henderson owns only (see ownership).

A new folder appears by renaming a hidden sibling ``.partial-*`` folder into place. A folder holding an
earlier henderson result gets each new file by rename and loses only the files its manifest lists that
the new result does not have; while files are swapped its manifest says ``complete: false``. An
interrupted write leaves at most a ``.partial-*`` folder, which :func:`clean_partials` removes.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path

from .ownership import PARTIAL, check_output, read_manifest, write_manifest

RESULT_FILES = ("fixed_effects.csv", "variance_components.csv", "iterations.csv", "summary.txt", "result.json")
FIT_RESULT = "fit result"


@contextmanager
def atomic_folder(target, kind: str = "folder", protect=()):
    """Yield an empty temporary folder; on success its files become the contents of ``target``.

    ``target`` must be new, empty, or henderson's own folder of the same ``kind`` not holding any of the
    ``protect`` files (OutputFolderError before anything is written otherwise). On error the temporary
    folder is removed and ``target`` is as it was.
    """
    target = Path(target)
    check_output(target, kind, protect)
    if target.is_dir():
        tmp = target / f"{PARTIAL}{uuid.uuid4().hex[:8]}"
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f"{PARTIAL}{target.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        _install(tmp, target, kind, protect)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _install(tmp: Path, target: Path, kind: str, protect) -> None:
    """Make the files of ``tmp`` the contents of ``target``, replacing only henderson's own files."""
    names = sorted(p.name for p in tmp.iterdir())
    if not target.exists():
        write_manifest(tmp, kind, names)
        try:
            os.rename(tmp, target)
            return
        except OSError:
            if not target.is_dir():
                raise
    check_output(target, kind, protect)          # again: files may have appeared while the job ran
    m = read_manifest(target)
    old = set(m["files"]) if m else set()
    write_manifest(target, kind, old | set(names), complete=False)
    for n in names:
        os.replace(tmp / n, target / n)
    for n in sorted(old - set(names)):
        p = target / n
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() and not p.is_symlink() else p.unlink(missing_ok=True)
    write_manifest(target, kind, names)
    shutil.rmtree(tmp, ignore_errors=True)


def write_text_atomic(path, text: str) -> None:
    """Write ``text`` to ``path`` by writing a temporary sibling and renaming it over ``path``."""
    path = Path(path)
    tmp = path.with_name(f"{PARTIAL}{path.name}-{uuid.uuid4().hex[:8]}")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_result(result, target, extra: dict | None = None, fingerprint: dict | None = None,
                 protect=(), also=None) -> Path:
    """Write a FitResult's tables, summary and JSON into the folder ``target`` (see atomic_folder).

    Files: fixed_effects.csv, variance_components.csv, random_effects_<group>.csv, iterations.csv,
    summary.txt, result.json (``extra`` is stored under the key "job", ``fingerprint`` under
    "fingerprint"), for correlated terms covariance_<joint>.csv and heritability.csv (joint_tables), for
    multi-trait fits covariance_<group>.csv, covariance_Residual.csv, heritability.csv and correlations.csv
    (MultiTraitResult.trait_tables), and the manifest. ``protect``: files the folder must not hold (the
    job's inputs). ``also``: a function of the (temporary) folder writing more files there (the genomic
    files of a job), listed in the manifest with the others.
    """
    target = Path(target)
    with atomic_folder(target, FIT_RESULT, protect) as tmp:
        result.fixed_effects.to_csv(tmp / "fixed_effects.csv", float_format="%.17g")
        result.variance_components.to_csv(tmp / "variance_components.csv", index=False, float_format="%.17g")
        for group, df in result.random_effects.items():
            df.to_csv(tmp / f"random_effects_{_safe(group)}.csv", index_label="level", float_format="%.17g")
        result.iterations.to_csv(tmp / "iterations.csv", index=False, float_format="%.17g")
        for name, df in joint_tables(result).items():
            df.to_csv(tmp / name, float_format="%.17g")
        (tmp / "summary.txt").write_text(result.summary() + "\n")
        if hasattr(result, "trait_tables"):   # multi-trait: covariance matrices, heritabilities, correlations
            for name, df in result.trait_tables().items():
                df.to_csv(tmp / f"{_safe(name)}.csv", float_format="%.17g")
        d = result.to_dict()
        if extra is not None:
            d["job"] = extra
        if fingerprint is not None:
            d["fingerprint"] = fingerprint
        (tmp / "result.json").write_text(json.dumps(d, indent=1, allow_nan=True, default=str))
        if also is not None:
            also(tmp)
    return target


def joint_tables(result) -> dict:
    """Files of a model with correlated terms (Model(correlated=...), e.g. direct-maternal id+dam):
    covariance_<joint>.csv, the joint covariance of each group (FitResult.covariance), and
    heritability.csv, each part's heritability with its SE (FitResult.heritability), when defined."""
    from ..errors import DesignError
    joint = list(getattr(getattr(result, "model", None), "joint", None) or [])
    out = {f"covariance_{_safe(name)}.csv": result.covariance(*parts) for name, parts in joint}
    if joint:
        try:
            out["heritability.csv"] = result.heritability()
        except DesignError:   # no single pedigree term: heritability(group=...) is the user's call
            pass
    return out


def _safe(name: str) -> str:
    """A group name usable in a file name (g1:g2 -> g1_g2)."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


def is_complete(target) -> bool:
    """True when ``target`` is a finished henderson fit result: its manifest says complete and every
    result file is there."""
    target = Path(target)
    m = read_manifest(target) if target.is_dir() else None
    return bool(m and m.get("complete") and m.get("kind") == FIT_RESULT
                and all((target / f).is_file() for f in RESULT_FILES))


def read_result_json(target) -> dict:
    """The result.json of a complete result folder."""
    return json.loads((Path(target) / "result.json").read_text())


def clean_partials(folder, prefix: str = "") -> int:
    """Remove the leftovers of interrupted writes in ``folder``: entries named as henderson names its
    temporary files and folders, ``.partial-<prefix>[<name>-]<8 hex digits>``; return how many.

    In a folder that is not henderson's own (the parent of a new result folder) pass the result folder's
    name and "-" as ``prefix``, so that only that folder's temporary twin can match.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    pattern = re.compile(re.escape(PARTIAL + prefix) + r"(?:.+-)?[0-9a-f]{8}")
    n = 0
    for p in folder.glob(PARTIAL + "*"):
        if not pattern.fullmatch(p.name):
            continue
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() and not p.is_symlink() else p.unlink(missing_ok=True)
        n += 1
    return n
