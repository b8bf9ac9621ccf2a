"""Animal models: pedigreemm's milk example and simulated dairy populations of 10k, 100k and 1M animals."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import Problem

DATA = Path(__file__).resolve().parents[2] / "henderson" / "data"
NO_PED = "lme4/statsmodels: no pedigree (A^-1) random effects"


def _milk():
    d = pd.read_csv(DATA / "milk.csv", dtype={"id": str, "herd": str})
    d["milk"] = d["milk"] / d["milk"].std()
    return d, pd.read_csv(DATA / "pedCows.csv", dtype=str)


def _sim(n):
    def build():
        from henderson.simulate import simulate
        data, ped, _ = simulate(n, n_generations=10, h2=0.3, seed=20240601)
        return data, ped[["id", "sire", "dam"]]
    return build


def animal_problems() -> list[Problem]:
    out = [Problem("milk", ("quick", "full"), "milk ~ lact + np.log(dim) + (1|id) + (1|herd)", _milk,
                   factors=("herd",), pedigree_term="id", note=NO_PED)]
    for n, label, suites in ((10_000, "10k", ("quick", "full")), (100_000, "100k", ("full",)),
                             (1_000_000, "1M", ("full",))):
        out.append(Problem(f"animal_{label}", suites, "y ~ 1 + (1|hy) + (1|id)", _sim(n), factors=("hy",),
                           pedigree_term="id", note=NO_PED))
    return out
