"""Fingerprints of input files: size, modification time and SHA-256 of the content."""
from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 20


def file_fingerprint(path, cache: dict | None = None) -> dict:
    """{"size", "mtime_ns", "sha256"} of the file at ``path``.

    ``cache`` (a dict kept by the caller) maps (resolved path, size, mtime_ns) to the hash, so a file
    shared by many jobs is read once.
    """
    path = Path(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if cache is not None and key in cache:
        digest = cache[key]
    else:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(CHUNK), b""):
                h.update(block)
        digest = h.hexdigest()
        if cache is not None:
            cache[key] = digest
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}
