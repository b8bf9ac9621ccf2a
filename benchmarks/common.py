"""Shared helpers for benchmark scripts: phase timer, peak memory, median time of repeated calls."""
from __future__ import annotations

import json
import resource
import statistics
import time
from contextlib import contextmanager


def median_seconds(f, repeat: int) -> float:
    """Median wall seconds of ``repeat`` calls of f()."""
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Phases:
    """Collects (phase, seconds, CPU seconds of the process, peak MiB after the phase) rows and prints them
    as they finish. CPU seconds tell the work done when the machine is shared (wall time then
    counts the waits for a core); they exceed the wall time where BLAS or CHOLMOD run threads."""

    def __init__(self, title: str):
        self.title = title
        self.rows: list[dict] = []
        print(f"# {title}")
        print(f"{'phase':<34} {'seconds':>9} {'cpu s':>9} {'peak MiB':>9}")

    @contextmanager
    def phase(self, name: str):
        t0, c0 = time.perf_counter(), time.process_time()
        yield
        row = {"phase": name, "seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
               "peak_mb": peak_rss_mb()}
        self.rows.append(row)
        print(f"{name:<34} {row['seconds']:9.3f} {row['cpu_seconds']:9.3f} {row['peak_mb']:9.0f}", flush=True)

    def total(self, names=None) -> float:
        return sum(r["seconds"] for r in self.rows if names is None or r["phase"] in names)

    def dump(self, path: str | None, **extra) -> None:
        if path:
            with open(path, "w") as fh:
                json.dump({"title": self.title, "phases": self.rows, **extra}, fh, indent=1)
