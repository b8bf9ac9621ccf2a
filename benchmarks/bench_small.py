"""Small models, henderson vs lme4 side by side: median fit time in a warm process.

    python -m benchmarks.bench_small [--designs 40] [--repeat 5] [--rounds 3] [--seed 20261201] [--profile]

Cases: sleepstudy, Penicillin, Pastes, Dyestuff, cake, oats (the models of tests/reference) and
--designs seeded random small designs (benchmarks/problems/small.py). Both tools get the same data
in memory (read before timing) and run in one warm process each; every call is made once untimed
first (numba's cached kernels load, R's packages and methods dispatch warm), then timed --repeat
times. --rounds alternate the tools (henderson, then a new R process, and again), so that both
meet the same load on a shared machine; the figure per case is the median of its per-round
medians. What is timed:

    henderson       hd.fit(formula, data) and reading r.fixed_effects and r.random_effects: design,
                    MME pattern, analysis, REML iterations and the result (fixed effects with SEs
                    and Satterthwaite df, which are computed when first read, variance components
                    with SEs, BLUPs with PEVs)
    lmer            lme4::lmer(formula, data) with lme4's default control
    lme4_summary    lmer + summary(m) + ranef(m, condVar = TRUE)
    lmerTest        lmerTest::lmer + summary(m) (Satterthwaite df) + ranef(m, condVar = TRUE)

`--profile` also runs cProfile over one henderson pass of all cases and prints where the time goes.
Output: benchmarks/results/small.csv and small.md.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .engines import lme4_engine
from .problems.small import classic_cases, random_designs

RESULTS = Path(__file__).resolve().parent / "results"
R_SCRIPT = Path(__file__).resolve().parent / "r" / "small_fits.R"
LME4 = ("lmer", "lme4_summary", "lmerTest")


def write_cases(cases, folder: Path) -> Path:
    """One CSV per case and index.csv (name, file, formula, factors) for the R script."""
    rows = []
    for c in cases:
        c.data.to_csv(folder / f"{c.name}.csv", index=False)
        rows.append({"name": c.name, "file": f"{c.name}.csv", "formula": c.formula, "factors": ",".join(c.factors)})
    pd.DataFrame(rows).to_csv(folder / "index.csv", index=False)
    return folder / "index.csv"


def _fit_and_read(hd, c):
    """hd.fit and the tables lme4_summary / lmerTest compute too (Satterthwaite df are computed on first read)."""
    r = hd.fit(c.formula, c.data)
    _ = r.fixed_effects, r.random_effects
    return r


def time_henderson(cases, repeat: int) -> pd.DataFrame:
    """Median seconds of hd.fit + its tables per case (after one untimed call), with deviance and iterations."""
    import henderson as hd
    rows = []
    for c in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = _fit_and_read(hd, c)
            t = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                _fit_and_read(hd, c)
                t.append(time.perf_counter() - t0)
        rows.append({"name": c.name, "henderson": float(np.median(t)), "deviance": float(r.deviance),
                     "n_iter": int(r.n_iter)})
    return pd.DataFrame(rows)


def time_lme4(index: Path, repeat: int, timeout: float) -> pd.DataFrame:
    """The R script's table (one warm R process), or an empty frame when R/lme4 is unavailable."""
    reason = lme4_engine.unavailable()
    if reason:
        print(f"lme4 skipped: {reason}")
        return pd.DataFrame({"name": []})
    out = index.parent / "lme4.csv"
    p = subprocess.run(["Rscript", "--vanilla", str(R_SCRIPT), str(index), str(repeat), str(out)],
                       capture_output=True, text=True, timeout=timeout, env=lme4_engine._env())
    if p.returncode != 0:
        raise RuntimeError(p.stderr.strip()[-2000:])
    return pd.read_csv(out)


def profile_henderson(cases, top: int = 35) -> None:
    """cProfile one pass of hd.fit over all cases; print functions by cumulative and own time."""
    import henderson as hd
    pr = cProfile.Profile()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pr.enable()
        for c in cases:
            _fit_and_read(hd, c)
        pr.disable()
    st = pstats.Stats(pr)
    st.sort_stats("cumulative").print_stats("henderson", top)
    st.sort_stats("tottime").print_stats(top)


