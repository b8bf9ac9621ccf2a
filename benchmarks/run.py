"""Run the benchmark suite: problems x engines side by side; CSV, Markdown report and a PNG.

    python -m benchmarks.run --suite quick            # sleepstudy, Penicillin, milk, animal_10k (~2 min)
    python -m benchmarks.run --suite full             # + InstEval, animal_100k, animal_1M, movielens_1M
    python -m benchmarks.run --problems animal_100k --engines henderson

Each problem's data (and pedigree) is built once and written to a work folder; every engine then
runs in its own process (so its peak memory is its own) and reports per-phase seconds, iterations,
deviance and peak RSS. Ratios compare each engine with henderson on the same problem in the same run.
Output: benchmarks/results/<suite>.csv, <suite>.md and <suite>_time_vs_size.png.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from .engines import ENGINES, peak_rss_mb
from .problems import registry, size_of

RESULTS = Path(__file__).resolve().parent / "results"
PHASES = ["read_seconds", "pedigree_seconds", "build_seconds", "analyze_seconds", "fit_seconds"]


def prepare(problem, folder: Path) -> dict:
    """Build the problem's data once and write data.csv (+ pedigree.csv); sizes for the report."""
    t0 = time.perf_counter()
    data, ped = problem.build()
    folder.mkdir(parents=True, exist_ok=True)
    data.to_csv(folder / "data.csv", index=False)
    if ped is not None:
        ped.to_csv(folder / "pedigree.csv", index=False)
    return {"nobs": len(data), "size": size_of(problem, data, ped), "prepare_seconds": time.perf_counter() - t0}


def child(engine: str, problem: str, folder: str) -> None:
    """Run one engine on one prepared problem in this (child) process; print one JSON line."""
    p = registry()[problem]
    out = ENGINES[engine].run(p, Path(folder))
    out["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(out))


def run_engine(engine, problem, folder: Path, timeout: float) -> dict:
    """One engine on one problem: status ok/skipped/failed with its measurements or the reason."""
    mod = ENGINES[engine]
    reason = mod.unavailable() or mod.unsupported(problem)
    if reason:
        return {"status": "skipped", "note": reason}
    try:
        if hasattr(mod, "run_outside"):
            res = mod.run_outside(problem, folder, timeout)
        else:
            cmd = [sys.executable, "-m", "benchmarks.run", "--child", engine, problem.name, str(folder)]
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                               cwd=Path(__file__).resolve().parents[1])
            if p.returncode != 0:
                raise RuntimeError((p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1])
            res = json.loads(p.stdout.strip().splitlines()[-1])
        return {"status": "ok", **res}
    except subprocess.TimeoutExpired:
        return {"status": "failed", "note": f"timeout after {timeout:.0f} s"}
    except Exception as exc:  # recorded in the report, the suite goes on
        return {"status": "failed", "note": f"{type(exc).__name__}: {exc}"[:200]}


def add_ratios(table: pd.DataFrame) -> pd.DataFrame:
    """seconds / henderson seconds and deviance - henderson deviance, per problem."""
    ref = table[(table.engine == "henderson") & (table.status == "ok")].set_index("problem")
    table["time_ratio"] = [r.seconds / ref.loc[r.problem, "seconds"] if r.problem in ref.index and r.status == "ok"
                           else float("nan") for r in table.itertuples()]
    table["deviance_diff"] = [r.deviance - ref.loc[r.problem, "deviance"] if r.problem in ref.index and
                              r.status == "ok" else float("nan") for r in table.itertuples()]
    return table


