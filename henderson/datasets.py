"""Example data sets bundled with henderson, read with their factor columns as text (as R reads them).

    import henderson as hd
    sleep = hd.datasets.load("sleepstudy")
    ped = hd.read_pedigree(hd.datasets.path("pedCows"))

Reading a CSV with plain ``pd.read_csv`` turns coded factors such as InstEval's ``service``
and ``dept`` into integers, which a formula then treats as numeric covariates (a different model
from lme4's); :func:`load` reads the columns listed in ``FACTORS`` as strings.

Sources (data of R packages, distributed under the GPL; the columns and factor labels are as in R):
sleepstudy, Penicillin, Pastes, Dyestuff, Dyestuff2, cake, InstEval from lme4; oats from MASS;
milk and pedCows from pedigreemm.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

FILES = {
    "sleepstudy": "sleepstudy.csv", "Penicillin": "Penicillin.csv", "Pastes": "Pastes.csv",
    "Dyestuff": "Dyestuff.csv", "Dyestuff2": "Dyestuff2.csv", "cake": "cake.csv", "oats": "oats.csv",
    "InstEval": "InstEval.csv.gz", "milk": "milk.csv", "pedCows": "pedCows.csv",
}
FACTORS = {
    "sleepstudy": ["Subject"], "Penicillin": ["plate", "sample"], "Pastes": ["batch", "cask", "sample"],
    "Dyestuff": ["Batch"], "Dyestuff2": ["Batch"], "cake": ["replicate", "recipe", "temperature"],
    "oats": ["B", "V", "N"], "InstEval": ["s", "d", "studage", "lectage", "service", "dept"],
    "milk": ["id", "herd", "sire"], "pedCows": ["id", "sire", "dam"],
}


def names() -> list[str]:
    """Names of the bundled data sets."""
    return list(FILES)


def path(name: str) -> Path:
    """Path of the bundled file of data set ``name``."""
    if name not in FILES:
        raise KeyError(f"no bundled data set {name!r}; available: {', '.join(FILES)}")
    return Path(str(resources.files("henderson") / "data" / FILES[name]))


def load(name: str) -> pd.DataFrame:
    """Data set ``name`` as a DataFrame, its factor columns (``FACTORS[name]``) as strings."""
    return pd.read_csv(path(name), dtype={c: str for c in FACTORS[name]})
