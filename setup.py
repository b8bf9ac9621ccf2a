"""Everything but the extension henderson._kernels is declared in pyproject.toml.

henderson._kernels holds numba kernels compiled ahead of time (henderson/aot.py), so that the first
fit after installing does not wait for numba's compiler. Where they cannot be compiled, the package
installs without them and numba compiles its kernels on first use, as before.
"""
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


class BuildKernels(build_ext):
    """build_ext that compiles henderson's kernels with numba.pycc first (henderson/aot_build.py)."""

    def build_extension(self, ext):
        try:
            sys.path.insert(0, str(ROOT))
            from henderson.aot_build import configure

            configure(ext, self.build_temp)
            super().build_extension(ext)
        except Exception as exc:  # any failure leaves the JIT fallback, never a failed install
            print(f"warning: henderson's kernels were not compiled ahead of time ({exc!r}); "
                  "numba compiles them on first use", file=sys.stderr)


# optional: a failed compilation (caught in BuildKernels, or of the C helpers) leaves an install without it
setup(ext_modules=[Extension("henderson._kernels", sources=[], optional=True)], cmdclass={"build_ext": BuildKernels})
