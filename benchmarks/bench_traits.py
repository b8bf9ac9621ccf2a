"""20 traits on one animal-model design: 20 separate fits vs one shared symbolic analysis (+ warm start).

    python -m benchmarks.bench_traits [--animals 100000] [--traits 20] [--seed 1]

Data: hd.simulate(animals) (records y = mean + hy + a + e of cows on a dairy-like pedigree), and traits
y_k = c_k y + e_k with c_k in [0.5, 1.5] and e_k ~ N(0, s_k^2), s_k in [0.5, 1.5]: correlated traits on
the same records and pedigree (no missing values, so every trait shares the analysis).
Model y_k ~ 1 + (1|hy) + (1|id), A from the pedigree, REML by AI. Three runs over the traits:

    separate  hd.Model per trait (pedigree, design, pattern), its own symbolic analysis, fit
    shared    trait 1's Model, then Model.with_response per trait: one analysis, numeric refactors only
    warm      shared, each trait starting from the previous trait's estimates, AI steps only
              (as fit_traits warm_start)

Phases (seconds, summed over traits): model (pedigree A^-1, design, MME pattern), analysis (the
symbolic analysis, Model.objective()), fit (the AI iterations and the result), and the AI iterations.
Output: benchmarks/results/traits.md and traits.json.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import henderson as hd

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
RHS = "1 + (1|hy) + (1|id)"


def simulate_traits(animals: int, traits: int, seed: int):
    """The simulated records with ``traits`` correlated traits t0..t{traits-1}, and the pedigree."""
    data, ped, _ = hd.simulate(animals, record_fraction=1.0, seed=seed)
    rng = np.random.default_rng(seed + 1)
    for k in range(traits):
        data[f"t{k}"] = rng.uniform(0.5, 1.5) * data["y"] + rng.uniform(0.5, 1.5) * rng.normal(size=len(data))
    return data, hd.Pedigree.from_frame(ped)


def run(data, ped, traits: list[str], mode: str) -> dict:
    """Fit every trait in ``mode`` (separate, shared, warm); per-phase seconds and the fits' summaries."""
    times = {"model": 0.0, "analysis": 0.0, "fit": 0.0}
    out, base, previous = [], None, None
    for trait in traits:
        t0 = time.perf_counter()
        if mode == "separate" or base is None:
            m = hd.Model(f"{trait} ~ {RHS}", data, relationships={"id": ped})
            base = m
        else:
            m = base.with_response(trait)
        t1 = time.perf_counter()
        m.objective()
        t2 = time.perf_counter()
        start = previous.theta if mode == "warm" and previous is not None and previous.converged else None
        r = previous = m.fit(start=start, em_start=0 if start is not None else None)
        t3 = time.perf_counter()
        times["model"] += t1 - t0
        times["analysis"] += t2 - t1
        times["fit"] += t3 - t2
        out.append({"trait": trait, "loglik": r.loglik, "theta": [float(x) for x in r.theta],
                    "n_iter": int(r.n_iter), "converged": bool(r.converged), "shared": m.shares_analysis})
    times["total"] = sum(times.values())
    return {"times": times, "fits": out, "iterations": sum(f["n_iter"] for f in out)}


def report(args, n_records: int, runs: dict) -> str:
    sep = runs["separate"]["times"]["total"]
    lines = [f"# {args.traits} traits, one animal-model design ({args.animals:,} animals, {n_records:,} records)",
             "", f"Model: t_k ~ {RHS}, REML by AI. Seconds summed over the traits.", "",
             "| run | model | analysis | fit | AI iterations | total | saving vs separate |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for mode, r in runs.items():
        t = r["times"]
        lines.append(f"| {mode} | {t['model']:.2f} | {t['analysis']:.2f} | {t['fit']:.2f} | {r['iterations']} | "
                     f"{t['total']:.2f} | {100 * (1 - t['total'] / sep):.0f}% |")
    dl = max(abs(a["loglik"] - b["loglik"]) for a, b in zip(runs["separate"]["fits"], runs["shared"]["fits"]))
    dw = max(abs(a["loglik"] - b["loglik"]) for a, b in zip(runs["separate"]["fits"], runs["warm"]["fits"]))
    lines += ["", f"max |loglik separate - shared| = {dl:.2e}; separate - warm = {dw:.2e}"]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--animals", type=int, default=100_000)
    ap.add_argument("--traits", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    data, ped = simulate_traits(args.animals, args.traits, args.seed)
    traits = [f"t{k}" for k in range(args.traits)]
    hd.Model(f"t0 ~ {RHS}", data.iloc[:2000], relationships={"id": ped}).fit()   # numba kernels loaded, untimed
    runs = {mode: run(data, ped, traits, mode) for mode in ("separate", "shared", "warm")}
    text = report(args, len(data), runs)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "traits.md").write_text(text)
    (RESULTS / "traits.json").write_text(json.dumps({"animals": args.animals, "traits": args.traits,
                                                      "seed": args.seed, "runs": runs}, indent=1))
    print(text)


if __name__ == "__main__":
    main()
