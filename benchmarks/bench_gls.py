"""Structured residuals vs nlme, side by side in one run (issue 10).

    python -m benchmarks.bench_gls [--subjects 500 5000] [--occasions 6] [--models a b] [--nlme-max 2000]

Simulated longitudinal trial (benchmarks/simulate_longitudinal.py), REML:
  (a) gls:  y ~ arm * C(week), corSymm(~ 1 | id) + varIdent(~ 1 | week)      (unstructured)
  (b) lme:  y ~ arm * C(week) + (1|id), corAR1(~ 1 | id) + varIdent(~ 1 | week)
Each fit runs in its own process: henderson (model build + fit, peak RSS from getrusage) and nlme
(benchmarks/r/nlme_gls.R, fit time from R) on the same CSV; nlme only up to --nlme-max subjects.
The 1,000,000-record target: --subjects 250000 --occasions 4 --nlme-max 0.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPECS = {"a": ("y ~ arm * C(week)", "corSymm(~ 1 | id)"),
         "b": ("y ~ arm * C(week) + (1|id)", "corAR1(~ 1 | id)")}


def henderson_child(csv: str, model: str) -> None:
    """Fit one model to ``csv`` and print a JSON line: seconds (build + fit), loglik, iterations, peak RSS (GiB)."""
    import resource
    import time

    import pandas as pd

    import henderson as hd
    d = pd.read_csv(csv, dtype={"id": str, "arm": str})
    formula, corr = SPECS[model]
    Model = hd.Model   # henderson imports its modules lazily: the import is not part of the timed fit
    t0 = time.perf_counter()
    r = Model(formula, d, correlation=corr, variance="varIdent(~ 1 | week)").fit()
    secs = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(json.dumps(dict(seconds=secs, loglik=r.loglik, n_iter=r.n_iter, converged=r.converged, peak_gib=rss)))


def _run(cmd: list[str]) -> dict:
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        return dict(error=out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, nargs="+", default=[500, 2000])
    ap.add_argument("--occasions", type=int, default=6)
    ap.add_argument("--models", nargs="+", default=["a", "b"], choices=["a", "b"])
    ap.add_argument("--nlme-max", type=int, default=2000, help="run nlme up to this many subjects")
    ap.add_argument("--child", nargs=2, metavar=("CSV", "MODEL"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        henderson_child(*args.child)
        return
    from benchmarks.simulate_longitudinal import simulate
    print(f"{'model':5s} {'subjects':>8s} {'records':>9s} {'henderson s':>11s} {'GiB':>5s} {'nlme s':>8s} "
          f"{'speed-up':>8s} {'logLik henderson':>18s} {'logLik nlme':>18s}")
    with tempfile.TemporaryDirectory() as tmp:
        for S in args.subjects:
            csv = str(Path(tmp) / f"long_{S}.csv")
            simulate(S, args.occasions).to_csv(csv, index=False)
            for model in args.models:
                h = _run([sys.executable, "-m", "benchmarks.bench_gls", "--child", csv, model])
                r = _run(["Rscript", str(HERE / "r" / "nlme_gls.R"), csv, model]) if S <= args.nlme_max else {}
                hs, rs = h.get("seconds", float("nan")), r.get("seconds", float("nan"))
                print(f"{model:5s} {S:8d} {S * args.occasions:9d} {hs:11.2f} {h.get('peak_gib', float('nan')):5.2f} "
                      f"{rs:8.2f} {rs / hs:8.1f} {h.get('loglik', float('nan')):18.6f} "
                      f"{r.get('loglik', float('nan')):18.6f}"
                      + (f"  henderson: {h['error']}" if "error" in h else "")
                      + (f"  nlme: {r['error']}" if "error" in r else ""),
                      flush=True)


if __name__ == "__main__":
    main()
