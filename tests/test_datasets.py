"""The bundled data sets: every file is loadable, factor columns come as text, contents equal the test copies."""
from importlib import resources

import pandas as pd
import pytest

import henderson as hd


def test_every_bundled_file_is_a_data_set():
    files = {p.name for p in (resources.files("henderson") / "data").iterdir() if p.name.endswith((".csv", ".gz"))}
    assert files == {hd.datasets.path(n).name for n in hd.datasets.names()}


@pytest.mark.parametrize("name", ["sleepstudy", "Penicillin", "Pastes", "Dyestuff", "Dyestuff2", "cake", "oats"])
def test_same_as_the_test_data(name, data):
    pd.testing.assert_frame_equal(hd.datasets.load(name), data(name))


def test_factors_are_text():
    d = hd.datasets.load("InstEval")
    assert len(d) == 73421
    for col in ["s", "d", "studage", "lectage", "service", "dept"]:
        assert not pd.api.types.is_numeric_dtype(d[col]), col
    assert sorted(d["service"].unique()) == ["0", "1"]
    milk = hd.datasets.load("milk")
    assert not pd.api.types.is_numeric_dtype(milk["id"]) and pd.api.types.is_numeric_dtype(milk["lact"])


def test_unknown_name():
    with pytest.raises(KeyError, match="available: sleepstudy"):
        hd.datasets.path("sleep")
