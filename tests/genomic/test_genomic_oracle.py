"""Dense oracles: G, A22, A22^-1 and H built from their definitions; MME solved densely at known variances;
the REML log-likelihood by its dense formula; APY with every animal core."""
import numpy as np
import pandas as pd
import pytest
from genomic_population import small_population
from oracles import tabular_a

import henderson as hd
from henderson.genomic import pedblocks

VAR = {"id": 0.4, "Residual": 0.6}


def dense_g(codes, method=1):
    """VanRaden's G from the definition (missing genotypes at their mean: Z = 0)."""
    x = codes.astype(float)
    x[codes < 0] = np.nan
    p = np.nanmean(x, axis=0) / 2
    Z = np.nan_to_num(x - 2 * p)
    if method == 1:
        return Z @ Z.T / (2 * np.sum(p * (1 - p)))
    Z = Z / np.sqrt(2 * p * (1 - p))
    return Z @ Z.T / codes.shape[1]


def dense_h(ped, geno_ids, Gw):
    """H from its definition (Legarra et al. 2009), in pedigree order."""
    A = tabular_a(ped.sire, ped.dam)
    g = ped.index.get_indexer(geno_ids)
    o = np.setdiff1d(np.arange(ped.n), g)
    A22i = np.linalg.inv(A[np.ix_(g, g)])
    A12 = A[np.ix_(o, g)]
    H = np.empty_like(A)
    H[np.ix_(o, o)] = A[np.ix_(o, o)] + A12 @ A22i @ (Gw - A[np.ix_(g, g)]) @ A22i @ A12.T
    H[np.ix_(o, g)] = A12 @ A22i @ Gw
    H[np.ix_(g, o)] = H[np.ix_(o, g)].T
    H[np.ix_(g, g)] = Gw
    return H, A


def dense_mme(data, ids, K, var):
    """(b, u) of y = 1 mu + hy + Z u + e with Var(u) = K var_u, densely."""
    X = pd.get_dummies(data["hy"]).to_numpy(float)
    Z = (data["id"].astype(str).to_numpy()[:, None] == np.asarray(ids)[None, :]).astype(float)
    lam = var["Residual"] / var["id"]
    C = np.block([[X.T @ X, X.T @ Z], [Z.T @ X, Z.T @ Z + lam * np.linalg.inv(K)]])
    rhs = np.concatenate([X.T @ data["y"], Z.T @ data["y"]])
    return np.linalg.solve(C, rhs)[X.shape[1]:], X, Z


def dense_reml_loglik(y, X, Z, K, var):
    V = var["id"] * Z @ K @ Z.T + var["Residual"] * np.eye(len(y))
    Vi = np.linalg.inv(V)
    XtViX = X.T @ Vi @ X
    P = Vi - Vi @ X @ np.linalg.solve(XtViX, X.T @ Vi)
    n, p = X.shape
    return -0.5 * (np.linalg.slogdet(V)[1] + np.linalg.slogdet(XtViX)[1] + y @ P @ y + (n - p) * np.log(2 * np.pi))


def test_g_methods_with_missing_match_definition(population):
    _, _, geno, _ = population
    codes = geno.to_numpy().astype(np.int8)
    codes = codes[:, (codes.min(axis=0) < codes.max(axis=0))]
    geno = geno.iloc[:, : codes.shape[1]]
    rng = np.random.default_rng(0)
    codes[rng.random(codes.shape) < 0.03] = -1
    g = hd.genomic.Genotypes(codes, geno.index.to_numpy().astype(object), geno.columns.to_numpy().astype(object))
    for method in (1, 2):
        np.testing.assert_allclose(hd.genomic.vanraden(g, method), dense_g(codes, method), rtol=1e-12, atol=1e-12)


