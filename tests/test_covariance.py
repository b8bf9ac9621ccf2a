"""VarianceModel: the one owner of the parameter layout, against dense NumPy."""
import numpy as np
import pytest

import henderson as hd
from henderson.errors import NotPositiveDefiniteError


@pytest.fixture(scope="module")
def vm(data):
    df = data("sleepstudy").assign(g=lambda d: d.Subject.astype(str).str[-1])
    return hd.Model("Reaction ~ Days + (Days|Subject) + (1|g)", df).vm


THETA = np.array([600.0, 10.0, 35.0, 4.0, 650.0])   # Subject 2x2, g, Residual


def test_layout_positions_and_names(vm):
    assert vm.n_params == 5
    assert vm.term_slice(0) == slice(0, 3) and vm.term_slice(1) == slice(3, 4)
    assert vm.residual_slice == slice(4, 5)
    assert vm.sigma2(THETA) == 650.0
    np.testing.assert_array_equal(vm.single_variances(), [3])
    np.testing.assert_array_equal(vm.positive_scalars(), [3, 4])
    assert vm.names() == ["Subject[(Intercept)]", "Subject[Days,(Intercept)]", "Subject[Days]", "g", "Residual"]
    assert vm.labels() == ["Subject/(Intercept)", "Subject/Days/(Intercept)", "Subject/Days", "g/(Intercept)",
                           "Residual"]
    np.testing.assert_array_equal(vm.with_sigma2(THETA, 2.0), [600.0, 10.0, 35.0, 4.0, 2.0])


def test_params_at_theta_against_dense(vm):
    p = vm.at(THETA)
    S = np.array([[600.0, 10.0], [10.0, 35.0]])
    np.testing.assert_allclose(p.sigmas[0], S)
    np.testing.assert_allclose(p.sinv[0], np.linalg.inv(S), rtol=1e-13)
    np.testing.assert_allclose(p.sinv[1], [[0.25]])
    m0, m1 = vm.terms[0].m, vm.terms[1].m
    np.testing.assert_allclose(p.logdet_G, m0 * np.linalg.slogdet(S)[1] + m1 * np.log(4.0), rtol=1e-13)
    assert p.sigma2 == 650.0 and p.rinv_scale == 1 / 650.0
    np.testing.assert_allclose(p.logdet_R(180), 180 * np.log(650.0))
    assert vm.residual.derivative(0) == 1.0


def test_params_name_the_term_that_is_not_positive_definite(vm):
    with pytest.raises(NotPositiveDefiniteError, match="'Subject'"):
        vm.at([1.0, 2.0, 1.0, 4.0, 650.0])
    with pytest.raises(NotPositiveDefiniteError, match="residual variance"):
        vm.at([600.0, 10.0, 35.0, 4.0, 0.0])


def test_sd_cor_parameterization_round_trips(vm):
    phi = vm.to_sd_cor(THETA)
    np.testing.assert_allclose(phi, [np.sqrt(600), 10 / np.sqrt(600 * 35), np.sqrt(35), 2.0, np.sqrt(650)])
    np.testing.assert_allclose(vm.from_sd_cor(phi), THETA, rtol=1e-14)
    assert [x[1] for x in vm.sd_cor_layout()] == ["sd_(Intercept)|Subject", "cor_Days.(Intercept)|Subject",
                                                  "sd_Days|Subject", "sd_(Intercept)|g", "sigma"]
