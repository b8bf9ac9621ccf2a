"""Formula parsing and design building on small hand-made data, against hand-built matrices."""
import numpy as np
import pandas as pd
import pytest

from henderson.errors import DesignError
from henderson.formula import build_design, parse_formula


def _spec(formula):
    return [(s.lhs, s.factors, s.name) for s in parse_formula(formula).random]


def test_simple_split():
    p = parse_formula("y ~ x + f + (1 + x | g)")
    assert p.response == "y"
    assert p.fixed == "x + f"
    assert _spec("y ~ x + f + (1 + x | g)") == [("1 + x", ("g",), "g")]


def test_no_fixed_terms_means_intercept():
    assert parse_formula("y ~ (1|g)").fixed == "1"


def test_interaction_group_stays_one_factor():
    assert _spec("y ~ 1 + (1|g1:g2)") == [("1", ("g1", "g2"), "g1:g2")]


def test_nested_expansion_as_lme4():
    """(1|a/b) = (1|a) + (1|b:a) with lme4's name for the inner term."""
    assert _spec("y ~ (1|a/b)") == [("1", ("a",), "a"), ("1", ("b", "a"), "b:a")]
    assert _spec("y ~ (1|a/b/c)") == [("1", ("a",), "a"), ("1", ("b", "a"), "b:a"),
                                      ("1", ("c", "b", "a"), "c:b:a")]


def test_double_bar_expansion():
    assert _spec("y ~ (1 + x + z || g)") == [("1", ("g",), "g"), ("0 + x", ("g",), "g.1"),
                                            ("0 + z", ("g",), "g.2")]
    assert _spec("y ~ (x || g)") == [("1", ("g",), "g"), ("0 + x", ("g",), "g.1")]
    assert _spec("y ~ (0 + x || g)") == [("0 + x", ("g",), "g")]


def test_repeated_group_names_get_suffixes():
    assert [s[2] for s in _spec("y ~ (1|g) + (0 + x|g) + (1|h)")] == ["g", "g.1", "h"]


@pytest.mark.parametrize("bad", ["y", "~ x", "y ~ (1|g", "y ~ x + (1|)", "y ~ ( | g)", "y ~ (1|a//b)"])
def test_malformed_formulas(bad):
    with pytest.raises(DesignError):
        parse_formula(bad)


@pytest.mark.parametrize("formula", ["y ~ x + ((1|g))", "y ~ x + (((1 | g)))", "y ~ ((1|g)) + x"])
def test_redundant_parentheses_around_a_random_term_are_dropped_as_by_lme4(formula):
    p = parse_formula(formula)
    assert p.fixed == "x"
    assert _spec(formula) == [("1", ("g",), "g")]


@pytest.mark.parametrize("group", ["g + h", "g * h", "(g)", "g + h/k"])
def test_grouping_factor_that_is_not_a_column_interaction_or_nesting(group):
    with pytest.raises(DesignError, match=r"not a column, an interaction \(g1:g2\) or a nesting \(g1/g2\)"):
        parse_formula(f"y ~ x + (1|{group})")


def test_backquoted_grouping_column():
    assert _spec("y ~ (1|`herd year`)") == [("1", ("herd year",), "herd year")]


def test_bar_inside_other_parentheses_is_a_clear_error():
    with pytest.raises(DesignError, match=r"'\|' is left in the fixed part"):
        parse_formula("y ~ x + ((1|g) + x)")


def test_two_tildes():
    with pytest.raises(DesignError, match="more than one '~'"):
        parse_formula("y ~ x ~ z + (1|g)")


def test_formulaic_messages_have_no_terminal_colour_codes():
    d = pd.DataFrame({"y": np.arange(12.0) % 5, "x": np.arange(12.0), "g": list("abc") * 4})
    with pytest.raises(DesignError, match="cannot parse fixed part") as err:
        build_design("y ~ x * * x + (1|g)", d)
    assert "\x1b" not in str(err.value)


