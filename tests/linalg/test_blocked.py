"""BlockFactor (block elimination of a block-diagonal leading part, then the Schur complement)
against dense NumPy oracles, and fits through it against fits with CHOLMOD on the whole MME."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from test_cholmod import dense_check, with_pattern  # tests/linalg is on sys.path (pytest's rootdir insertion)

import henderson as hd
from henderson.errors import NotPositiveDefiniteError
from henderson.linalg import BlockFactor

QS = [1, 2, 3]
DENSE = [True, False]


def grouped_design(seed, q, m=40, m_rest=12, n=400, p=3, nested=False):
    """W = [X | Z_g | Z_h] for a grouping factor g (m levels, q effects: intercept and q - 1
    covariates, columns offset + a*m + i as MMEPattern.leading_blocks lays them out) and a second
    factor h (m_rest levels) crossed with g, or containing it when ``nested``.

    Returns (W, blocks, raw) with blocks the (m, q) columns of g's effects and raw the codes g, h
    and the covariates X, cov.
    """
    rng = np.random.default_rng(seed)
    g = rng.permutation(np.arange(n) % m)  # every level present
    h = g % m_rest if nested else rng.integers(0, m_rest, n)
    X = np.column_stack([np.ones(n), rng.normal(size=(n, p - 1))])
    cov = np.column_stack([np.ones(n), rng.normal(size=(n, q - 1))])
    rows = np.arange(n)
    Zg = sp.hstack([sp.csc_matrix((cov[:, a], (rows, g)), shape=(n, m)) for a in range(q)])
    Zh = sp.csc_matrix((np.ones(n), (rows, h)), shape=(n, m_rest))
    W = sp.hstack([sp.csc_matrix(X), Zg, Zh]).tocsc()
    blocks = p + np.arange(m)[:, None] + m * np.arange(q)[None, :]
    return W, blocks, dict(g=g, h=h, X=X, cov=cov)


def mme(W, p, ridge=0.7):
    """C = W'W + ridge on the random part: SPD, sorted CSC with both triangles."""
    n = W.shape[1]
    d = np.r_[np.zeros(p), np.full(n - p, ridge)]
    C = with_pattern(W.T @ W + sp.diags(d))
    assert (abs(C - C.T)).max() == 0
    return C


def analyzed(seed, q, dense, nested=False, p=3):
    W, blocks, _ = grouped_design(seed, q, p=p, nested=nested)
    C = mme(W, p)
    f = BlockFactor.analyze(C, blocks, dense=dense)
    assert f is not None
    assert f.dense is dense
    return C, blocks, f


def with_values(C, D):
    """C's pattern with the values of the dense D."""
    out = C.copy()
    out.data = D[C.indices, np.repeat(np.arange(C.shape[0]), np.diff(C.indptr))]
    return out


def failing_column(D, perm):
    """The column whose pivot fails first in a Cholesky of D in the order perm."""
    Dp = D[np.ix_(perm, perm)]
    k = next(k for k in range(1, len(perm) + 1) if np.linalg.eigvalsh(Dp[:k, :k]).min() <= 0)
    return perm[k - 1]


@pytest.mark.parametrize("dense", DENSE)
@pytest.mark.parametrize("q", QS)
@pytest.mark.parametrize("nested", [False, True])
def test_against_dense(q, dense, nested):
    C, blocks, f = analyzed(seed=10 * q + nested, q=q, dense=dense, nested=nested)
    assert f.n_factorizations == 0
    f.refactor(C)
    assert f.n_factorizations == 1
    # selected inverse on C's pattern (indptr/indices equal), diag, logdet, 1-D and 2-D solves
    dense_check(C, f)
    assert f.ordering == ("block+dense" if dense else "block+amd")


@pytest.mark.parametrize("dense", DENSE)
@pytest.mark.parametrize("q", QS)
def test_perm_and_nnz_L(q, dense):
    C, blocks, f = analyzed(seed=3, q=q, dense=dense)
    f.refactor(C)
    n = C.shape[0]
    assert np.array_equal(np.sort(f.perm), np.arange(n))
    m = blocks.shape[0]
    assert np.array_equal(f.perm[:m * q], blocks.ravel())  # the leading blocks come first, level by level
    assert f.nnz_L > 0
    # the factor holds at least the lower triangles of the D_i and of the Schur complement's L
    Dp = C.toarray()[np.ix_(f.perm, f.perm)]
    rest = n - m * q
    L22 = np.linalg.cholesky(Dp[m * q:, m * q:] - Dp[m * q:, :m * q] @ np.linalg.solve(
        Dp[:m * q, :m * q], Dp[:m * q, m * q:]))
    assert f.nnz_L >= m * q * (q + 1) // 2 + np.count_nonzero(L22)
    assert f.nnz_L <= m * q * (q + 1) // 2 + m * q * rest + rest * (rest + 1) // 2


