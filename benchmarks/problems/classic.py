"""lme4's classic data sets: sleepstudy (correlated slopes), Penicillin (crossed), InstEval (large crossed)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import Problem

DATA = Path(__file__).resolve().parents[2] / "tests" / "data"


def _read(name, text_cols=()):
    def build():
        d = pd.read_csv(DATA / name, dtype={c: str for c in text_cols})
        return d, None
    return build


def classic_problems() -> list[Problem]:
    return [
        Problem("sleepstudy", ("quick", "full"), "Reaction ~ Days + (Days|Subject)",
                _read("sleepstudy.csv", ["Subject"]), factors=("Subject",),
                lme4_formula="Reaction ~ Days + (Days|Subject)",
                statsmodels=dict(formula="Reaction ~ Days", groups="Subject", re_formula="~Days")),
        Problem("Penicillin", ("quick", "full"), "diameter ~ 1 + (1|plate) + (1|sample)",
                _read("Penicillin.csv", ["plate", "sample"]), factors=("plate", "sample"),
                lme4_formula="diameter ~ 1 + (1|plate) + (1|sample)",
                statsmodels=dict(formula="diameter ~ 1", groups="one", re_formula="0",
                                 vc_formula={"plate": "0 + C(plate)", "sample": "0 + C(sample)"})),
        Problem("InstEval", ("full",), "y ~ service*dept + (1|s) + (1|d)",
                _read("InstEval.csv.gz", ["s", "d", "service", "dept", "studage", "lectage"]),
                factors=("s", "d", "service", "dept"), lme4_formula="y ~ service*dept + (1|s) + (1|d)",
                note="statsmodels: crossed factors with 2972 and 1128 levels are beyond MixedLM's dense design"),
    ]
