"""Single-step by PCG with the matrix-free H^-1 (APY factors built without G, A22^-1 from the factor of A^11):
its pieces against G, A22 and the dense APY inverse; the operator against the stored H^-1; PCG against the
direct solver and the dense oracle, with and without APY; the stored H^-1 built only when read."""
import numpy as np
import pytest
from genomic_population import small_population
from test_genomic_oracle import dense_h, dense_mme

import henderson as hd
from henderson.errors import DesignError
from henderson.genomic import apy, gcolumns, grm, pedblocks, relationship
from henderson.genomic.inverse import apy_inverse, cholesky_inverse

VAR = {"id": 0.4, "Residual": 0.6}


@pytest.fixture(scope="module")
def population():
    return small_population()


def _genotypes(geno, missing=0.03):
    codes = geno.to_numpy().astype(np.int8)
    keep = codes.min(axis=0) < codes.max(axis=0)
    codes = np.ascontiguousarray(codes[:, keep])
    codes[np.random.default_rng(0).random(codes.shape) < missing] = -1
    return hd.genomic.Genotypes(codes, geno.index.to_numpy().astype(str).astype(object),
                                geno.columns[keep].to_numpy().astype(object))


@pytest.mark.parametrize("method", [1, 2])
def test_g_columns_diagonal_and_sum_equal_g(population, method, monkeypatch):
    g = _genotypes(population[2])
    monkeypatch.setattr(gcolumns, "ROWS", 8)     # several blocks of animals
    p = grm.allele_frequencies(g)
    G = grm.vanraden(g, method, p)
    cols = np.array([30, 2, 17, 5])
    rows = np.random.default_rng(1).permutation(g.n)
    np.testing.assert_allclose(gcolumns.columns(g, cols, p, method, rows=rows), G[np.ix_(rows, cols)],
                               rtol=1e-12, atol=1e-12)
    diag, total = gcolumns.diagonal_and_sum(g, p, method)
    np.testing.assert_allclose(diag, np.diag(G), rtol=1e-12)
    assert total == pytest.approx(G.sum(), rel=1e-10, abs=1e-9)


