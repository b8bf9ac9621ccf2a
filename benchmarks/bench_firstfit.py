"""InstEval's first fit in a new process, henderson vs lme4 side by side, by phase.

    python -m benchmarks.bench_firstfit [--runs 3]

Model y ~ service*dept + (1|s) + (1|d) (73,421 records, 2,972 students, 1,128 lecturers). One
untimed henderson process first (numba's kernels compiled and cached once, as after installing);
then --runs times, alternating, a new Python process and a new R process (so both meet the same
load). Phases (elapsed seconds):

    henderson  python: interpreter start to the first line (measured from outside); numpy+pandas:
               their import; import: `import henderson`; read: the bundled CSV; design:
               build_design; pattern: build_pattern (MME pattern); analyze: symbolic analysis and
               block elimination set-up (loads numba kernels from the cache); fit: REML iterations;
               result: the result (SEs, Satterthwaite df, BLUPs with PEVs)
    lme4       R: Rscript start to the first line; library: library(lme4); read: read.csv;
               fit: lmer(); result: summary(m) + ranef(m, condVar = TRUE)

first fit = import .. result for henderson (its imports counted) and library .. result for lme4,
reading the data excluded on both sides; fit only = design .. result and fit + result.
Output: benchmarks/results/firstfit.md and firstfit.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .engines import lme4_engine

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
R_SCRIPT = ROOT / "benchmarks" / "r" / "firstfit.R"
FORMULA = "y ~ service*dept + (1|s) + (1|d)"
FACTORS = ("s", "d", "service", "dept")
H_PHASES = ("python", "numpy_pandas", "import", "read", "design", "pattern", "analyze", "fit", "result")
R_PHASES = ("R", "library", "read", "fit", "result")


def run_henderson(env) -> dict:
    p = subprocess.run([sys.executable, "-m", "benchmarks.firstfit_child", FORMULA, repr(time.time())],
                       capture_output=True, text=True, cwd=ROOT, env=env)
    if p.returncode != 0:
        raise RuntimeError(p.stderr.strip()[-2000:])
    return json.loads(p.stdout.strip().splitlines()[-1])


def run_lme4() -> dict:
    import henderson.datasets as ds
    t0 = time.time()
    p = subprocess.run(["Rscript", "--vanilla", str(R_SCRIPT), str(ds.path("InstEval")), FORMULA, ",".join(FACTORS)],
                       capture_output=True, text=True, env=lme4_engine._env())
    wall = time.time() - t0
    if p.returncode != 0:
        raise RuntimeError(p.stderr.strip()[-2000:])
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["R"] = wall - out["in_process"]
    return out


def totals(h: dict | None, r: dict | None) -> dict:
    """The compared sums of one run (see the module docstring)."""
    out = {}
    if h:
        fit_only = sum(h.get(k, 0.0) for k in ("design", "pattern", "model_other", "analyze", "fit", "result"))
        out.update(h_first=h["import"] + fit_only, h_fit_only=fit_only)
    if r:
        out.update(r_first=r["library"] + r["fit"] + r["result"], r_fit_only=r["fit"] + r["result"])
    return out


def markdown(runs, args, started, seconds) -> str:
    med = lambda key, rows: float(np.median([x[key] for x in rows if x and key in x]))  # noqa: E731
    hs = [x["henderson"] for x in runs]
    rs = [x["lme4"] for x in runs if x["lme4"]]
    tots = [totals(x["henderson"], x["lme4"]) for x in runs]
    lines = ["# InstEval first fit in a new process: henderson vs lme4", "",
             f"Run {started} on {platform.node() or 'host'} ({platform.machine()}, {os.cpu_count()} CPUs, Python "
             f"{platform.python_version()}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}"
             + (f", lme4 {rs[0]['lme4_version']}" if rs else "") + f"); took {seconds:.0f} s. Reproduce: "
             f"`python -m benchmarks.bench_firstfit --runs {args.runs}`.", "",
             f"`{FORMULA}` (73,421 records). Medians over {len(runs)} alternating runs of a new process each "
             "(numba kernels compiled once before). Phases in seconds; see benchmarks/bench_firstfit.py.", "",
             "| henderson phase | median s | runs |", "|---|---:|---|"]
    for k in H_PHASES + ("model_other",):
        if any(k in h for h in hs):
            lines.append(f"| {k} | {med(k, hs):.3f} | " + ", ".join(f"{h.get(k, float('nan')):.3f}" for h in hs) + " |")
    if rs:
        lines += ["", "| lme4 phase | median s | runs |", "|---|---:|---|"]
        for k in R_PHASES:
            lines.append(f"| {k} | {med(k, rs):.3f} | " + ", ".join(f"{r[k]:.3f}" for r in rs) + " |")
    lines += ["", "| compared | henderson s | lme4 s | lme4 / henderson |", "|---|---:|---:|---:|"]
    for label, hk, rk in (("first fit (imports counted, read excluded)", "h_first", "r_first"),
                          ("fit only (design/model .. result)", "h_fit_only", "r_fit_only")):
        h = med(hk, tots)
        r = med(rk, tots) if rs else float("nan")
        lines.append(f"| {label} | {h:.3f} | {r:.3f} | {r / h:.1f} |")
    lines += ["", f"REML criterion: henderson {hs[0]['deviance']:.4f} ({hs[0]['n_iter']} iterations)"
              + (f", lme4 {rs[0]['deviance']:.4f} ({rs[0]['feval']} evaluations)" if rs else "") + "."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-lme4", action="store_true")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    started, t0 = time.strftime("%Y-%m-%d %H:%M"), time.perf_counter()
    run_henderson(env)   # compiles / loads numba's cache once, as an installed package has
    use_r = not args.no_lme4 and lme4_engine.unavailable() is None
    runs = []
    for i in range(args.runs):
        h = run_henderson(env)
        r = run_lme4() if use_r else None
        runs.append({"henderson": h, "lme4": r})
        t = totals(h, r)
        print(f"run {i + 1}: henderson first fit {t['h_first']:.3f} s (fit only {t['h_fit_only']:.3f} s)"
              + (f"; lme4 {t['r_first']:.3f} s (fit only {t['r_fit_only']:.3f} s)" if r else ""), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "firstfit.json").write_text(json.dumps(runs, indent=1))
    (args.out / "firstfit.md").write_text(markdown(runs, args, started, time.perf_counter() - t0))
    print((args.out / "firstfit.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
