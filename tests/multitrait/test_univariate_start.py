"""fit(start="univariate"): start values from single-trait REML fits (issue 11), the same optimum."""
import numpy as np
import pytest

import henderson as hd
from henderson.errors import DesignError

from .sim import traits_data

G2 = [[2.0, 0.8], [0.8, 1.5]]
R2 = [[3.0, 1.0], [1.0, 2.5]]


@pytest.fixture(scope="module")
def case():
    df, ped, _ = traits_data(150, G2, R2, seed=5)
    formulas = {"y1": "y1 ~ sex + (1|id)", "y2": "y2 ~ 1 + (1|id)"}
    return df, ped, formulas, hd.Model(formulas, data=df, relationships={"id": ped})


def test_univariate_start_holds_the_single_trait_estimates(case):
    df, ped, formulas, m = case
    start = m.vm.unpack(m.univariate_start())[0][0]
    R0 = m.vm.residual.matrix(m.univariate_start()[-m.vm.residual.n_params:])
    for i, (t, f) in enumerate(formulas.items()):
        vc = hd.Model(f, df[df[t].notna()], relationships={"id": ped}).fit().variance_components
        assert start[i, i] == pytest.approx(vc.loc[vc.group == "id", "estimate"].iloc[0], rel=1e-10)
        assert R0[i, i] == pytest.approx(vc.loc[vc.group == "Residual", "estimate"].iloc[0], rel=1e-10)
    # the correlations are those of the phenotypic start
    P = m.vm.unpack(m.start_values())[0][0]
    np.testing.assert_allclose(start[0, 1] / np.sqrt(start[0, 0] * start[1, 1]),
                               P[0, 1] / np.sqrt(P[0, 0] * P[1, 1]), rtol=1e-12)


def test_univariate_start_reaches_the_same_optimum(case):
    *_, m = case
    a, b = m.fit(), m.fit(start="univariate")
    assert a.converged and b.converged
    assert b.loglik == pytest.approx(a.loglik, abs=1e-7)
    np.testing.assert_allclose(b.theta, a.theta, rtol=1e-4)


def test_unknown_start_word_is_refused(case):
    *_, m = case
    with pytest.raises(DesignError, match="univariate"):
        m.fit(start="single")
