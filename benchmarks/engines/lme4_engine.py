"""lme4 through Rscript benchmarks/r/lme4_fit.R (its own read and fit timing and peak memory)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

NAME = "lme4"
SCRIPT = Path(__file__).resolve().parents[1] / "r" / "lme4_fit.R"


def unavailable():
    if shutil.which("Rscript") is None:
        return "Rscript not on PATH"
    ok = subprocess.run(["Rscript", "-e", "library(lme4)"], capture_output=True)
    return None if ok.returncode == 0 else "R package lme4 not installed"


def unsupported(problem):
    return None if problem.lme4_formula else (problem.note or "lme4 cannot fit this model")


def _env() -> dict:
    """A clean environment for R, keeping this run's OPENBLAS_NUM_THREADS (so that both engines use
    the same number of BLAS threads)."""
    env = {"LC_ALL": "C", "PATH": "/usr/bin:/bin:/usr/local/bin"}
    if "OPENBLAS_NUM_THREADS" in os.environ:
        env["OPENBLAS_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"]
    return env


def run_outside(problem, folder: Path, timeout: float) -> dict:
    """Run the R script (a separate process already); its JSON line as a dict."""
    factors = ",".join(problem.factors) or "-"
    p = subprocess.run(["Rscript", "--vanilla", str(SCRIPT), str(folder / "data.csv"), problem.lme4_formula,
                        "REML", factors], capture_output=True, text=True, timeout=timeout,
                       env=_env())
    if p.returncode != 0:
        raise RuntimeError(p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"exit {p.returncode}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    return {"read_seconds": out["read_seconds"], "fit_seconds": out["seconds"], "seconds": out["seconds"],
            "n_iter": out["n_iter"], "deviance": out["deviance"], "peak_rss_mb": out["peak_rss_mb"],
            "nobs": out["nobs"], "version": out["lme4_version"]}
