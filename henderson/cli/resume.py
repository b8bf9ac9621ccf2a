"""When a batch re-run may reuse a job's earlier result: the job's fingerprint is unchanged.

A fingerprint holds what decides the fit: the henderson version, the formula, every other job key
except ``name`` and ``out`` (method, algorithm, transforms, subset, max_iter, tol, ordering, pedigree
columns...), and for the data and pedigree files their size, modification time and SHA-256. Files are
compared by size and content hash: a file that was only touched (new mtime, same bytes) or moved is
still the same input; the mtime is recorded for the reader.
"""
from __future__ import annotations

import json

from ..io import file_fingerprint, is_complete, read_result_json

NOT_FIT_KEYS = ("name", "out")
INPUT_FILES = ("data", "pedigree")
REUSED = "reused"


def job_fingerprint(job: dict, cache: dict | None = None) -> dict | None:
    """The fingerprint of ``job`` (see the module docstring); None when an input file cannot be read."""
    from .. import __version__
    skip = NOT_FIT_KEYS + INPUT_FILES + ("formula",)
    options = {k: v for k, v in sorted(job.items()) if k not in skip and v is not None}
    try:
        files = {k: file_fingerprint(job[k], cache) if job.get(k) else None for k in INPUT_FILES}
    except OSError:
        return None
    return {"henderson": __version__, "formula": job["formula"],
            "options": json.loads(json.dumps(options, default=str)), **files}


def _same_file(a: dict | None, b: dict | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.get("size"), a.get("sha256")) == (b.get("size"), b.get("sha256"))


def reuse_reason(stored: dict | None, current: dict | None) -> str:
    """"reused" when the stored fingerprint matches the current one, otherwise why not
    (e.g. "data changed, formula changed")."""
    if current is None:
        return "inputs not readable"
    if not isinstance(stored, dict):
        return "no fingerprint (older result)"
    changes = []
    if stored.get("henderson") != current["henderson"]:
        changes.append("henderson version changed")
    for k in INPUT_FILES:
        if not _same_file(stored.get(k), current[k]):
            changes.append(f"{k} changed")
    if stored.get("formula") != current["formula"]:
        changes.append("formula changed")
    old, new = stored.get("options") or {}, current["options"]
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    if keys:
        changes.append(f"options changed ({', '.join(keys)})")
    return ", ".join(changes) or REUSED


def resume_reason(job: dict, fingerprint: dict | None, force: bool = False) -> str:
    """"reused" when the job's folder holds a complete result of the same fingerprint; otherwise why the
    job is computed ("no previous result", "forced (--force)", "data changed"...)."""
    if not is_complete(job["out"]):
        return "no previous result"
    if force:
        return "forced (--force)"
    try:
        stored = read_result_json(job["out"]).get("fingerprint")
    except (OSError, ValueError):
        return "previous result unreadable"
    return reuse_reason(stored, fingerprint)
