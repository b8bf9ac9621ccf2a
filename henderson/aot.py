"""Kernels compiled ahead of time at install time, with numba's JIT as the fallback.

``pip install`` (setup.py, through henderson.aot_build) compiles the kernels listed in KERNELS, for
the argument types listed there, with numba.pycc into the extension module ``henderson._kernels``:
generic code for the build machine's architecture (no instructions of its particular CPU), which
needs neither numba nor a compiler at run time. jitnotice.njit hands every kernel to :func:`attach`:

- a listed kernel whose compiled versions are present becomes an :class:`AOTKernel`, which calls
  the compiled version whose argument types match exactly (dtype, dimensions, C order, aligned,
  writable)
  and otherwise the numba dispatcher (compiled on first use and cached on disk, as without AOT);
- a kernel not listed (called only from other kernels, or new), or any kernel where the extension
  is absent (a failed build, a checkout on PYTHONPATH) or stale, is the numba dispatcher itself.

``HENDERSON_NO_AOT=1`` in the environment ignores the extension (every kernel compiled by numba).
The extension is stale when any file of KERNEL_SOURCES changed after it was built (an edited
kernel in an editable install): its marker export names the SHA-1 of those files. A kernel that
calls kernels of another module must list that module's file there too.

Argument types are written as numba writes them, in short: ``f8``/``i8``/``i4``/``b1`` scalars,
``f8[::1]`` a C-contiguous 1-d array, ``i8[:, :, ::1]`` a C-contiguous 3-d array; a trailing ``r``
(``i8[::1]r``) accepts a read-only array (the kernel never writes it).
"""
from __future__ import annotations

import hashlib
import importlib
import os
import re
from functools import cache
from pathlib import Path

import numpy as np

EXTENSION = "henderson._kernels"
PACKAGE = Path(__file__).resolve().parent

I8, I8R, F8 = "i8[::1]", "i8[::1]r", "f8[::1]"

# kernel ("module.function") -> the argument types of each compiled version. Only kernels called
# from Python need a line: kernels called from kernels are compiled into their callers.
# CHOLMOD's factors come with int32 or int64 indices (scipy's matrices likewise): both are listed.
_BN, _BS, _SI, _PD = ("henderson.linalg.blocked_numeric.", "henderson.linalg.blocked_symbolic.",
                      "henderson.linalg.selinv.", "henderson.pedigree.")
_RK = "henderson.residual.kernels."
_I4 = "i4[::1]"
_SWEEP = [(ix, ix, F8, I8, F8, "i8", "i8", "i8") for ix in (_I4, I8)]
KERNELS: dict[str, list[tuple[str, ...]]] = {
    _BN + "level_factors": [(F8, "i8[:, :, ::1]", I8, "i8[:, ::1]")],
    _BN + "eliminate": [(F8, "f8[:, ::1]", "f8[:, ::1]") + (I8,) * 9],
    _BN + "forward": [("f8[:, :, ::1]", "f8[:, :, ::1]", "f8[:, ::1]", I8, I8, "i8")],
    _BN + "backward": [("f8[:, :, ::1]", "f8[:, ::1]", "f8[:, ::1]", I8, I8)],
    _BN + "inverse_blocks": [(F8, I8, I8, "f8[:, :, ::1]", "f8[:, ::1]", I8, I8, I8, I8, I8)],
    _BN + "eliminate_dense": [(F8, "f8[:, ::1]", "f8[:, ::1]") + (I8,) * 8 + ("i8",)],
    _BN + "symmetrize_upper": [("f8[:, ::1]",)],
    _BN + "inverse_blocks_dense": [("f8[:, ::1]", "f8[:, :, ::1]", "f8[:, ::1]", I8, I8, I8, I8, I8)],
    _BS + "coupling": [(I8, I8, "i8[:, ::1]", I8, I8, I8)],
    _BS + "transpose": [(I8, I8, "i8")],
    _BS + "upper_coupling": [(I8,) * 8 + ("i8", "i8")],
    _BS + "schur_counts": [(I8,) * 8 + (limit,) for limit in ("i8", "f8")],
    _BS + "schur_pattern": [(I8,) * 8 + ("i8",)],
    _SI + "find_supernodes": [(ix, ix) for ix in (_I4, I8)],
    _SI + "_sweep": _SWEEP,
    _SI + "_sweep_narrow": _SWEEP,
    _SI + "_last_block": [(ix, F8, "i8") for ix in (_I4, I8)],
    _SI + "_store_last_block": [(ix, F8, "i8", "f8[:, ::1]") for ix in (_I4, I8)],
    _SI + "pattern_positions": [(cx, cx, I8, lx, lx) for cx in (_I4, I8) for lx in (_I4, I8)],
    _PD + "order._generations": [(I8, I8)],
    _PD + "inbreeding._inbreeding": [(I8R,) * 4],
    _PD + "pedigree._with_ancestors": [("b1[::1]", I8R, I8R)],
    _RK + "_local_blocks": [("i8[:, ::1]", "i8", ix, ix, F8, ix, ix, "i8") for ix in (_I4, I8)],
    _RK + "_cross_add": [("f8[:, :, ::1]", "i8[:, :, ::1]", "f8[:, :, ::1]", F8)],
    _RK + "_hat": [("f8[:, :, ::1]", "i8[:, :, ::1]", F8, "f8[:, :, ::1]")],
}

