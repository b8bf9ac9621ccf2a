"""Fits shared by the inference tests (session scope) and the lmerTest / emmeans / lme4 reference values."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import henderson as hd

REF = Path(__file__).parent.parent / "reference"
DATA = Path(__file__).parent.parent / "data"
FACTORS = {"sleepstudy": ["Subject"], "Penicillin": ["plate", "sample"], "oats": ["B", "V", "N"],
           "Dyestuff": ["Batch"]}

MODELS = {
    "sleepstudy": ("sleepstudy", "Reaction ~ Days + (Days|Subject)"),
    "Penicillin_half": ("Penicillin", "diameter ~ half + (1|plate) + (1|sample)"),
    "oats": ("oats", "Y ~ V*N + (1|B/V)"),
    "Dyestuff": ("Dyestuff", "Yield ~ 1 + (1|Batch)"),
}


def load(name: str) -> pd.DataFrame:
    df = pd.read_csv(DATA / f"{name}.csv", dtype={f: str for f in FACTORS.get(name, [])})
    if name == "Penicillin":
        df["half"] = np.where(df["plate"] <= "l", "first", "second")
    return df


@pytest.fixture(scope="session")
def inference_ref() -> dict:
    with open(REF / "inference.json") as fh:
        return json.load(fh)


@pytest.fixture(scope="session")
def frames() -> dict:
    return {key: load(ds) for key, (ds, _) in MODELS.items()}


@pytest.fixture(scope="session")
def fits(frames) -> dict:
    """REML fits of the reference models, keyed as in inference.json."""
    return {key: hd.fit(f, frames[key]) for key, (_, f) in MODELS.items()}
