"""The henderson side of bench_firstfit: one first fit of InstEval in this new process, by phase.

    python -m benchmarks.firstfit_child FORMULA STARTED   (STARTED: the parent's time.time() at launch)

Only the standard library is imported before the timers start; prints one JSON line of phases.
"""
import json
import sys
import time


def _timed(module, name: str, out: dict, key: str) -> None:
    """Replace module.name by a wrapper adding its elapsed seconds to out[key] (when the name exists)."""
    f = getattr(module, name, None)
    if f is None:
        return

    def wrapper(*a, **k):
        t0 = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            out[key] = out.get(key, 0.0) + time.perf_counter() - t0
    setattr(module, name, wrapper)


def child(formula: str, started: float) -> None:
    """One first fit in this (new) process; prints its phases as one JSON line."""
    out = {"python": time.time() - started}
    t0 = time.perf_counter()
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    t1 = time.perf_counter()
    import henderson as hd
    t2 = time.perf_counter()
    df = hd.datasets.load("InstEval")
    t3 = time.perf_counter()
    import henderson.model as hm
    _timed(hm, "build_design", out, "design")
    _timed(hm, "build_pattern", out, "pattern")
    _timed(hm, "from_trace", out, "result")
    m = hd.Model(formula, df)
    t4 = time.perf_counter()
    m.objective("REML")
    t5 = time.perf_counter()
    r = m.fit()
    t6 = time.perf_counter()
    out.update(numpy_pandas=t1 - t0, read=t3 - t2, analyze=t5 - t4, fit=t6 - t5 - out.get("result", 0.0),
               model_other=t4 - t3 - out.get("design", 0.0) - out.get("pattern", 0.0))
    out["import"] = t2 - t1
    out.update(deviance=float(r.deviance), n_iter=int(r.n_iter))
    print(json.dumps(out))


if __name__ == "__main__":
    child(sys.argv[1], float(sys.argv[2]))
