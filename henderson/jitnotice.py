"""A one-line notice when numba compiles henderson's kernels, which happens on their first use after
installation (or after the package changed) and takes tens of seconds with nothing else on screen.

numba fires its "numba:compile" event only when a function is compiled, not when it is loaded from
the on-disk cache, so the notice appears exactly when compilation happens: once per process, as a
WARNING of the ``henderson`` logger (printed on stderr by Python's default handler; the command
line prints it as "henderson: ...").

Kernel modules take ``njit`` from here, so that the notice is registered before any of them compiles
(``import henderson`` itself imports no numba), and so that a kernel still works where numba finds no
writable cache folder (read-only site-packages, no writable home, NUMBA_CACHE_DIR unset): numba then
refuses ``cache=True`` at import; the kernel is compiled in memory instead, with one warning.
Kernels compiled at install time (henderson.aot) are used where present, so that the notice and the
compilation only concern kernels without them.
"""
from __future__ import annotations

import logging

import numba
from numba.core import event

from . import aot

log = logging.getLogger("henderson")
NO_CACHE = ("numba finds no writable folder to cache henderson's kernels: they are compiled in every "
            "process; set NUMBA_CACHE_DIR to a writable folder to keep them")
MESSAGE = ("compiling henderson's numba kernels on first use: this takes 5-20 s once after installation; "
           "they are cached on disk afterwards")


class FirstCompileNotice(event.Listener):
    """Logs MESSAGE at the start of the first compilation of a function defined in package ``prefix``."""

    def __init__(self, prefix: str = "henderson"):
        self.prefix = prefix
        self.announced = False
        self.uncached = False  # a kernel could not be cached (njit below)

    def on_start(self, ev) -> None:
        func = getattr(ev.data.get("dispatcher"), "py_func", None)
        module = str(getattr(func, "__module__", ""))
        if not self.announced and (module == self.prefix or module.startswith(self.prefix + ".")):
            self.announced = True
            log.warning(MESSAGE)

    def on_end(self, ev) -> None:
        pass


NOTICE = FirstCompileNotice()
event.register("numba:compile", NOTICE)


def njit(**options):
    """numba.njit(**options) as a decorator, with the kernel's install-time compiled versions if any
    (aot.attach); with cache=True and no cache folder, not cached (one warning)."""
    def decorate(func):
        return aot.attach(_dispatcher(func, options))
    return decorate


def _dispatcher(func, options):
    """numba.njit(**options)(func); uncached if numba has no cache folder for it."""
    try:
        return numba.njit(**options)(func)
    except RuntimeError as exc:
        if not options.get("cache") or "no locator available" not in str(exc):
            raise
        if not NOTICE.uncached:
            NOTICE.uncached = True
            log.warning(NO_CACHE)
        return numba.njit(**{**options, "cache": False})(func)