@pytest.mark.parametrize("dense", DENSE)
@pytest.mark.parametrize("q", QS)
def test_refactor_new_values_same_analysis(q, dense):
    W, blocks, _ = grouped_design(seed=5, q=q)
    C1 = mme(W, 3, ridge=0.7)
    C2 = mme(W, 3, ridge=3.5)
    assert np.array_equal(C1.indices, C2.indices) and np.array_equal(C1.indptr, C2.indptr)
    f = BlockFactor.analyze(C1, blocks, dense=dense)
    inner = f.inner
    f.refactor(C1)
    S1 = f.selected_inverse().data.copy()
    f.refactor(C2)
    assert f.n_factorizations == 2
    assert f.inner is inner  # no re-analysis
    dense_check(C2, f)
    assert not np.allclose(f.selected_inverse().data, S1)
    f.refactor(C1)
    assert f.n_factorizations == 3
    dense_check(C1, f)


def test_default_storage_of_the_schur_complement():
    """dense=None: dense for a small rest (<= 300 columns), CHOLMOD for a large, sparse one."""
    W, blocks, _ = grouped_design(seed=12, q=1)   # rest: 3 + 12 columns
    C = mme(W, 3)
    assert BlockFactor.analyze(C, blocks).dense
    W, blocks, _ = grouped_design(seed=12, q=1, m=700, m_rest=350, n=1400, nested=True)  # rest: 353, nested
    C = mme(W, 3)
    f = BlockFactor.analyze(C, blocks)
    assert not f.dense and f.ordering == "block+amd"
    f.refactor(C)
    dense_check(C, f)


def test_selected_inverse_is_a_copy():
    C, _, f = analyzed(seed=8, q=2, dense=True)
    f.refactor(C)
    S = f.selected_inverse()
    S.data[:] = 0.0
    assert np.all(f.diag_inverse() > 0)


def test_model_pattern_with_leading_blocks():
    """The MME of a model (q = 2 slope term, crossed intercept) through its own leading_blocks."""
    _, _, raw = grouped_design(seed=21, q=2)
    n = raw["g"].size
    df = pd.DataFrame(dict(x=raw["X"][:, 1], z=raw["cov"][:, 1], g=[f"g{i:02d}" for i in raw["g"]],
                           h=[f"h{i:02d}" for i in raw["h"]], y=np.random.default_rng(21).normal(size=n)))
    model = hd.Model("y ~ x + (1 + z | g) + (1 | h)", df)
    obj = model.objective("REML")
    pat = obj.pattern
    blocks = pat.leading_blocks()
    t = obj.vm.terms[0]
    assert (t.q, t.m) == (2, 40)
    assert blocks.shape == (t.m, 2)
    off = pat.term_offsets[0]
    assert np.array_equal(blocks, off + np.arange(t.m)[:, None] + t.m * np.arange(2)[None, :])
    theta = obj.vm.pack([np.array([[1.3, 0.4], [0.4, 0.8]]), np.array([[0.6]])], 1.7)
    C = with_pattern(pat.values(theta))
    for dense in DENSE:
        f = BlockFactor.analyze(C, blocks, dense=dense)
        f.refactor(C)
        dense_check(C, f)


@pytest.mark.parametrize("q", QS)
def test_not_block_diagonal_returns_none(q):
    W, blocks, _ = grouped_design(seed=4, q=q)
    C = mme(W, 3)
    D = C.toarray()
    i, j = blocks[0, q - 1], blocks[1, 0]  # couple two levels
    assert D[i, j] == 0
    D[i, j] = D[j, i] = 0.01
    Cbad = with_pattern(sp.csc_matrix(D))
    for dense in (None, True, False):
        assert BlockFactor.analyze(Cbad, blocks, dense=dense) is None
    assert BlockFactor.analyze(C, blocks) is not None


def test_bad_blocks_raise():
    W, blocks, _ = grouped_design(seed=4, q=1)
    C = mme(W, 3)
    with pytest.raises(ValueError):
        BlockFactor.analyze(C, np.arange(C.shape[0])[:, None])  # leaves no rest
    with pytest.raises(ValueError, match="repeats"):
        BlockFactor.analyze(C, np.r_[blocks[:, 0], blocks[0, 0]][:, None])


