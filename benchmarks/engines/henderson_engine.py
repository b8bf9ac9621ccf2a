"""henderson: read, pedigree, model build (design, A^-1, MME pattern), symbolic analysis, REML iterations."""
from __future__ import annotations

import time
import warnings
from pathlib import Path

NAME = "henderson"


def unavailable():
    return None


def unsupported(problem):
    return None


def warm_up() -> None:
    """Fit two tiny models first so numba's cached kernels are loaded before timing (lme4's R code
    is likewise loaded before its timer starts)."""
    import pandas as pd

    import henderson as hd
    data = Path(__file__).resolve().parents[2] / "tests" / "data"
    hd.fit("Reaction ~ Days + (Days|Subject)", pd.read_csv(data / "sleepstudy.csv", dtype={"Subject": str}))
    d = pd.read_csv(data / "mrode_3_1_data.csv", dtype={"calf": str})
    ped = hd.read_pedigree(data / "mrode_3_1_pedigree.csv", id="calf")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hd.fit("wwg ~ sex + (1|calf)", d, relationships={"calf": ped})


def run(problem, folder: Path) -> dict:
    import henderson as hd
    from henderson.io import prepare_data, read_table
    warm_up()
    t = [time.perf_counter()]
    text = list(problem.factors) + ([problem.pedigree_term] if problem.pedigree_term else [])
    d = prepare_data(read_table(folder / "data.csv", columns_as_text=text), factors=problem.factors)
    t.append(time.perf_counter())
    rel = None
    if problem.pedigree_term:
        ped = hd.read_pedigree(folder / "pedigree.csv")
        _ = ped.dii
        rel = {problem.pedigree_term: ped}
    t.append(time.perf_counter())
    m = hd.Model(problem.formula, d, relationships=rel)
    t.append(time.perf_counter())
    m.objective("REML")
    t.append(time.perf_counter())
    r = m.fit(method="REML")
    t.append(time.perf_counter())
    names = ["read", "pedigree", "build", "analyze", "fit"]
    phases = {f"{n}_seconds": b - a for n, a, b in zip(names, t, t[1:])}
    return {**phases, "seconds": t[-1] - t[1], "n_iter": int(r.n_iter), "deviance": float(r.deviance),
            "converged": bool(r.converged), "nobs": int(r.nobs)}
