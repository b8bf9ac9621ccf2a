"""Large designs stay sparse: a fixed factor with 5,000 levels and a random factor with 200,000 levels.

Dense n x p or n x q storage would be 2 GB and 400 GB; the design must fit in a few dozen MB.
"""
import tracemalloc

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from henderson.formula import build_design


@pytest.fixture(scope="module")
def large():
    rng = np.random.default_rng(0)
    n = 250_000
    animal = np.r_[np.arange(200_000), rng.integers(0, 200_000, n - 200_000)]
    hys = np.r_[np.arange(5_000), rng.integers(0, 5_000, n - 5_000)]
    df = pd.DataFrame({"hys": np.char.add("h", hys.astype(str)), "animal": animal, "x": rng.normal(size=n)})
    df["y"] = rng.normal(size=n)
    # a column that duplicates one hys level: must be found aliased through the sparse path (p > 3000)
    df["dup"] = (df["hys"] == "h17").astype(float) * 2.0
    tracemalloc.start()
    design = build_design("y ~ x + hys + dup + (1|animal)", df)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return df, design, peak


@pytest.mark.filterwarnings("ignore::henderson.AliasedColumnsWarning")
def test_shapes_and_sparsity(large):
    df, design, peak = large
    n = len(df)
    assert design.X.shape == (n, 1 + 1 + 4_999) and sp.issparse(design.X)
    (term,) = design.terms
    assert term.m == 200_000 and sp.issparse(term.Z) and term.Z.nnz == n
    assert design.X.nnz <= 3 * n
    assert peak < 300e6, f"building the design used {peak / 1e6:.0f} MB at peak"


@pytest.mark.filterwarnings("ignore::henderson.AliasedColumnsWarning")
def test_aliased_column_found_in_large_design(large):
    _, design, _ = large
    assert design.aliased == ("dup",)
    assert "dup" not in design.fixed_names and "hysh17" in design.fixed_names
