"""Marginal means, pairwise differences and linear contrasts against emmeans 1.8.4 (oats, Satterthwaite df)."""
import numpy as np
import pytest
from scipy import stats


@pytest.mark.parametrize("factor", ["V", "N"])
def test_emmeans_equal_emmeans(factor, fits, frames, inference_ref):
    ref = inference_ref["emmeans"]["oats"][f"by_{factor}"]
    tab = fits["oats"].emmeans(factor, data=frames["oats"])
    assert [str(x) for x in tab.index] == ref["levels"]
    for ours, theirs in [("emmean", "emmean"), ("std_error", "SE"), ("df", "df"),
                         ("ci_lower", "lower_CL"), ("ci_upper", "upper_CL")]:
        np.testing.assert_allclose(tab[ours], ref[theirs], rtol=1e-4, err_msg=ours)


def test_pairs_equal_emmeans(fits, frames, inference_ref):
    ref = inference_ref["emmeans"]["oats"]["pairs_N"]
    tab = fits["oats"].pairs("N", data=frames["oats"])
    assert list(tab.index) == ref["contrast"]
    for ours, theirs in [("estimate", "estimate"), ("std_error", "SE"), ("df", "df"),
                         ("t_value", "t_ratio"), ("p_value", "p_value")]:
        np.testing.assert_allclose(tab[ours], ref[theirs], rtol=1e-4, err_msg=ours)


def test_contrast_given_by_names_equals_emmeans_pair(fits, inference_ref):
    """N0.2cwt - N0.4cwt plus the interaction columns averaged over V is emmeans' '0.2cwt - 0.4cwt'."""
    ref = inference_ref["emmeans"]["oats"]["pairs_N"]
    row = {"N0.2cwt": 1, "N0.4cwt": -1}
    for v in ("VMarvellous", "VVictory"):
        row[f"{v}:N0.2cwt"] = 1 / 3
        row[f"{v}:N0.4cwt"] = -1 / 3
    tab = fits["oats"].contrast({"0.2 vs 0.4": row})
    i = ref["contrast"].index("0.2cwt - 0.4cwt")
    np.testing.assert_allclose(tab.loc["0.2 vs 0.4", ["estimate", "std_error", "df", "p_value"]].to_numpy(float),
                               [ref["estimate"][i], ref["SE"][i], ref["df"][i], ref["p_value"][i]], rtol=1e-4)


def test_contrast_matrix_matches_coefficients(fits, inference_ref):
    """Rows of the identity reproduce lmerTest's coefficient table; the CI uses the t quantile."""
    r = fits["Penicillin_half"]
    ref = inference_ref["lmerTest"]["Penicillin_half"]["satterthwaite"]["coefficients"]
    tab = r.contrast(np.eye(2), names=ref["names"])
    np.testing.assert_allclose(tab["df"], ref["df"], rtol=1e-4)
    np.testing.assert_allclose(tab["ci_upper"] - tab["estimate"],
                               stats.t.ppf(0.975, tab["df"]) * tab["std_error"], rtol=1e-10)


def test_contrast_with_wrong_width_is_refused(fits):
    with pytest.raises(Exception, match="columns"):
        fits["oats"].contrast(np.ones((1, 3)))
