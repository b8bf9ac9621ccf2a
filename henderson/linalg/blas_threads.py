"""Set the thread count of every loaded OpenBLAS for the span of a block (no-op elsewhere).

The Takahashi kernel calls BLAS on many mid-sized blocks; with several OpenBLAS thread pools in
one process (CHOLMOD's system OpenBLAS, scipy's and numpy's bundled ones) their worker threads
spin against each other, which made the kernel about 4x slower on a 2-core machine than with
one thread (benchmarks/bench_selinv.py).
"""

import contextlib
import ctypes
import functools
import os
import re
import sys

_OPENBLAS_PATH = re.compile(r"(/\S*openblas\S*\.so\S*)")
_SYMBOLS = (
    ("openblas_get_num_threads", "openblas_set_num_threads"),
    ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
)


@functools.cache
def _openblas_in(paths: tuple) -> tuple:
    """[(get, set)] ctypes functions of the OpenBLAS libraries at ``paths``."""
    found = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for get, set_ in _SYMBOLS:
            if hasattr(lib, get) and hasattr(lib, set_):
                found.append((getattr(lib, get), getattr(lib, set_)))
    return tuple(found)


def _loaded_openblas():
    """Return [(get, set)] ctypes functions of the OpenBLAS libraries mapped in this process.

    Reading /proc/self/maps costs about 2 ms, so the answer is kept until a module is imported
    (shared libraries arrive with extension modules).
    """
    key = len(sys.modules)
    if _SCAN["key"] != key:
        _SCAN["libs"], _SCAN["key"] = _scan_maps(), key
    return _SCAN["libs"]


_SCAN = {"key": None, "libs": ()}


def _scan_maps():
    try:
        with open("/proc/self/maps") as fh:
            lines = [line for line in fh if "openblas" in line]
    except OSError:
        return ()
    return _openblas_in(tuple(sorted(set(_OPENBLAS_PATH.findall("".join(lines))))))


def requested_threads(default: int = 1) -> int:
    """The thread count the user asked of OpenBLAS (OPENBLAS_NUM_THREADS, else OMP_NUM_THREADS), else ``default``."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return default


@contextlib.contextmanager
def blas_threads(n):
    """Run the block with every loaded OpenBLAS limited to n threads, then restore the counts."""
    libs = _loaded_openblas()
    saved = [get() for get, _ in libs]
    try:
        for _, set_ in libs:
            set_(n)
        yield
    finally:
        for (_, set_), k in zip(libs, saved):
            set_(k)
