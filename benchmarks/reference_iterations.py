"""Iterations of AI-REML and EM-REML on the lme4 reference fits, and the distance to lme4's criterion.

    python -m benchmarks.reference_iterations

For each model of tests/reference/fits.json (REML and ML), the iterations henderson needs with
algorithm="ai" and "em" from its default start values, whether it converged, and its deviance
(REML criterion / ML deviance) minus lme4's; last line: the AI iterations in all.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd

import henderson as hd

TESTS = Path(__file__).resolve().parents[1] / "tests"
FACTORS = {"sleepstudy": ["Subject"], "Penicillin": ["plate", "sample"], "Pastes": ["batch", "cask", "sample"],
           "Dyestuff": ["Batch"], "Dyestuff2": ["Batch"], "oats": ["B", "V", "N"],
           "cake": ["replicate", "recipe", "temperature"]}


def main() -> None:
    fits = json.loads((TESTS / "reference" / "fits.json").read_text())["models"]
    total = 0
    for name, ref in fits.items():
        data = pd.read_csv(TESTS / "data" / f"{ref['data']}.csv", dtype={f: str for f in FACTORS.get(ref["data"], [])})
        m = hd.Model(ref["formula"], data)
        for method in ("REML", "ML"):
            target = ref[method]["REMLcrit"] if method == "REML" else ref[method]["minus2logLik"]
            cells = []
            for algorithm in ("ai", "em"):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    r = m.fit(method=method, algorithm=algorithm)
                cells.append(f"{algorithm} {r.n_iter:4d} iterations, converged {r.converged}, "
                             f"deviance - lme4 {r.deviance - target:+.1e}")
                total += r.n_iter if algorithm == "ai" else 0
            print(f"{name:18s} {method:4s}  " + "; ".join(cells))
    print(f"AI iterations in all: {total}")


if __name__ == "__main__":
    main()