@pytest.mark.parametrize("blend,tune,ridge", [(0.05, True, 0.0), (0.1, False, 0.01), (0.0, True, 0.0)])
def test_apy_factors_equal_dense_apy_inverse(population, blend, tune, ridge):
    _, ped, geno, _ = population
    ss = hd.SingleStep(ped, geno, blend=blend, tune=tune, ridge=ridge, qc=False, apy_core=10, seed=2)
    m = ss.matrices(ped)
    g, _, blocks, freq = ss.prepared(ped)
    core = ss._core(g)
    f = apy.apy_factors(g, freq, 1, blocks, core, blend, ridge, tune)
    Ginv, logdet = apy_inverse(m.G, core)
    np.testing.assert_allclose(f.dense(), Ginv, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(f.diagonal(), np.diag(Ginv), rtol=1e-10)
    assert f.logdet == pytest.approx(logdet, rel=1e-10)
    if tune:
        np.testing.assert_allclose(f.tuning, m.tuning, rtol=1e-10)


def test_apy_factors_with_every_animal_core_are_the_inverse(population):
    _, ped, geno, _ = population
    ss = hd.SingleStep(ped, geno, blend=0.05, qc=False)
    m = ss.matrices(ped)
    g, _, blocks, freq = ss.prepared(ped)
    f = apy.apy_factors(g, freq, 1, blocks, np.arange(g.n)[::-1], 0.05, 0.0, True)
    Ginv, logdet = cholesky_inverse(m.G)
    np.testing.assert_allclose(f.dense(), Ginv, rtol=1e-9, atol=1e-9)
    assert f.logdet == pytest.approx(logdet, rel=1e-10)


def test_a22_inverse_operator(population):
    _, ped, geno, _ = population
    blocks = pedblocks.pruned_blocks(ped, geno.index.to_numpy().astype(str))
    op = pedblocks.A22Inverse(blocks)
    A22 = pedblocks.a22(blocks)
    X = np.random.default_rng(3).standard_normal((A22.shape[0], 3))
    np.testing.assert_allclose(op.apply(X), np.linalg.solve(A22, X), rtol=1e-9, atol=1e-9)
    assert op.logdet == pytest.approx(np.linalg.slogdet(A22)[1], rel=1e-10)
    assert np.all(op.diagonal_bound() >= np.diag(np.linalg.inv(A22)) - 1e-12)
    diag, total = pedblocks.a22_diagonal_and_sum(blocks)
    np.testing.assert_allclose(diag, np.diag(A22), rtol=1e-12)
    assert total == pytest.approx(A22.sum(), rel=1e-12)


@pytest.mark.parametrize("core", [None, 12])
def test_operator_equals_stored_h_inverse(population, core):
    _, ped, geno, data = population
    ss = hd.SingleStep(ped, geno, blend=0.05, apy_core=core, qc=False)
    rel = hd.Model("y ~ 0 + hy + (1|id)", data, relationships={"id": ss}).relationships["id"]
    assert not rel.stored
    X = np.random.default_rng(4).standard_normal((ped.n, 2))
    H = rel.Kinv.toarray()
    assert rel.stored
    np.testing.assert_allclose(rel.operator.apply(X), H @ X, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(rel.operator.apply(X[:, 0]), H @ X[:, 0], rtol=1e-10, atol=1e-10)
    # the preconditioner's diagonal: diag(H^-1) with diag(A22^-1) replaced by its bound diag(A^22)
    a22 = ss.a22_inverse(ped)
    pos = pedblocks.genotyped_positions(ped, ss.built().genotypes.ids)
    expect = np.diag(H).copy()
    expect[pos] += np.diag(a22.dense()) - a22.diagonal_bound()
    np.testing.assert_allclose(rel.operator.diagonal(), expect, rtol=1e-10)
    assert np.all(expect > 0)


@pytest.mark.parametrize("core", [None, 12])
def test_pcg_equals_direct_and_dense_oracle(population, core):
    _, ped, geno, data = population
    ss = hd.SingleStep(ped, geno, blend=0.05, apy_core=core, qc=False)
    m = hd.Model("y ~ 0 + hy + (1|id)", data, relationships={"id": ss})
    it = m.solve(VAR, solver="pcg", tol=1e-24)
    assert it.converged and not m.relationships["id"].stored      # PCG never built the stored H^-1
    direct = m.solve(VAR)
    u_pcg = it.random_effects["id"]["(Intercept)"].reindex(ped.ids).to_numpy()
    u_dir = direct.random_effects["id"]["(Intercept)"].reindex(ped.ids).to_numpy()
    scale = np.abs(u_dir).max()
    np.testing.assert_allclose(u_pcg, u_dir, rtol=1e-8, atol=1e-8 * scale)
    np.testing.assert_allclose(it.fixed_effects["estimate"], direct.fixed_effects["estimate"], rtol=1e-8)
    Gw = np.linalg.inv(ss.built().Ginv)                               # G_APY (or Gw) itself
    H, _ = dense_h(ped, geno.index.astype(str), Gw)
    u, _, _ = dense_mme(data, ped.ids, H, VAR)
    np.testing.assert_allclose(u_pcg, u, rtol=1e-8, atol=1e-8 * scale)


def test_direct_solver_refuses_blocks_beyond_memory_and_pcg_runs(population, monkeypatch):
    _, ped, geno, data = population
    ss = hd.SingleStep(ped, geno, blend=0.05, apy_core=10, qc=False)
    m = hd.Model("y ~ 0 + hy + (1|id)", data, relationships={"id": ss})
    monkeypatch.setattr(relationship, "available_bytes", lambda: 1000)
    with pytest.raises(DesignError, match=r"35 x 35 blocks.*apy_core=.*solver='pcg'"):
        m.solve(VAR)
    assert m.solve(VAR, solver="pcg", tol=1e-20).converged
    with pytest.raises(DesignError, match="G, A22 and Gw\\^-1 needs dense"):
        hd.Model("y ~ 0 + hy + (1|id)", data, relationships={"id": hd.SingleStep(ped, geno, qc=False)})


def test_snp_effects_after_pcg_equal_those_after_the_direct_solver(population):
    _, ped, geno, data = population
    ss = hd.SingleStep(ped, geno, blend=0.05, apy_core=12, qc=False)
    m = hd.Model("y ~ 0 + hy + (1|id)", data, relationships={"id": ss})
    a_pcg = hd.genomic.snp_effects(m.solve(VAR, solver="pcg", tol=1e-24), ss)   # built() makes Gw here
    a_dir = hd.genomic.snp_effects(m.solve(VAR), ss)
    np.testing.assert_allclose(a_pcg["effect"], a_dir["effect"], rtol=1e-7, atol=1e-9 * a_dir["effect"].abs().max())
