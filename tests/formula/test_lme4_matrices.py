"""X and Z built by henderson.formula equal lme4's model matrices (tests/reference/model_matrices.json).

lme4 orders Z per term (terms sorted by decreasing number of levels), level-major with the
effects interleaved; henderson orders Z per term in formula order, effect-major. The test maps
each lme4 column (term, effect, level) to ours and compares the values.
"""
import numpy as np
import pytest

from henderson.formula import build_design

MODELS = ["sleepstudy_corr", "sleepstudy_uncorr", "sleepstudy_slope", "Penicillin", "Pastes", "oats"]


@pytest.fixture(scope="module", params=MODELS)
def case(request, matrices_reference, data):
    ref = matrices_reference[request.param]
    design = build_design(ref["formula"], data(ref["data"]))
    return ref, design


def test_rows(case):
    ref, design = case
    assert design.n == ref["n"]
    assert design.n_dropped == 0


def test_fixed_columns_and_values(case):
    ref, design = case
    assert list(design.fixed_names) == ref["X"]["colnames"]
    X_ref = np.asarray(ref["X"]["values"], dtype=float)
    np.testing.assert_array_equal(design.X.toarray(), X_ref)


def _our_term_for_each_lme4_term(ref, design):
    """lme4 term index (1-based) -> our RandomTerm: the k-th lme4 term of a group is our k-th of that group."""
    cols = ref["Z"]["columns"]
    lme4_terms = []  # (term_index, group) in lme4 order
    for ti, grp in zip(cols["term_index"], cols["group"]):
        if (ti, grp) not in lme4_terms:
            lme4_terms.append((ti, grp))
    ours_by_group = {}
    for t in design.terms:
        ours_by_group.setdefault(":".join(t.factors), []).append(t)
    mapping, used = {}, {}
    for ti, grp in lme4_terms:
        k = used.get(grp, 0)
        used[grp] = k + 1
        mapping[ti] = ours_by_group[grp][k]
    return mapping


def test_random_terms_match(case):
    ref, design = case
    mapping = _our_term_for_each_lme4_term(ref, design)
    assert len(mapping) == len(design.terms)
    for ti, term in mapping.items():
        grp = ref["Z"]["columns"]["group"][ref["Z"]["columns"]["term_index"].index(ti)]
        lme4_effects = [e for e, i in zip(ref["Z"]["columns"]["effect"], ref["Z"]["columns"]["term_index"])
                        if i == ti]
        assert list(term.effects) == list(dict.fromkeys(lme4_effects))
        assert [str(v) for v in term.levels] == ref["flist"][grp]


def test_group_names(case):
    """Our names are lme4's VarCorr names: nested inner terms 'cask:batch', repeated groups 'Subject.1'."""
    ref, design = case
    expected, seen = [], {}
    for t in design.terms:
        base = ":".join(t.factors)
        k = seen.get(base, 0)
        seen[base] = k + 1
        expected.append(base if k == 0 else f"{base}.{k}")
    assert [t.name for t in design.terms] == expected
    assert {":".join(t.factors) for t in design.terms} == set(ref["Z"]["columns"]["group"])


def test_random_design_values(case):
    ref, design = case
    cols = ref["Z"]["columns"]
    Z_ref = np.asarray(ref["Z"]["values"], dtype=float)
    assert Z_ref.shape == (design.n, ref["Z"]["ncol"])
    assert design.Z.shape[1] == ref["Z"]["ncol"]
    mapping = _our_term_for_each_lme4_term(ref, design)
    offsets, pos = {}, 0
    for t in design.terms:
        offsets[id(t)] = pos
        pos += t.q * t.m
    perm = np.empty(ref["Z"]["ncol"], dtype=np.int64)
    for j, (ti, eff, lev) in enumerate(zip(cols["term_index"], cols["effect"], cols["level"])):
        t = mapping[ti]
        level_pos = [str(v) for v in t.levels].index(lev)
        perm[j] = offsets[id(t)] + t.effects.index(eff) * t.m + level_pos
    assert len(set(perm.tolist())) == len(perm)
    np.testing.assert_array_equal(design.Z.toarray()[:, perm], Z_ref)
    for t in design.terms:
        assert t.Z.format == "csc"
