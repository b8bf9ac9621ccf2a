"""Issue 12 benchmark: G and G^-1, single-step GBLUP at known variances (APY), REML of single-step.

    python -m benchmarks.bench_genomic grm --animals 20000 --snps 50000          # full size (lead's rerun)
    python -m benchmarks.bench_genomic ssgblup --animals 1000000 --genotyped 50000 --core 10000 --snps 50000
    python -m benchmarks.bench_genomic reml --animals 200000 --genotyped 10000 --snps 50000

grm: random genotypes (p ~ U(0.05, 0.95), 1% missing), VanRaden 1 by exact single-precision M0 M0' plus
double-precision corrections, blended with I, inverted by LAPACK Cholesky; reports the rate of each step
(GFLOPS: n^2 m for the symmetric product, n^3 for potrf + potri) and its precision (the float32 product
against a double-precision one on a block of animals; max |G G^-1 - I|).
ssgblup / reml: henderson.simulate population, genotypes gene-dropped down the pedigree of the genotyped
animals (the youngest), y ~ hy + (1|id) with hd.SingleStep.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import henderson as hd
from benchmarks.common import Phases
from henderson.genomic import grm, inverse
from henderson.genomic.genotypes import Genotypes
from henderson.simulate.genotypes import gene_drop


def random_genotypes(n: int, m: int, seed: int, missing: float = 0.01) -> Genotypes:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.95, m).astype(np.float32)
    codes = np.empty((n, m), dtype=np.int8)
    for start in range(0, n, 1000):   # in chunks: no n x m float array
        k = min(1000, n - start)
        block = (rng.random((k, m), dtype=np.float32) < p).astype(np.int8) + (rng.random((k, m), dtype=np.float32) < p)
        block[rng.random((k, m), dtype=np.float32) < missing] = -1
        codes[start:start + k] = block
    ids = np.array([str(i) for i in range(n)], dtype=object)
    return Genotypes(codes, ids, np.array([f"s{j}" for j in range(m)], dtype=object))


def bench_grm(n: int, m: int, seed: int, json_path=None):
    ph = Phases(f"G and G^-1: {n:,} genotyped x {m:,} SNPs")
    with ph.phase("simulate genotypes (int8)"):
        geno = random_genotypes(n, m, seed)
    with ph.phase("allele frequencies"):
        p = grm.allele_frequencies(geno)
    t0 = time.perf_counter()
    with ph.phase("G = ZZ'/2sum(pq) (float32 M0M0')"):
        G = grm.vanraden(geno, 1, p)
    g_s = time.perf_counter() - t0
    with ph.phase("blend 0.05 I"):
        G = grm.blend(G, None, 0.05)
    t0 = time.perf_counter()
    with ph.phase("G^-1 (dpotrf + dpotri)"):
        Ginv, _ = inverse.cholesky_inverse(G)
    inv_s = time.perf_counter() - t0
    k = min(n, 500)
    sub = geno.subset(np.arange(k))
    x = sub.codes.astype(np.float64)
    x[sub.codes < 0] = 0.0
    exact = np.array_equal(grm.m0m0t(sub.codes), x @ x.T)
    resid = np.abs(G[:k] @ Ginv - np.eye(n)[:k]).max()
    print(f"ZZ': {n * n * m / g_s / 1e9:.1f} GFLOPS (n^2 m / time); float32 M0M0' equals double on {k} animals: "
          f"{exact}")
    print(f"G^-1: {n ** 3 / inv_s / 1e9:.1f} GFLOPS (n^3 / time); max |G G^-1 - I| over {k} rows: {resid:.2e}")
    ph.dump(json_path, n=n, m=m, exact_float32=exact, inverse_residual=float(resid))


def population(n: int, n_genotyped: int, m: int, seed: int):
    data, ped_df, truth = hd.simulate(n, n_generations=10, h2=0.3, seed=seed)
    ped = hd.Pedigree.from_frame(ped_df)
    chosen = np.arange(ped.n - n_genotyped, ped.n)           # the youngest animals
    sub = ped.prune(ped.ids[chosen])
    codes = gene_drop(sub.sire, sub.dam, m, np.random.default_rng(seed))
    keep = sub.index.get_indexer(ped.ids[chosen])
    geno = Genotypes(np.ascontiguousarray(codes[keep]), ped.ids[chosen].astype(object),
                     np.array([f"s{j}" for j in range(m)], dtype=object))
    return data, ped, geno, truth


def bench_ssgblup(n: int, n_genotyped: int, core: int | None, m: int, seed: int, reml: bool, json_path=None):
    what = "REML" if reml else "known variances"
    ph = Phases(f"single-step ({what}): {n:,} animals, {n_genotyped:,} genotyped x {m:,} SNPs"
                + (f", APY {core:,} core" if core else ""))
    with ph.phase("simulate + gene drop"):
        data, ped, geno, truth = population(n, n_genotyped, m, seed)
    ss = hd.SingleStep(ped, geno, blend=0.05, apy_core=core)
    with ph.phase("QC, G, A22, tune, Gw^-1"):
        mats = ss.matrices(ped)
    with ph.phase("A22^-1 (A^11 factor) + H^-1"):
        rel = ss.relationship()
    print(f"QC:\n{mats.qc}\nH^-1: {rel.Kinv.shape[0]:,} rows, {rel.Kinv.nnz:,} nonzeros")
    with ph.phase("model (design + MME pattern)"):
        model = hd.Model("y ~ hy + (1|id)", data, relationships={"id": ss})
    var = truth["variances"]
    if reml:
        with ph.phase("REML (AI)"):
            r = model.fit()
        print(r.variance_components[["group", "estimate", "std_error"]].to_string(index=False))
        print(f"iterations {r.n_iter}, converged {r.converged}; true additive {var['additive']}, "
              f"residual {var['residual']}")
    else:
        with ph.phase("solve at known variances"):
            model.solve({"id": var["additive"], "Residual": var["residual"]})
    print(f"total: {ph.total():.1f} s")
    ph.dump(json_path, n=n, genotyped=n_genotyped, core=core, snps=m)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    g = sub.add_parser("grm")
    g.add_argument("--animals", type=int, default=5000)
    g.add_argument("--snps", type=int, default=10000)
    for name, n, ng, core in (("ssgblup", 100_000, 5000, 1000), ("reml", 20_000, 2000, None)):
        s = sub.add_parser(name)
        s.add_argument("--animals", type=int, default=n)
        s.add_argument("--genotyped", type=int, default=ng)
        s.add_argument("--core", type=int, default=core)
        s.add_argument("--snps", type=int, default=5000)
    for s in sub.choices.values():
        s.add_argument("--seed", type=int, default=1)
        s.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    if a.what == "grm":
        bench_grm(a.animals, a.snps, a.seed, a.json)
    else:
        bench_ssgblup(a.animals, a.genotyped, a.core, a.snps, a.seed, a.what == "reml", a.json)


if __name__ == "__main__":
    main()
