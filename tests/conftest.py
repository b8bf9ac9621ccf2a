"""Shared fixtures: the example data sets and the lme4 reference values (tests/reference/*.json)."""
import json
import os
from pathlib import Path

# Small dense algebra in the tests runs fastest single-threaded; on a loaded machine OpenBLAS's
# threads can make a 2000 x 400 QR 50 times slower. Set before numpy is imported (a user's
# explicit setting wins).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pandas as pd  # noqa: E402  (after the thread settings above)
import pytest  # noqa: E402

HERE = Path(__file__).parent
DATA = HERE / "data"
REFERENCE = HERE / "reference"

# grouping / factor columns per data set, read as strings as make_reference.R does
FACTORS = {
    "sleepstudy": ["Subject"],
    "Penicillin": ["plate", "sample"],
    "Pastes": ["batch", "cask", "sample"],
    "Dyestuff": ["Batch"],
    "Dyestuff2": ["Batch"],
    "oats": ["B", "V", "N"],
    "cake": ["replicate", "recipe", "temperature"],
    "InstEval": ["s", "d", "studage", "lectage", "service", "dept"],
}


def load_data(name: str) -> pd.DataFrame:
    """A data set of tests/data with its factor columns as strings (R's factor() levels sort the same)."""
    path = DATA / (f"{name}.csv.gz" if name == "InstEval" else f"{name}.csv")
    return pd.read_csv(path, dtype={f: str for f in FACTORS.get(name, [])})


def load_reference(name: str) -> dict:
    with open(REFERENCE / name) as fh:
        return json.load(fh)


@pytest.fixture(scope="session")
def fits_reference() -> dict:
    return load_reference("fits.json")["models"]


@pytest.fixture(scope="session")
def matrices_reference() -> dict:
    return load_reference("model_matrices.json")["models"]


@pytest.fixture(scope="session")
def data():
    """data(name) -> the DataFrame of tests/data/<name>.csv, factor columns as strings."""
    return load_data
