"""Which folders henderson may write into: new, empty, or holding only files henderson wrote there before.

Every folder henderson writes carries a manifest, ``.henderson-manifest.json``, listing the files it wrote
(and the kind of folder: a fit result, a batch, a simulation). A folder holding anything else (a user's
files, the data being fitted) is refused before any work starts, so a user's file is never deleted or
overwritten. Folders named ``.partial-*`` are henderson's unfinished writes and are not counted.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from ..errors import OutputFolderError

MANIFEST = ".henderson-manifest.json"
PARTIAL = ".partial-"


def read_manifest(folder) -> dict | None:
    """The manifest of ``folder`` as a dict, or None when there is none (or it is not henderson's JSON)."""
    path = Path(folder) / MANIFEST
    try:
        m = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(m, dict) or m.get("written_by") != "henderson" or not isinstance(m.get("files"), list):
        return None
    return m


def write_manifest(folder, kind: str, files, complete: bool = True) -> None:
    """Write the manifest of ``folder`` (written to a temporary file, then renamed over the old one)."""
    from .. import __version__
    folder = Path(folder)
    text = json.dumps({"written_by": "henderson", "version": __version__, "kind": kind, "complete": complete,
                       "files": sorted(set(files) - {MANIFEST})}, indent=1)
    tmp = folder / f"{MANIFEST}.tmp"
    tmp.write_text(text + "\n")
    os.replace(tmp, folder / MANIFEST)


def foreign_entries(folder) -> list[str]:
    """Names in ``folder`` that henderson did not record writing (sorted); [] for a new or empty folder."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    names = sorted(p.name for p in folder.iterdir() if not p.name.startswith(PARTIAL))
    m = read_manifest(folder)
    owned = {MANIFEST, f"{MANIFEST}.tmp"} | (set(m["files"]) if m else set())
    return [n for n in names if n not in owned] if m else [n for n in names if n != f"{MANIFEST}.tmp"]


def _listing(names: list[str]) -> str:
    """'a, b, c' for at most ten names, then 'and N more'."""
    head = ", ".join(names[:10])
    return head + (f" and {len(names) - 10} more ({len(names)} in all)" if len(names) > 10 else "")


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output(target, kind: str, protect=()) -> None:
    """Raise OutputFolderError unless henderson may write a ``kind`` folder at ``target``.

    Allowed: a folder that does not exist yet (its nearest existing parent writable), an empty folder, or
    a folder whose every entry is listed in its manifest of the same kind. Refused: a file; a folder that
    holds a user's files; a folder that holds (at any depth) one of the ``protect`` files (the job's
    data, pedigree, job file); a location that cannot be written.
    """
    target = Path(target).expanduser()
    where = target.absolute()
    if where.is_symlink() and not where.exists():
        raise OutputFolderError(target, "is a link to nothing: name a new or empty folder for the results")
    if where.exists() and not where.is_dir():
        raise OutputFolderError(target, "is a file, not a folder: name a new or empty folder for the results")
    real = where.resolve()
    for p in protect:
        if p and _inside(Path(p).expanduser().resolve(), real):
            raise OutputFolderError(target, f"holds {p}, an input of this job; henderson will not write "
                                            "results over its inputs: name another folder")
    if where.is_dir():
        foreign = foreign_entries(where)
        if foreign:
            raise OutputFolderError(target, f"holds files henderson did not write ({_listing(foreign)}); results "
                                            "go only into a new or empty folder or one holding an earlier "
                                            "henderson result: name another folder")
        m = read_manifest(where)
        if m and m.get("kind") != kind:
            raise OutputFolderError(target, f"holds a henderson {m.get('kind')}, not a {kind}: name another "
                                            "folder")
    check_writable(target)


def check_writable(target) -> None:
    """Raise OutputFolderError unless a file can be created in ``target`` (or, when it does not exist
    yet, the folder can be created): tried by creating and removing a hidden probe."""
    target = Path(target).expanduser()
    base = target.absolute()
    while not base.exists():
        base = base.parent
    if not base.is_dir():
        raise OutputFolderError(target, f"cannot be created: {base} is a file, not a folder")
    try:
        probe = tempfile.mkdtemp(prefix=".henderson-probe-", dir=base)
        os.rmdir(probe)
    except OSError as exc:
        what = "is not writable" if base == target.absolute() else f"cannot be created: {base} is not writable"
        raise OutputFolderError(target, f"{what} ({exc.strerror or exc})") from None
