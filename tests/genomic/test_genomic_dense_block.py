"""Single-step REML with the genotyped animals as one trailing dense block of the MME factor (the dense-last
ordering sets every column denser than AMD's threshold aside; the selected inverse of that block is LAPACK's
dpotri): estimates, REML log-likelihood and C^-1 equal the other orderings and the dense oracle."""
import numpy as np
import pytest
from genomic_population import small_population
from test_genomic_oracle import dense_h, dense_reml_loglik

import henderson as hd
from henderson.linalg import ordering, selinv

N, GENOTYPED = 700, 320   # a dense block wider than selinv's 256-column steps: the dpotri path


@pytest.fixture(scope="module")
def case():
    _, ped, geno, data = small_population(n=N, n_generations=4, n_snps=600, genotyped=GENOTYPED, seed=11)
    return ped, geno, data


def _model(case, order):
    ped, geno, data = case
    ss = hd.SingleStep(ped, geno, blend=0.05, qc=False)
    return hd.Model("y ~ hy + (1|id)", data, relationships={"id": ss}, ordering=order), ss


def test_genotyped_animals_form_the_trailing_dense_supernode(case, monkeypatch):
    monkeypatch.setattr(ordering, "AMD_DENSE", 1.0)   # sqrt(n): the genotyped columns (> 320 entries) are dense
    m, _ = _model(case, "dense-last")
    C = m.pattern.values(m.theta({"id": 0.4, "Residual": 0.6}))
    dense = ordering.dense_columns(C)
    assert dense.size > int(ordering.DENSE_FRACTION * C.shape[0])     # beyond the 1% cap
    obj = m.objective("REML")
    f = obj._factor
    f.refactor(C)
    Lp, Li, _ = f.selected_inverse_on_L()
    width = Lp.size - 1 - int(selinv.find_supernodes(Lp, Li)[-2])
    assert width > 256                                                  # dpotri, not the 256-column sweep
    genotyped = m.pattern.p + m.design.terms[0].levels.get_indexer(case[1].index.astype(str))
    assert set(genotyped) <= set(f.perm[-width:])                       # every genotyped animal in that block
    np.testing.assert_allclose(f.selected_inverse().toarray()[C.toarray() != 0],
                               np.linalg.inv(C.toarray())[C.toarray() != 0], rtol=1e-9, atol=1e-13)


def test_reml_with_the_dense_block_equals_other_orderings_and_the_dense_likelihood(case, monkeypatch):
    monkeypatch.setattr(ordering, "AMD_DENSE", 1.0)
    fits = {}
    for order in ("dense-last", "amd", "natural"):
        m, ss = _model(case, order)
        fits[order] = m.fit()
    ref = fits["dense-last"]
    est = ref.variance_components["estimate"].to_numpy()
    for order in ("amd", "natural"):
        r = fits[order]
        assert r.loglik == pytest.approx(ref.loglik, rel=1e-10, abs=0), order
        np.testing.assert_allclose(r.variance_components["estimate"], est, rtol=1e-8)
        np.testing.assert_allclose(r.variance_components["std_error"], ref.variance_components["std_error"], rtol=1e-7)
    ped, geno, data = case
    H, _ = dense_h(ped, geno.index.astype(str), ss.built().G)
    X = np.column_stack([np.ones(len(data)), (data["hy"].to_numpy()[:, None] ==
                                              np.unique(data["hy"])[None, 1:]).astype(float)])
    Z = (data["id"].astype(str).to_numpy()[:, None] == ped.ids[None, :]).astype(float)
    dense = dense_reml_loglik(data["y"].to_numpy(), X, Z, H, {"id": est[0], "Residual": est[1]})
    assert ref.loglik == pytest.approx(dense, rel=1e-10)
