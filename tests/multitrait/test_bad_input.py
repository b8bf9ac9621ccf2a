"""Multi-trait bad input: typed errors naming the trait, column or term."""
import numpy as np
import pytest

import henderson as hd
from henderson.errors import DesignError, NotPositiveDefiniteError
from tests.multitrait.sim import traits_data

G2 = [[1.0, 0.5], [0.5, 2.0]]
R2 = [[2.0, 0.6], [0.6, 3.0]]


@pytest.fixture(scope="module")
def data():
    df, ped, _ = traits_data(60, G2, R2, seed=2)
    return df, ped


def _model(df, ped, **formulas):
    return hd.Model(formulas or {"y1": "y1 ~ sex + (1|id)", "y2": "y2 ~ 1 + (1|id)"}, data=df,
                    relationships={"id": ped})


def test_trait_without_records(data):
    df, ped = data
    df = df.assign(y2=np.nan)
    with pytest.raises(DesignError, match="trait 'y2' has no records"):
        _model(df, ped)


def test_constant_trait(data):
    df, ped = data
    with pytest.raises(DesignError, match="trait 'y2'.*constant"):
        _model(df.assign(y2=np.where(df.y2.isna(), np.nan, 5.0)), ped)


def test_key_not_matching_its_response(data):
    df, ped = data
    with pytest.raises(DesignError, match="trait 'y3' has the response 'y2'"):
        hd.Model({"y1": "y1 ~ (1|id)", "y3": "y2 ~ (1|id)"}, data=df, relationships={"id": ped})


def test_duplicated_trait_in_a_list(data):
    df, ped = data
    with pytest.raises(DesignError, match="trait 'y1' is given more than once"):
        hd.Model(["y1 ~ (1|id)", "y1 ~ sex + (1|id)"], data=df, relationships={"id": ped})


def test_list_of_formulas_is_keyed_by_response(data):
    df, ped = data
    m = hd.Model(["y1 ~ sex + (1|id)", "y2 ~ 1 + (1|id)"], data=df, relationships={"id": ped})
    assert m.traits == ("y1", "y2")


def test_start_not_positive_definite_names_the_term(data):
    df, ped = data
    m = _model(df, ped)
    with pytest.raises(NotPositiveDefiniteError, match="'id'"):
        m.fit(start={"id": [[1.0, 2.0], [2.0, 1.0]], "Residual": R2})
    with pytest.raises(NotPositiveDefiniteError, match="residual covariance of the traits"):
        m.fit(start={"id": G2, "Residual": [[1.0, 3.0], [3.0, 1.0]]})


def test_variances_of_the_wrong_shape_or_missing(data):
    df, ped = data
    m = _model(df, ped)
    with pytest.raises(DesignError, match="must be 2x2"):
        m.solve({"id": [[1.0]], "Residual": R2})
    with pytest.raises(DesignError, match="variances missing for \\['Residual'\\]"):
        m.solve({"id": G2})


def test_variances_as_data_frames_follow_the_trait_names(data):
    df, ped = data
    m = _model(df, ped)
    a = m.solve({"id": G2, "Residual": R2})
    cov = a.covariance("id").iloc[::-1, ::-1]            # traits in the other order
    res = a.covariance("Residual").iloc[::-1, ::-1]
    b = m.solve({"id": cov, "Residual": res})
    assert b.loglik == a.loglik
    assert list(a.covariance("Residual").index) == ["y1", "y2"]


def test_unsupported_options_and_predict(data):
    df, ped = data
    with pytest.raises(DesignError, match="do not take \\['weights'\\]"):
        hd.Model({"y1": "y1 ~ (1|id)", "y2": "y2 ~ (1|id)"}, data=df, relationships={"id": ped}, weights="y1")
    r = _model(df, ped).solve({"id": G2, "Residual": R2})
    with pytest.raises(DesignError, match="predict\\(\\) is not available for multi-trait"):
        r.predict(df)


def test_results_per_trait(data):
    df, ped = data
    r = _model(df, ped).fit()
    assert list(r.heritability().index) == ["y1", "y2"]
    cor = r.correlations()
    assert list(cor.columns[:5]) == ["group", "trait1", "trait2", "estimate", "std_error"]
    assert list(cor.group) == ["id", "Residual"]
    ebv = r.random_effects["id"]
    assert {"y1", "y2", "pev:y1", "pev:y2", "reliability:y1", "reliability:y2"} <= set(ebv.columns)
    fitted = r.fitted()
    assert list(fitted.columns) == ["y1", "y2"] and fitted.y2.isna().equals(df.y2.isna())
    np.testing.assert_allclose((r.residuals() + fitted).to_numpy(), df[["y1", "y2"]].to_numpy())
    assert r.fixed_effects.index[0] == "y1:(Intercept)"
    vc = r.variance_components
    assert list(vc.term1[vc.group == "Residual"]) == ["y1", "y2", "y2"]
    assert "Fixed effects of y2" in r.summary()
    d = r.to_dict()
    assert d["nobs"] == r.nobs and r.to_json()