def median_rounds(rounds: list[pd.DataFrame], cols: list[str]) -> pd.DataFrame:
    """The first round's table with ``cols`` replaced by the median over the rounds, case by case."""
    out = rounds[0].set_index("name").copy()
    for c in cols:
        out[c] = pd.concat([r.set_index("name")[c] for r in rounds], axis=1).median(axis=1)
    return out.reset_index()


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Per group (each classic data set, then each random kind and all random designs): case count
    and median seconds of each tool."""
    cols = ["henderson"] + [c for c in LME4 if c in table]
    rows = []
    for name, g in [(r.name, table[table.name == r.name]) for r in table[table.kind == "classic"].itertuples()] + \
            [(f"random: {k}", g) for k, g in table[table.kind != "classic"].groupby("kind")] + \
            [("random: all", table[table.kind != "classic"]), ("all cases", table)]:
        if len(g):
            rows.append({"group": name, "cases": len(g), **{c: g[c].median() for c in cols}})
    return pd.DataFrame(rows)


def markdown(table, summary, args, started, seconds) -> str:
    ms = lambda x: "" if pd.isna(x) else f"{1000 * x:.1f}"  # noqa: E731
    has_r = "lme4_summary" in table
    lines = [
        "# henderson vs lme4: small models, warm process", "",
        f"Run {started} on {platform.node() or 'host'} ({platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}"
        + (f", lme4 {table.lme4_version.iloc[0]}, lmerTest {table.lmerTest_version.iloc[0]}" if has_r else "")
        + f"); took {seconds:.0f} s. Reproduce: `python -m benchmarks.bench_small --designs {args.designs} "
        f"--repeat {args.repeat} --rounds {args.rounds} --seed {args.seed}`.", "",
        "Milliseconds, median over cases of each case's time: the median over rounds (alternating the tools) "
        "of the median over repeats (one untimed call first, data in memory). henderson = "
        "`hd.fit(formula, data)` and reading `fixed_effects`, `random_effects` (design, fit and the result: "
        "SEs, Satterthwaite df, "
        "BLUPs with PEVs); lmer = `lme4::lmer()` alone (default control); lme4_summary = lmer + `summary()` + "
        "`ranef(condVar = TRUE)`; lmerTest = `lmerTest::lmer()` + `summary()` (Satterthwaite) + "
        "`ranef(condVar = TRUE)`.", "",
        "| group | cases | henderson ms | lmer ms | lme4_summary ms | lmerTest ms | lme4_summary / henderson |",
        "|---|---:|---:|---:|---:|---:|---:|"]
    for r in summary.itertuples():
        ratio = getattr(r, "lme4_summary", float("nan")) / r.henderson
        lines.append(f"| {r.group} | {r.cases} | {ms(r.henderson)} | {ms(getattr(r, 'lmer', np.nan))} | "
                     f"{ms(getattr(r, 'lme4_summary', np.nan))} | {ms(getattr(r, 'lmerTest', np.nan))} | "
                     + ("" if pd.isna(ratio) else f"{ratio:.2f}") + " |")
    if has_r:
        rand = table[table.kind != "classic"]
        faster = int((rand.henderson <= rand.lme4_summary).sum())
        dd = (table.deviance - table.REMLcrit)
        lines += ["", f"Random designs where henderson's median is at or below lme4_summary's: {faster} of "
                  f"{len(rand)}. REML criterion, henderson - lme4 (default control): median {dd.median():.2g}, "
                  f"min {dd.min():.2g}, max {dd.max():.2g} (negative: henderson's optimum is higher in "
                  "likelihood)."]
    lines += ["", "Per case:", "", "| case | formula | n | henderson ms | iterations | lmer ms | lme4_summary ms | "
              "lmerTest ms |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in table.itertuples():
        formula = r.formula.replace("|", "\\|")
        lines.append(f"| {r.name} | `{formula}` | {r.n} | {ms(r.henderson)} | {r.n_iter} | "
                     f"{ms(getattr(r, 'lmer', np.nan))} | {ms(getattr(r, 'lme4_summary', np.nan))} | "
                     f"{ms(getattr(r, 'lmerTest', np.nan))} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--designs", type=int, default=40, help="random small designs besides the classic six")
    ap.add_argument("--repeat", type=int, default=5, help="timed calls per case, tool and round")
    ap.add_argument("--rounds", type=int, default=3, help="rounds alternating henderson and lme4")
    ap.add_argument("--seed", type=int, default=20261201)
    ap.add_argument("--no-lme4", action="store_true")
    ap.add_argument("--profile", action="store_true", help="also cProfile one henderson pass")
    ap.add_argument("--timeout", type=float, default=3600.0)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    started, t0 = time.strftime("%Y-%m-%d %H:%M"), time.perf_counter()
    cases = classic_cases() + random_designs(args.designs, args.seed)
    meta = pd.DataFrame([{"name": c.name, "kind": c.kind, "formula": c.formula, "n": len(c.data)} for c in cases])
    hends, lme4s = [], []
    with tempfile.TemporaryDirectory(prefix="henderson-small-") as work:
        index = write_cases(cases, Path(work))
        for k in range(args.rounds):
            hends.append(time_henderson(cases, args.repeat))
            print(f"round {k + 1}: henderson median {1000 * hends[-1].henderson.median():.1f} ms", flush=True)
            if not args.no_lme4:
                lme4s.append(time_lme4(index, args.repeat, args.timeout))
            if len(lme4s) and len(lme4s[-1]):
                print(f"round {k + 1}: lme4 median lmer {1000 * lme4s[-1].lmer.median():.1f} ms, lmer + summary + "
                      f"ranef {1000 * lme4s[-1].lme4_summary.median():.1f} ms", flush=True)
    hend = median_rounds(hends, ["henderson"])
    lme4 = median_rounds(lme4s, list(LME4)) if lme4s and len(lme4s[0]) else pd.DataFrame({"name": []})
    table = meta.merge(hend, on="name").merge(lme4, on="name", how="left")
    summary = summarize(table)
    print(summary.to_string(index=False))
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "small.csv", index=False)
    (args.out / "small.md").write_text(markdown(table, summary, args, started, time.perf_counter() - t0))
    print(f"written: {args.out / 'small.csv'}, {args.out / 'small.md'}")
    if args.profile:
        profile_henderson(cases)
    return 0


if __name__ == "__main__":
    sys.exit(main())