@pytest.fixture
def small():
    rng = np.random.default_rng(1)
    n = 24
    return pd.DataFrame({
        "y": rng.normal(size=n),
        "x": rng.uniform(1, 5, size=n),
        "f": np.array(["b", "a", "c"])[np.arange(n) % 3],
        "h": np.array(["u", "v"])[(np.arange(n) // 3) % 2],
        "g": np.array(["k", "i", "j", "l"])[np.arange(n) % 4],
        "gi": np.array([30, 4, 200, 17])[np.arange(n) % 4],
        "g2": np.array(["p", "q"])[(np.arange(n) // 4) % 2],
    })


def _indicators(values, levels):
    return (np.asarray(values)[:, None] == np.asarray(levels)[None, :]).astype(float)


def test_transform_and_interaction(small):
    d = build_design("y ~ np.log(x) + f + f:h", small)
    ind_f = _indicators(small.f, ["a", "b", "c"])
    ind_h = _indicators(small.h, ["u", "v"])
    expected = np.column_stack([np.ones(len(small)), np.log(small.x), ind_f[:, 1], ind_f[:, 2]])
    np.testing.assert_allclose(d.X.toarray()[:, :4], expected)
    assert list(d.fixed_names[:4]) == ["(Intercept)", "np.log(x)", "fb", "fc"]
    # f + f:h spans the 6 cell means of f x h; with np.log(x) the rank is 7, and X has no aliased column
    cells = np.column_stack([ind_f[:, i] * ind_h[:, j] for i in range(3) for j in range(2)])
    Xd = d.X.toarray()
    assert Xd.shape[1] == np.linalg.matrix_rank(Xd) == 7
    assert np.linalg.matrix_rank(np.column_stack([Xd, cells])) == 7
    assert d.aliased == ()


def test_full_interaction_names_and_values(small):
    d = build_design("y ~ f*h", small)
    ind_f = _indicators(small.f, ["a", "b", "c"])
    ind_h = _indicators(small.h, ["u", "v"])
    expected = np.column_stack([np.ones(len(small)), ind_f[:, 1], ind_f[:, 2], ind_h[:, 1],
                                ind_f[:, 1] * ind_h[:, 1], ind_f[:, 2] * ind_h[:, 1]])
    assert list(d.fixed_names) == ["(Intercept)", "fb", "fc", "hv", "fb:hv", "fc:hv"]
    np.testing.assert_array_equal(d.X.toarray(), expected)


@pytest.mark.parametrize("formula", ["y ~ 0 + x + (1|g)", "y ~ x - 1 + (1|g)"])
def test_no_intercept(small, formula):
    d = build_design(formula, small)
    assert list(d.fixed_names) == ["x"]
    np.testing.assert_allclose(d.X.toarray()[:, 0], small.x)


def test_no_intercept_factor_gets_all_levels(small):
    d = build_design("y ~ 0 + f", small)
    assert list(d.fixed_names) == ["fa", "fb", "fc"]
    np.testing.assert_array_equal(d.X.toarray(), _indicators(small.f, ["a", "b", "c"]))


def test_correlated_slope_block(small):
    d = build_design("y ~ x + (1 + x|g)", small)
    (t,) = d.terms
    assert t.effects == ("(Intercept)", "x")
    levels = ["i", "j", "k", "l"]
    assert list(t.levels) == levels
    ind = _indicators(small.g, levels)
    np.testing.assert_allclose(t.Z.toarray(), np.column_stack([ind, ind * small.x.to_numpy()[:, None]]))


def test_integer_grouping_levels_sorted_numerically(small):
    d = build_design("y ~ 1 + (1|gi)", small)
    (t,) = d.terms
    assert list(t.levels) == [4, 17, 30, 200]
    np.testing.assert_array_equal(t.Z.toarray(), _indicators(small.gi, [4, 17, 30, 200]))


def test_string_grouping_levels_sorted(small):
    d = build_design("y ~ 1 + (1|g)", small)
    (t,) = d.terms
    assert list(t.levels) == ["i", "j", "k", "l"]
    np.testing.assert_array_equal(t.Z.toarray(), _indicators(small.g, ["i", "j", "k", "l"]))


def test_interaction_grouping_factor(small):
    d = build_design("y ~ 1 + (1|g:g2)", small)
    (t,) = d.terms
    labels = (small.g + ":" + small.g2).to_numpy()
    levels = sorted(set(labels))
    assert list(t.levels) == levels
    np.testing.assert_array_equal(t.Z.toarray(), _indicators(labels, levels))


def test_nested_design_equals_explicit_terms(small):
    a = build_design("y ~ 1 + (1|g2/g)", small)
    b = build_design("y ~ 1 + (1|g2) + (1|g:g2)", small)
    assert [t.name for t in a.terms] == [t.name for t in b.terms] == ["g2", "g:g2"]
    for ta, tb in zip(a.terms, b.terms):
        assert list(ta.levels) == list(tb.levels)
        np.testing.assert_array_equal(ta.Z.toarray(), tb.Z.toarray())


def test_double_bar_design(small):
    d = build_design("y ~ x + (x||g)", small)
    assert [(t.name, t.effects) for t in d.terms] == [("g", ("(Intercept)",)), ("g.1", ("x",))]
    ind = _indicators(small.g, ["i", "j", "k", "l"])
    np.testing.assert_array_equal(d.terms[0].Z.toarray(), ind)
    np.testing.assert_allclose(d.terms[1].Z.toarray(), ind * small.x.to_numpy()[:, None])


def test_design_is_sparse(small):
    import scipy.sparse as sp
    d = build_design("y ~ f + x + (1|g) + (1|h)", small)
    assert sp.issparse(d.X) and sp.issparse(d.Z)


@pytest.mark.parametrize("formula,fixed", [
    ("y ~ x + (1|g) - 1", "x - 1"),
    ("y ~ (1|g) - 1", "- 1"),
    ("y ~ -1 + (1|g) + x", "-1 + x"),
    ("y~x+(1|g)+z", "x + z"),
    ("y ~ (x + z) + (1|g)", "(x + z)"),
])
def test_random_terms_anywhere_in_the_formula(formula, fixed):
    p = parse_formula(formula)
    assert p.fixed == fixed
    assert [(s.lhs, s.factors) for s in p.random] == [("1", ("g",))]


def test_minus_one_after_random_term_removes_intercept(small):
    d = build_design("y ~ x + (1|g) - 1", small)
    assert list(d.fixed_names) == ["x"]
    assert [t.name for t in d.terms] == ["g"]


def test_subtracted_random_term_is_an_error():
    with pytest.raises(DesignError, match="subtracted"):
        parse_formula("y ~ x - (1|g)")


def test_no_fixed_effects(small):
    d = build_design("y ~ 0 + (1|g)", small)
    assert d.X.shape == (len(small), 0) and d.fixed_names == ()
