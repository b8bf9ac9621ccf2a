"""Install-time compilation of the kernels in henderson.aot.KERNELS with numba.pycc (used by setup.py).

The kernels are compiled for the generic CPU of the build machine's architecture (NUMBA_CPU_NAME
=generic for the kernels they call, pycc's default target for the module itself), so that a wheel
built here runs on any machine of that architecture. Each compiled version is a thin entry that
calls the kernel's numba dispatcher, which keeps the kernel's own options (fastmath, inlining).
"""
from __future__ import annotations

import importlib
import os
import sys
import tempfile
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXTENSION_ATTRS = ("sources", "depends", "define_macros", "include_dirs", "libraries", "library_dirs",
                   "extra_compile_args", "extra_link_args")


def _import_kernel_module(module: str):
    """Import `module` from this source tree without running its parent packages' __init__ (they
    import run-time dependencies, such as scikit-sparse, that the build does not need)."""
    parts = module.split(".")
    for i in range(1, len(parts)):
        pkg = ".".join(parts[:i])
        if pkg not in sys.modules:
            stub = types.ModuleType(pkg)
            stub.__path__ = [str(ROOT.joinpath(*parts[:i]))]
            sys.modules[pkg] = stub
    return importlib.import_module(module)


def _entry(dispatcher, nargs: int):
    """A Python function of nargs arguments returning dispatcher(*arguments), for pycc to export."""
    names = ", ".join(f"a{i}" for i in range(nargs))
    namespace = {"kernel": dispatcher}
    exec(f"def entry({names}):\n    return kernel({names})\n", namespace)
    return namespace["entry"]


def _marker():
    return 0


def kernels_module(temp: Path):
    """A numba.pycc CC exporting every compiled version of henderson.aot.KERNELS and the marker."""
    os.environ["NUMBA_CPU_NAME"] = "generic"  # read when numba is imported, below
    os.environ["NUMBA_CACHE_DIR"] = str(temp / "numba-cache")  # nothing stale, nothing in the tree
    import numba
    from numba.pycc import CC

    aot = _import_kernel_module("henderson.aot")
    _import_kernel_module("henderson.jitnotice").NOTICE.announced = True  # no "compiling on first use" here
    cc = CC(aot.EXTENSION.rsplit(".", 1)[1], __name__)  # named after this module's package
    for kernel, versions in aot.KERNELS.items():
        module, name = kernel.rsplit(".", 1)
        func = getattr(_import_kernel_module(module), name)
        dispatcher = getattr(func, "dispatcher", func)
        for i, specs in enumerate(versions):
            args = tuple(_numba_type(numba, aot, s) for s in specs)
            dispatcher.compile(args)
            signature = dispatcher.overloads[args].signature
            cc.export(aot.export_name(kernel, i), signature)(_entry(dispatcher, len(args)))
    cc.export(aot.marker_name(aot.source_digest()), "int64()")(_marker)
    return cc


def _numba_type(numba, aot, spec: str):
    dtype, ndim, readonly = aot.parse(spec)
    base = numba.from_dtype(dtype)
    return numba.types.Array(base, ndim, "C", readonly=readonly) if ndim else base


def configure(ext, build_temp: str) -> None:
    """Compile the kernels into an object file under build_temp and complete the setuptools
    Extension `ext` (henderson._kernels, no sources yet) to link it with pycc's C helpers."""
    temp = Path(build_temp)
    temp.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=temp) as scratch:
        cc = kernels_module(Path(scratch))
        template = cc.distutils_extension()
        for attr in EXTENSION_ATTRS:
            setattr(ext, attr, getattr(template, attr))
        sources = _import_kernel_module("henderson.aot").KERNEL_SOURCES
        ext.depends += [str(ROOT / "henderson" / name) for name in sources]  # relinked when one changed
        objects, _ = cc._compile_object_files(str(temp))  # what pycc's own build_ext does
    ext.extra_objects = objects
