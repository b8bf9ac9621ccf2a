"""henderson.options: the one owner of the options and their defaults."""
import pytest

import henderson as hd
from henderson.cli import jobspec
from henderson.options import ORDERINGS, Options
from henderson.reml import objective


def test_defaults_resolved_by_algorithm():
    assert (Options().iterations, Options().decrement_tol, Options().change_tol) == (200, 1e-8, 1e-8)
    em = Options(algorithm="EM")
    assert (em.algorithm, em.iterations, em.decrement_tol) == ("em", 5000, 1e-11)
    o = Options(method="ml", max_iter=7, tol=1e-6)
    assert (o.method, o.iterations, o.decrement_tol, o.change_tol) == ("ML", 7, 1e-6, 1e-6)


@pytest.mark.parametrize("kw,match", [({"algorithm": "newton"}, "algorithm"), ({"method": "GLS"}, "method"),
                                      ({"ddf": "kenward-roger"}, "ddf")])
def test_bad_option_is_a_value_error_naming_it(kw, match):
    with pytest.raises(ValueError, match=match):
        Options(**kw)


def test_model_fit_validates_ddf(data):
    m = hd.Model("Reaction ~ Days + (1|Subject)", data("sleepstudy"))
    with pytest.raises(ValueError, match="ddf must be one of 'satterthwaite', 'residual'"):
        m.fit(ddf="kr")


def test_orderings_defined_once():
    assert objective.ORDERINGS is ORDERINGS and jobspec.ORDERINGS is ORDERINGS
    assert jobspec.DEFAULTS["method"] == Options.method and jobspec.DEFAULTS["algorithm"] == Options.algorithm
