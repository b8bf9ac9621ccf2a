"""Engines: henderson, lme4 (Rscript benchmarks/r/lme4_fit.R), statsmodels MixedLM.

Each engine module has NAME, unavailable() -> reason or None, unsupported(problem) -> reason or None,
and run(problem, folder) -> dict of phase seconds, n_iter, deviance, peak_rss_mb (run in a child
process so peak memory is the engine's own).
"""
from . import henderson_engine, lme4_engine, statsmodels_engine

ENGINES = {m.NAME: m for m in (henderson_engine, lme4_engine, statsmodels_engine)}


def peak_rss_mb() -> float:
    """VmHWM of this process in MB (Linux)."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