def test_a22_and_its_inverse_match_tabular_a(population):
    _, ped, geno, _ = population
    ids = geno.index.to_numpy().astype(str)
    blocks = pedblocks.pruned_blocks(ped, ids)
    A = tabular_a(ped.sire, ped.dam)
    g = ped.index.get_indexer(ids)
    A22 = A[np.ix_(g, g)]
    np.testing.assert_allclose(pedblocks.a22(blocks), A22, atol=1e-12)
    A22inv, logdet = pedblocks.a22_inverse(blocks)
    np.testing.assert_allclose(A22inv, np.linalg.inv(A22), atol=1e-9)
    assert logdet == pytest.approx(np.linalg.slogdet(A22)[1], rel=1e-10)


@pytest.mark.parametrize("tune", [False, True])
def test_single_step_h_inverse_gebv_and_reml_match_dense(population, tune):
    _, ped, geno, data = population
    ss = hd.SingleStep(ped, geno, blend=0.05, tune=tune, qc=False)
    m = hd.Model("y ~ 0 + hy + (1|id)", data, relationships={"id": ss})
    rel = m.relationships["id"]
    Gw = ss.matrices(ped).G
    H, A = dense_h(ped, geno.index.astype(str), Gw)
    np.testing.assert_allclose(rel.Kinv.toarray(), np.linalg.inv(H), rtol=1e-9, atol=1e-9)
    assert rel.logdet_K == pytest.approx(np.linalg.slogdet(H)[1], rel=1e-10)
    u, X, Z = dense_mme(data, ped.ids, H, VAR)
    r = m.solve(VAR)
    ebv = r.random_effects["id"]["(Intercept)"].reindex(ped.ids).to_numpy()
    np.testing.assert_allclose(ebv, u, rtol=1e-8, atol=1e-8 * np.abs(u).max())
    assert r.loglik == pytest.approx(dense_reml_loglik(data["y"].to_numpy(), X, Z, H, VAR), rel=1e-10)


def test_gblup_gebv_and_reml_match_dense(population):
    _, ped, geno, data = population
    gb = hd.GBLUP(geno, blend=0.05, pedigree=ped, qc=False)
    ids = geno.index.astype(str)
    sub = data[data["id"].astype(str).isin(ids)]
    m = hd.Model("y ~ 0 + hy + (1|id)", sub, relationships={"id": gb})
    Gw = gb.matrices(ped).G
    A = tabular_a(ped.sire, ped.dam)
    g = ped.index.get_indexer(ids)
    np.testing.assert_allclose(Gw, 0.95 * dense_g(geno.to_numpy()) + 0.05 * A[np.ix_(g, g)], atol=1e-12)
    u, X, Z = dense_mme(sub, ids, Gw, VAR)
    r = m.solve(VAR)
    np.testing.assert_allclose(r.random_effects["id"]["(Intercept)"].reindex(ids).to_numpy(), u,
                               rtol=1e-8, atol=1e-8 * np.abs(u).max())
    assert r.loglik == pytest.approx(dense_reml_loglik(sub["y"].to_numpy(), X, Z, Gw, VAR), rel=1e-10)


def test_apy_with_every_animal_core_is_the_inverse(population):
    _, ped, geno, _ = population
    G = hd.genomic.blend(dense_g(geno.to_numpy()), None, 0.05)
    inv, logdet = hd.genomic.apy_inverse(G, np.arange(G.shape[0]))
    full, logdet_full = hd.genomic.cholesky_inverse(G)
    np.testing.assert_array_equal(inv, full)
    assert logdet == logdet_full
    np.testing.assert_allclose(full @ G, np.eye(G.shape[0]), atol=1e-9)


