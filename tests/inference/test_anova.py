"""Type III and Type I ANOVA F tables with Satterthwaite df against lmerTest's anova()."""
import numpy as np
import pytest

COLS = [("sum_sq", "sum_sq"), ("mean_sq", "mean_sq"), ("num_df", "num_df"), ("den_df", "den_df"),
        ("F_value", "F_value"), ("p_value", "p_value")]


@pytest.mark.parametrize("key", ["sleepstudy", "Penicillin_half", "oats"])
@pytest.mark.parametrize("kind", [3, 1])
def test_anova_equals_lmertest(key, kind, fits, frames, inference_ref):
    ref = inference_ref["lmerTest"][key]["satterthwaite"][f"anova_type{kind}"]
    tab = fits[key].anova(type=kind, data=frames[key])
    assert list(tab.index) == ref["terms"]
    for ours, theirs in COLS:
        np.testing.assert_allclose(tab[ours].astype(float), ref[theirs], rtol=1e-4, err_msg=ours)


def test_residual_ddf_anova(fits, frames):
    r = fits["oats"]
    tab = r.anova(ddf="residual", data=frames["oats"])
    assert np.all(tab["den_df"] == r.nobs - r.n_fixed)


def test_single_df_term_f_is_t_squared(fits):
    """With one coefficient per term, F = t^2 and the df are the coefficient's."""
    r = fits["sleepstudy"]
    tab = r.anova()
    np.testing.assert_allclose(tab.loc["Days", "F_value"], r.fixed_effects.loc["Days", "t_value"] ** 2, rtol=1e-10)
    np.testing.assert_allclose(tab.loc["Days", "den_df"], r.fixed_effects.loc["Days", "df"], rtol=1e-8)