@pytest.mark.parametrize("dense", DENSE)
@pytest.mark.parametrize("q", QS)
def test_not_pd_leading_block(q, dense):
    C, blocks, f = analyzed(seed=6, q=q, dense=dense)
    D = C.toarray()
    bad = blocks[17, q - 1]
    D[bad, bad] = -1.0  # D_17 indefinite
    with pytest.raises(NotPositiveDefiniteError) as info:
        f.refactor(with_values(C, D))
    assert info.value.column == bad
    assert info.value.column == failing_column(D, f.perm)
    assert str(bad) in str(info.value)
    with pytest.raises(RuntimeError):
        f.solve(np.ones(C.shape[0]))
    f.refactor(C)  # the same analysis still factors a good matrix
    dense_check(C, f)


@pytest.mark.parametrize("dense", DENSE)
@pytest.mark.parametrize("q", QS)
def test_not_pd_schur_complement(q, dense):
    C, blocks, f = analyzed(seed=7, q=q, dense=dense)
    D = C.toarray()
    col = C.shape[0] - 4  # a column of the crossed factor h, in the rest
    assert col not in blocks
    D[col, col] = -10.0  # C22 indefinite; D (the leading blocks) untouched, so S fails
    assert np.all(np.linalg.eigvalsh(D[np.ix_(blocks.ravel(), blocks.ravel())]) > 0)
    with pytest.raises(NotPositiveDefiniteError) as info:
        f.refactor(with_values(C, D))
    assert info.value.column not in blocks
    assert 0 <= info.value.column < C.shape[0]
    assert info.value.column == failing_column(D, f.perm)
    f.refactor(C)
    dense_check(C, f)


@pytest.mark.parametrize("dense", DENSE)
def test_refactor_other_pattern_raises(dense):
    C, blocks, f = analyzed(seed=9, q=2, dense=dense)
    f.refactor(C)
    other = with_pattern(sp.csc_matrix(C.toarray() + 1e-3))  # full pattern
    with pytest.raises(ValueError, match="pattern"):
        f.refactor(other)
    smaller = with_pattern(sp.csc_matrix(C.toarray()[:-1, :-1]))
    with pytest.raises(ValueError, match="pattern"):
        f.refactor(smaller)


# ----------------------------------------------------------------------------------------------
# through the model API: ordering="auto" (block elimination) against CHOLMOD with AMD on all of C


def simulated(seed, n=300):
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, 60, n), rng.integers(0, 25, n)
    g1 = rng.integers(0, 12, n)
    g2 = rng.integers(0, 5, n)
    x = rng.normal(size=n)
    gs = rng.integers(0, 30, n)
    y = (1.0 + 0.5 * x + 0.9 * rng.normal(size=60)[a] + 0.7 * rng.normal(size=25)[b]
         + 0.8 * rng.normal(size=12)[g1] + 0.6 * rng.normal(size=(12, 5))[g1, g2]
         + rng.normal(size=30)[gs] + 0.6 * rng.normal(size=30)[gs] * x + rng.normal(size=n))
    return pd.DataFrame(dict(y=y, x=x, a=[f"a{i:02d}" for i in a], b=[f"b{i:02d}" for i in b],
                             g1=[f"p{i:02d}" for i in g1], g2=[f"q{i}" for i in g2],
                             g=[f"s{i:02d}" for i in gs]))


@pytest.mark.parametrize("formula", ["y ~ x + (1|a) + (1|b)", "y ~ x + (1|g1/g2)", "y ~ x + (1 + x|g)"])
def test_model_orderings_agree(formula):
    df = simulated(seed=2024)
    auto = hd.Model(formula, df)
    assert auto.objective("REML").factor_kind == "BlockFactor"
    amd = hd.Model(formula, df, ordering="amd")
    assert amd.objective("REML").factor_kind == "Factor"
    fa, fb = auto.fit(), amd.fit()
    assert fa.converged and fb.converged
    np.testing.assert_allclose(fa.deviance, fb.deviance, rtol=1e-10)
    np.testing.assert_allclose(fa.theta, fb.theta, rtol=1e-6)
    assert fa.random_effects.keys() == fb.random_effects.keys()
    for name, re_a in fa.random_effects.items():
        re_b = fb.random_effects[name]
        assert list(re_a.index) == list(re_b.index) and list(re_a.columns) == list(re_b.columns)
        assert any(c.startswith("pev") for c in re_a.columns)
        scale = np.abs(re_b.to_numpy()).max()
        np.testing.assert_allclose(re_a.to_numpy(), re_b.to_numpy(), rtol=1e-5, atol=1e-7 * scale)
    # at the same theta, the objective and the PEVs agree to rounding
    oa, ob = auto.objective("REML"), amd.objective("REML")
    np.testing.assert_allclose(oa(fb.theta), ob(fb.theta), rtol=1e-11)
    np.testing.assert_allclose(oa.diag_inverse(fb.theta), ob.diag_inverse(fb.theta), rtol=1e-9)