# Files whose text determines the compiled code (the kernels, the kernels they call, this table).
KERNEL_SOURCES = ("aot.py", "sorting.py", "linalg/blocked_numeric.py", "linalg/blocked_symbolic.py",
                  "linalg/selinv.py", "pedigree/inbreeding.py", "pedigree/order.py", "pedigree/pedigree.py",
                  "residual/kernels.py")

_DTYPES = {"f8": np.dtype(np.float64), "i8": np.dtype(np.int64), "i4": np.dtype(np.int32),
           "b1": np.dtype(np.bool_)}
_SPEC = re.compile(r"^(f8|i8|i4|b1)(?:\[((?::, )*)::1\](r?))?$")


def source_digest() -> str:
    """SHA-1 (first 16 hex digits) of the files in KERNEL_SOURCES, in that order."""
    h = hashlib.sha1()
    for name in KERNEL_SOURCES:
        h.update((PACKAGE / name).read_bytes())
    return h.hexdigest()[:16]


def export_name(kernel: str, version: int) -> str:
    """The extension's name for compiled version `version` of `kernel` ("module.function")."""
    return kernel.removeprefix("henderson.").replace(".", "__") + f"__v{version}"


def marker_name(digest: str) -> str:
    """The name of the extension's export that says which kernel sources it was built from."""
    return f"built_from_{digest}"


def parse(spec: str) -> tuple[np.dtype, int, bool]:
    """(dtype, number of dimensions (0: a scalar), read-only accepted) of an argument type."""
    m = _SPEC.match(spec)
    if m is None:
        raise ValueError(f"unknown kernel argument type {spec!r}")
    ndim = 0 if m.group(2) is None else m.group(2).count(":,") + 1
    return _DTYPES[m.group(1)], ndim, bool(m.group(3))


def _checker(spec: str):
    """A predicate: does a Python argument have exactly the type `spec`?"""
    dtype, ndim, readonly = parse(spec)
    if ndim:
        def array(a):
            return (type(a) is np.ndarray and a.dtype == dtype and a.ndim == ndim and a.flags.c_contiguous
                    and a.flags.aligned and (readonly or a.flags.writeable))
        return array
    if dtype.kind == "b":
        return lambda x: isinstance(x, bool | np.bool_)
    if dtype.kind == "f":
        return lambda x: isinstance(x, float | np.float64)
    return lambda x: isinstance(x, int | np.integer) and not isinstance(x, bool)


@cache
def compiled():
    """The extension module when present, built from the current kernel sources and not switched off
    by HENDERSON_NO_AOT, else None."""
    if os.environ.get("HENDERSON_NO_AOT", "") not in ("", "0"):
        return None
    try:
        mod = importlib.import_module(EXTENSION)
    except ImportError:
        return None
    return mod if hasattr(mod, marker_name(source_digest())) else None


class AOTKernel:
    """A kernel with compiled versions: calls the one matching the arguments, else numba's dispatcher.

    Inside other kernels numba types it as the dispatcher (``_numba_type_``), so jitted callers
    compile and call the kernel as before.
    """

    def __init__(self, dispatcher, versions):
        self.dispatcher = dispatcher
        self.versions = versions  # [(argument predicates, compiled function)]
        self.py_func = dispatcher.py_func
        self.__name__ = dispatcher.py_func.__name__
        self.__qualname__ = dispatcher.py_func.__qualname__
        self.__module__ = dispatcher.py_func.__module__
        self.__doc__ = dispatcher.py_func.__doc__

    @property
    def _numba_type_(self):
        from numba.core import types
        return types.Dispatcher(self.dispatcher)

    def __reduce__(self):
        return self.__qualname__  # pickled by reference, as a function

    def __call__(self, *args):
        for checks, func in self.versions:
            if len(args) == len(checks) and all(c(a) for c, a in zip(checks, args)):
                return func(*args)
        return self.dispatcher(*args)


def attach(dispatcher):
    """An AOTKernel for a listed kernel with its compiled versions present, else the dispatcher."""
    func = dispatcher.py_func
    kernel = f"{func.__module__}.{func.__qualname__}"
    mod = compiled() if kernel in KERNELS else None
    if mod is None:
        return dispatcher
    versions = [([_checker(s) for s in specs], getattr(mod, export_name(kernel, i)))
                for i, specs in enumerate(KERNELS[kernel])]
    return AOTKernel(dispatcher, versions)
