"""Issue 12 benchmark: single-step GBLUP at known variances by PCG with APY, no dense genotyped block.

    python -m benchmarks.bench_ssgblup_pcg --animals 1000000 --genotyped 50000 --core 10000 --snps 50000 \
        --json benchmarks/results/ssgblup_pcg_1M.json

Population: henderson.simulate (10 generations, one record per animal for 45% of them, y ~ hy + (1|id)),
the youngest ``--genotyped`` animals genotyped, their genotypes gene-dropped down their pruned pedigree
(founder allele frequencies U(0.05, 0.95), unlinked SNPs, ``--missing`` calls set missing at random;
the SNPs are dropped independently of the simulated breeding values: a timing benchmark, not of accuracy).
Phases (seconds, CPU seconds, peak MiB of the process): pedigree (Pedigree.from_frame), genotypes (QC,
allele frequencies, pruned A^-1), APY factors (G columns of the core from the genotypes, A22 columns by
Colleau, Gcc^-1, P = Gnc Gcc^-1), A22^-1 (sparse factor of A^11), design (the Model), PCG; the simulation
is not counted in the total.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

import henderson as hd
from benchmarks.common import Phases
from henderson.genomic.genotypes import Genotypes

CHUNK = 8192   # SNPs dropped at a time


def gene_drop_packed(ped, chosen: np.ndarray, m: int, rng, missing: float = 0.0) -> np.ndarray:
    """int8 genotypes (0/1/2, -1 missing) of the animals at positions ``chosen`` of ``ped`` (which holds
    them and all their ancestors), dropped generation by generation on bit-packed haplotypes, ``CHUNK``
    SNPs at a time (memory: two n x CHUNK/8 bytes plus the result)."""
    groups = [np.flatnonzero(ped.generation == k) for k in np.unique(ped.generation)]
    out = np.empty((chosen.size, m), dtype=np.int8)
    for s0 in range(0, m, CHUNK):
        k = min(CHUNK, m - s0)
        nb = (k + 7) // 8
        p = rng.uniform(0.05, 0.95, k).astype(np.float32)
        pat, mat = np.empty((ped.n, nb), np.uint8), np.empty((ped.n, nb), np.uint8)
        for idx in groups:
            for hap, parent in ((pat, ped.sire), (mat, ped.dam)):
                par = parent[idx]
                known = par >= 0
                f = idx[~known]
                for f0 in range(0, f.size, 20000):
                    ff = f[f0:f0 + 20000]
                    hap[ff] = np.packbits(rng.random((ff.size, k), dtype=np.float32) < p, axis=1)
                kids, pp = idx[known], par[known]
                mask = rng.integers(0, 256, (kids.size, nb), dtype=np.uint8)
                hap[kids] = (pat[pp] & mask) | (mat[pp] & ~mask)
        block = (np.unpackbits(pat[chosen], axis=1, count=k) + np.unpackbits(mat[chosen], axis=1, count=k))
        block = block.view(np.int8)
        if missing:
            block[rng.random(block.shape, dtype=np.float32) < missing] = -1
        out[:, s0:s0 + k] = block
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--animals", type=int, default=100_000)
    ap.add_argument("--genotyped", type=int, default=5000)
    ap.add_argument("--core", type=int, default=1000)
    ap.add_argument("--snps", type=int, default=10_000)
    ap.add_argument("--missing", type=float, default=0.0)
    ap.add_argument("--tol", type=float, default=1e-12)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    print(f"load average at start: {os.getloadavg()}")
    ph = Phases(f"single-step BLUP by PCG: {a.animals:,} animals, {a.genotyped:,} genotyped x {a.snps:,} SNPs "
                f"({a.missing:.2%} missing), APY {a.core:,} core")
    with ph.phase("simulate + gene drop (not timed)"):
        data, ped_df, truth = hd.simulate(a.animals, n_generations=10, h2=0.3, seed=a.seed)
        sim_ped = hd.Pedigree.from_frame(ped_df)
        young = sim_ped.ids[sim_ped.n - a.genotyped:]
        sub = sim_ped.prune(young)
        codes = gene_drop_packed(sub, sub.index.get_indexer(young), a.snps, np.random.default_rng(a.seed),
                                 a.missing)
        geno = Genotypes(codes, young.astype(object), np.array([f"s{j}" for j in range(a.snps)], dtype=object))
        del sim_ped, sub
    with ph.phase("pedigree (Pedigree.from_frame)"):
        ped = hd.Pedigree.from_frame(ped_df)
    ss = hd.SingleStep(ped, geno, blend=0.05, apy_core=a.core)
    with ph.phase("genotypes: QC, freq, pruned A^-1"):
        g_qc, report, blocks, _ = ss.prepared(ped)
    with ph.phase("APY factors (G, A22 core columns)"):
        ginv, _ = ss.g_inverse(ped)
    with ph.phase("A22^-1 setup (factor of A^11)"):
        a22 = ss.a22_inverse(ped)
    with ph.phase("design (Model)"):
        model = hd.Model("y ~ hy + (1|id)", data, relationships={"id": ss})
    var = truth["variances"]
    with ph.phase("PCG"):
        r = model.solve({"id": var["additive"], "Residual": var["residual"]}, solver="pcg", tol=a.tol,
                        progress_every=100)
    total = ph.total() - ph.rows[0]["seconds"]
    per_round = r.seconds / max(r.n_iter, 1)
    stored = model.relationships["id"].stored
    print(f"QC:\n{report}")
    print(f"pruned pedigree {blocks.ped.n:,} animals ({blocks.other.size:,} not genotyped); factor of A^11 "
          f"{a22.factor.nnz_L:,} nonzeros; P {ginv.P.shape} ({ginv.P.nbytes / 2**30:.2f} GiB)")
    print(f"PCG: {r.n_iter} rounds, converged {r.converged}, {r.seconds:.1f} s ({per_round * 1000:.0f} ms/round); "
          f"stored H^-1 built: {stored}")
    print(f"total (without the simulation): {total:.1f} s; load average at end: {os.getloadavg()}")
    ph.dump(a.json, animals=a.animals, genotyped=a.genotyped, core=a.core, snps=a.snps, missing=a.missing,
            snps_after_qc=int(g_qc.m), genotyped_after_qc=int(g_qc.n), pruned=int(blocks.ped.n),
            pcg_rounds=int(r.n_iter), pcg_seconds=float(r.seconds), converged=bool(r.converged), tol=a.tol,
            total_seconds=float(total), stored_hinv_built=bool(stored),
            loadavg_end=os.getloadavg(), when=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))


if __name__ == "__main__":
    main()
