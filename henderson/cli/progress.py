"""Terminal progress: one line per REML iteration; a bar counting batch jobs done, running and failed."""
from __future__ import annotations

import sys
import time


def iteration_line(row: dict, verbose: bool = False) -> str:
    """'iter   3  AI       loglik  -4191.900361  change 5.41e+00  0.16 s' (+ theta when verbose)."""
    line = (f"iter {row['iteration']:3d}  {str(row['step']):<8s} loglik {float(row['loglik']):14.6f}  "
            f"change {float(row['change']):9.3g}  {float(row['seconds']):7.2f} s")
    if verbose:
        thetas = [f"{float(v):.6g}" for k, v in row.items() if str(k).startswith("theta")]
        line += "  theta " + " ".join(thetas)
    return line


class IterationPrinter:
    """Callback for Model.fit that prints iteration_line to ``stream``."""

    def __init__(self, stream=None, verbose=False, prefix=""):
        self.stream = stream or sys.stderr
        self.verbose = verbose
        self.prefix = prefix

    def __call__(self, row: dict) -> None:
        print(self.prefix + iteration_line(row, self.verbose), file=self.stream, flush=True)


class JobBar:
    """'[#######.......]  7/20 jobs  done 5  running 2  failed 1  skipped 1  12.3 s' on one line.

    On a terminal the line is redrawn in place; otherwise a new line is printed when the counts change.
    """

    def __init__(self, total: int, stream=None, enabled: bool = True, width: int = 24):
        self.total, self.width, self.enabled = total, width, enabled
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.t0 = time.perf_counter()
        self.last = None

    def text(self, done: int, running: int, failed: int, skipped: int) -> str:
        finished = done + failed + skipped
        fill = int(self.width * finished / max(self.total, 1))
        return (f"[{'#' * fill}{'.' * (self.width - fill)}] {finished:>{len(str(self.total))}}/{self.total} jobs  "
                f"done {done}  running {running}  failed {failed}  skipped {skipped}  "
                f"{time.perf_counter() - self.t0:.1f} s")

    def update(self, done: int, running: int, failed: int, skipped: int) -> None:
        if not self.enabled:
            return
        key = (done, running, failed, skipped)
        if key == self.last:
            return
        self.last = key
        text = self.text(*key)
        if self.tty:
            print("\r" + text, end="", file=self.stream, flush=True)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self.enabled and self.tty:
            print(file=self.stream, flush=True)