def markdown(table: pd.DataFrame, suite: str, started: str, seconds: float) -> str:
    """The report: one row per problem x engine, then notes for skipped or failed runs."""
    def f(x, fmt):
        return "" if pd.isna(x) else format(x, fmt)
    lines = [f"# henderson benchmark: suite `{suite}`", "",
             f"Run {started} on {platform.node() or 'host'} ({platform.machine()}, {os.cpu_count()} CPUs, "
             f"Python {platform.python_version()}); suite took {seconds:.0f} s. "
             "Reproduce: `python -m benchmarks.run --suite " + suite + "` (or `make bench` for quick).", "",
             "Seconds exclude reading the CSV (`read`); `time ratio` = engine seconds / henderson seconds on the "
             "same problem in this run; `dev. diff` = engine REML deviance - henderson's.", "",
             "| problem | nobs | size | engine | read s | pedigree s | build s | analyze s | fit s | seconds | "
             "iterations | peak MB | time ratio | deviance | dev. diff |",
             "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in table[table.status == "ok"].itertuples():
        lines.append("| " + " | ".join([
            r.problem, str(r.nobs), str(r.size), r.engine, f(r.read_seconds, ".2f"),
            f(getattr(r, "pedigree_seconds", float("nan")), ".2f"), f(getattr(r, "build_seconds", float("nan")), ".2f"),
            f(getattr(r, "analyze_seconds", float("nan")), ".2f"), f(r.fit_seconds, ".2f"), f(r.seconds, ".2f"),
            f(r.n_iter, ".0f"), f(r.peak_rss_mb, ".0f"), f(r.time_ratio, ".2f"), f(r.deviance, ".4f"),
            f(r.deviance_diff, ".2g")]) + " |")
    notes = table[table.status != "ok"]
    if len(notes):
        lines += ["", "Not run:", ""] + [f"- {r.problem} / {r.engine}: {r.status} ({r.note})"
                                         for r in notes.itertuples()]
    lines += ["", "size = animals in the pedigree (animal models) or random-effect levels (others). "
              "Phases (henderson): pedigree = read + inbreeding; build = design, A^-1, MME pattern; "
              "analyze = CHOLMOD symbolic analysis; fit = REML iterations and result tables."]
    return "\n".join(lines) + "\n"


def plot(table: pd.DataFrame, path: Path) -> bool:
    """Seconds against size (log-log), one series per engine; False when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    ok = table[table.status == "ok"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for engine, g in ok.groupby("engine"):
        g = g.sort_values("size")
        ax.plot(g["size"], g["seconds"], "o-", label=engine)
        for r in g.itertuples():
            ax.annotate(r.problem, (r.size, r.seconds), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("animals in pedigree / random-effect levels")
    ax.set_ylabel("seconds (model build + REML fit)")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", choices=["quick", "full"], default="quick")
    ap.add_argument("--problems", nargs="*", help="only these problems (any suite)")
    ap.add_argument("--engines", nargs="*", default=list(ENGINES), choices=list(ENGINES))
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per engine run")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--name", help="report file stem (default: the suite, or 'custom' with --problems)")
    ap.add_argument("--child", nargs=3, metavar=("ENGINE", "PROBLEM", "FOLDER"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    probs = registry()
    names = args.problems or [n for n, p in probs.items() if args.suite in p.suites]
    stem = args.name or (args.suite if not args.problems else "custom")
    started, t0 = time.strftime("%Y-%m-%d %H:%M"), time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="henderson-bench-") as work:
        for name in names:
            p = probs[name]
            sizes = prepare(p, Path(work) / name)
            print(f"{name}: {sizes['nobs']} records, size {sizes['size']} (built in {sizes['prepare_seconds']:.1f} s)",
                  flush=True)
            for engine in args.engines:
                res = run_engine(engine, p, Path(work) / name, args.timeout)
                rows.append({"problem": name, "engine": engine, **sizes, **res})
                r = rows[-1]
                print(f"  {engine:<12} {r['status']:<8} " + (f"{r['seconds']:.2f} s, {r.get('n_iter')} iterations, "
                      f"deviance {r['deviance']:.4f}, peak {r['peak_rss_mb']:.0f} MB" if r["status"] == "ok"
                      else r.get("note", "")), flush=True)
    table = pd.DataFrame(rows)
    for c in PHASES + ["seconds", "deviance", "n_iter", "peak_rss_mb", "note"]:
        if c not in table:
            table[c] = float("nan")
    table = add_ratios(table)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / f"{stem}.csv", index=False)
    (args.out / f"{stem}.md").write_text(markdown(table, stem, started, time.perf_counter() - t0))
    png = plot(table, args.out / f"{stem}_time_vs_size.png")
    print(f"written: {args.out / (stem + '.csv')}, {args.out / (stem + '.md')}"
          + (f", {args.out / (stem + '_time_vs_size.png')}" if png else " (no PNG: matplotlib missing)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