def test_apy_matches_its_definition(population):
    _, _, geno, _ = population
    G = hd.genomic.blend(dense_g(geno.to_numpy()), None, 0.05)
    core = np.arange(0, G.shape[0], 3)
    non = np.setdiff1d(np.arange(G.shape[0]), core)
    inv, logdet = hd.genomic.apy_inverse(G, core)
    # G_APY = T^-1 D T^-T with T = [I 0; -Gnc Gcc^-1 I], D = blockdiag(Gcc, Mnn)
    o = np.concatenate([core, non])
    Gcc, Gnc = G[np.ix_(core, core)], G[np.ix_(non, core)]
    P = Gnc @ np.linalg.inv(Gcc)
    Mnn = np.diag(np.diag(G)[non] - np.sum(P * Gnc, axis=1))
    Tinv = np.block([[np.eye(core.size), np.zeros((core.size, non.size))], [P, np.eye(non.size)]])
    Gapy = Tinv @ np.block([[Gcc, np.zeros((core.size, non.size))], [np.zeros((non.size, core.size)), Mnn]]) @ Tinv.T
    np.testing.assert_allclose(inv[np.ix_(o, o)], np.linalg.inv(Gapy), rtol=1e-8, atol=1e-8)
    assert logdet == pytest.approx(np.linalg.slogdet(Gapy)[1], rel=1e-10)


def test_reml_fit_with_h_reaches_the_dense_reml_maximum():
    _, ped, geno, data = small_population(n=300, genotyped=60, n_snps=500, seed=7)  # REML interior optimum
    ss = hd.SingleStep(ped, geno, blend=0.05, qc=False)
    r = hd.Model("y ~ 0 + hy + (1|id)", data, relationships={"id": ss}).fit()
    est = r.variance_components.set_index("group")["estimate"]
    H, _ = dense_h(ped, geno.index.astype(str), ss.built().G)
    _, X, Z = dense_mme(data, ped.ids, H, VAR)
    y = data["y"].to_numpy()

    def ll(a, e):
        return dense_reml_loglik(y, X, Z, H, {"id": a, "Residual": e})

    best = ll(est["id"], est["Residual"])
    assert r.loglik == pytest.approx(best, rel=1e-10)
    for da, de in ((1e-4, 0), (-1e-4, 0), (0, 1e-4), (0, -1e-4)):
        assert ll(est["id"] + da, est["Residual"] + de) < best


def test_g_over_many_blocks_and_float32_flushes(population, monkeypatch):
    from henderson.genomic import grm
    monkeypatch.setattr(grm, "BLOCK", 32)
    monkeypatch.setattr(grm, "EXACT_SNPS_FLOAT32", 70)     # flush the float32 sum every few blocks
    _, _, geno, _ = population
    codes = geno.to_numpy().astype(np.int8)
    codes = codes[:, (codes.min(axis=0) < codes.max(axis=0))]
    codes[np.random.default_rng(3).random(codes.shape) < 0.05] = -1
    g = hd.genomic.Genotypes(codes, geno.index.to_numpy().astype(object),
                             np.array([f"s{j}" for j in range(codes.shape[1])], dtype=object))
    np.testing.assert_allclose(hd.genomic.vanraden(g, 1), dense_g(codes, 1), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(hd.genomic.vanraden(g, 2), dense_g(codes, 2), rtol=1e-12, atol=1e-12)


def test_blocked_symmetric_helper():
    from henderson.genomic import grm
    A = np.random.default_rng(4).normal(size=(11, 11))
    np.testing.assert_array_equal(grm.symmetrize_lower(A.copy(), block=4), np.tril(A) + np.tril(A, -1).T)


def test_reliabilities_use_the_diagonal_of_h(population):
    _, ped, geno, data = population
    ss = hd.SingleStep(ped, geno, blend=0.05, qc=False)
    r = hd.Model("y ~ 0 + hy + (1|id)", data, relationships={"id": ss}).solve(VAR)
    H, _ = dense_h(ped, geno.index.astype(str), ss.built().G)
    np.testing.assert_allclose(hd.genomic.h_diagonal(ss).reindex(ped.ids).to_numpy(), np.diag(H), rtol=1e-10)
    rel = hd.genomic.reliabilities(r, ss)
    re = r.random_effects["id"]
    np.testing.assert_allclose(rel["reliability"].reindex(ped.ids),
                               1 - re["pev"].reindex(ped.ids) / (VAR["id"] * np.diag(H)), rtol=1e-10)
