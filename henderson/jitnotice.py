"""A one-line notice when numba compiles henderson's kernels, which happens on their first use after
installation (or after the package changed) and takes tens of seconds with nothing else on screen.

numba fires its "numba:compile" event only when a function is compiled, not when it is loaded from
the on-disk cache, so the notice appears exactly when compilation happens: once per process, as a
WARNING of the ``henderson`` logger (printed on stderr by Python's default handler; the command
line prints it as "henderson: ...").

Kernel modules take ``njit`` from here, so that the notice is registered before any of them compiles
(``import henderson`` itself imports no numba).
"""
from __future__ import annotations

import logging

from numba import njit  # noqa: F401  (re-exported for the kernel modules)
from numba.core import event

log = logging.getLogger("henderson")
MESSAGE = ("compiling henderson's numba kernels on first use: this takes 10-30 s once after installation; "
           "they are cached on disk afterwards")


class FirstCompileNotice(event.Listener):
    """Logs MESSAGE at the start of the first compilation of a function defined in package ``prefix``."""

    def __init__(self, prefix: str = "henderson"):
        self.prefix = prefix
        self.announced = False

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
