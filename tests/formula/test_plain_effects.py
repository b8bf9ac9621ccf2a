"""Random-term effects evaluated without formulaic (PlainEffects) equal formulaic's columns and names."""
import numpy as np
import pandas as pd
import pytest
from formulaic import model_matrix

from henderson.errors import DesignError
from henderson.formula.fixed import r_column_name
from henderson.formula.random import PlainEffects, _effects_matrix, plain_effects


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    return pd.DataFrame({"x": rng.normal(size=12), "z": np.arange(12), "b": [True, False] * 6,
                         "f": list("abc") * 4, "x.1": rng.normal(size=12)})


@pytest.mark.parametrize("lhs", ["1", "x", "1 + x", "x + 1", "0 + x", "-1 + x", "1 + x + z", "z + x", "0+z+x"])
def test_plain_equals_formulaic(data, lhs):
    values, effects, spec = _effects_matrix(lhs, data, "g")
    assert isinstance(spec, PlainEffects)
    mm = model_matrix(lhs, data, na_action="ignore")
    assert effects == tuple(r_column_name(c) for c in mm.model_spec.column_names)
    np.testing.assert_array_equal(values, np.asarray(mm, dtype=float))


@pytest.mark.parametrize("lhs", ["f", "1 + b", "x - 1", "x:z", "np.log(z + 1)", "x + x", "0", "`x.1`", "y"])
def test_other_effects_left_to_formulaic(data, lhs):
    assert plain_effects(lhs, data) is None


def test_new_data_rebuilds_columns_and_names_missing_columns(data):
    spec = plain_effects("1 + x", data)
    new = pd.DataFrame({"x": [0.5, np.nan]})
    np.testing.assert_array_equal(spec.get_model_matrix(new), [[1.0, 0.5], [1.0, np.nan]])
    with pytest.raises(DesignError, match="'x'"):
        spec.get_model_matrix(pd.DataFrame({"z": [1.0]}))
    with pytest.raises(DesignError, match="'x' of a random term is not numeric"):
        spec.get_model_matrix(pd.DataFrame({"x": ["a", "b"]}))


def test_non_finite_values_still_refused(data):
    data.loc[3, "x"] = np.inf
    with pytest.raises(DesignError, match="non-finite"):
        _effects_matrix("1 + x", data, "g")
