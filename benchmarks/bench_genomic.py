"""Issue 12 benchmark: G and G^-1, single-step GBLUP at known variances (APY), REML of single-step.

    python -m benchmarks.bench_genomic grm --animals 20000 --snps 50000          # full size (lead's rerun)
    python -m benchmarks.bench_genomic ssgblup --animals 1000000 --genotyped 50000 --core 10000 --snps 50000
    python -m benchmarks.bench_genomic reml --animals 200000 --genotyped 10000 --snps 50000

grm: random genotypes (p ~ U(0.05, 0.95), 1% missing), VanRaden 1 by exact single-precision M0 M0' plus
double-precision corrections, blended with I, inverted by LAPACK Cholesky; reports the rate of each step
(GFLOPS: n^2 m for the symmetric product, n^3 for potrf + potri), its ratio to the BLAS floor (those flops
at the rate numpy's matmul reaches in the same run: single precision for the exact float32 product,
double for the inverse) and its precision (G against Z Z' in float64 on a block of rows; max |G G^-1 - I|).
ssgblup / reml: henderson.simulate population, genotypes gene-dropped down the pedigree of the genotyped
animals (the youngest), y ~ hy + (1|id) with hd.SingleStep.
"""
from __future__ import annotations

import argparse
import os
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


def matmul_rate(dtype, size: int = 3000, reps: int = 3) -> tuple[float, float]:
    """GFLOPS numpy's matrix product reaches here (2 size^3 flops, best of ``reps``), per wall second and
    per CPU second of this process (the latter is what a shared machine does not dilute)."""
    rng = np.random.default_rng(0)
    a, b = rng.random((size, size)).astype(dtype), rng.random((size, size)).astype(dtype)
    wall = cpu = np.inf
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        a @ b
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    return 2.0 * size ** 3 / wall / 1e9, 2.0 * size ** 3 / cpu / 1e9


def floor_rates(ph: Phases, label: str) -> dict:
    with ph.phase(f"numpy matmul rate ({label})"):
        rates = {t: matmul_rate(getattr(np, t)) for t in ("float64", "float32")}
    print("  numpy matmul GFLOPS (per wall s, per CPU s): "
          + ", ".join(f"{t} {w:.1f}, {c:.1f}" for t, (w, c) in rates.items()))
    return rates


def dense_g_rows(geno: Genotypes, p: np.ndarray, k: int) -> np.ndarray:
    """Rows 0..k-1 of Z Z' / 2 sum pq from the definition, in float64 (the precision oracle)."""
    Zk = geno.codes[:k].astype(np.float64) - 2.0 * p
    Zk[geno.codes[:k] == -1] = 0.0
    out = np.zeros((k, geno.n))
    for start in range(0, geno.m, 2048):
        Z = geno.codes[:, start:start + 2048].astype(np.float64) - 2.0 * p[start:start + 2048]
        Z[geno.codes[:, start:start + 2048] == -1] = 0.0
        out += Zk[:, start:start + 2048] @ Z.T
    return out / (2.0 * np.sum(p * (1.0 - p)))


def bench_grm(n: int, m: int, seed: int, json_path=None):
    """G and G^-1 timed against the BLAS floor: n^2 m flops for Z Z' at numpy's single-precision matmul
    rate (the float32 product is exact) and n^3 for the inverse at its double-precision rate, the rates
    measured in the same run (before and after; the higher counts)."""
    ph = Phases(f"G and G^-1: {n:,} genotyped x {m:,} SNPs")
    before = floor_rates(ph, "before")
    with ph.phase("simulate genotypes (int8)"):
        geno = random_genotypes(n, m, seed)
    with ph.phase("allele frequencies"):
        p = grm.allele_frequencies(geno)
    t0, c0 = time.perf_counter(), time.process_time()
    with ph.phase("G = ZZ'/2sum(pq) (float32 M0M0')"):
        G = grm.vanraden(geno, 1, p)
    g_s, g_cpu = time.perf_counter() - t0, time.process_time() - c0
    k = min(n, 200)
    with ph.phase(f"precision check of G ({k} rows)"):
        g_err = float(np.abs(G[:k] - dense_g_rows(geno, p, k)).max())
        x = geno.codes[:k].astype(np.float64)
        x[geno.codes[:k] < 0] = 0.0
        exact = bool(np.array_equal(grm.m0m0t(geno.codes[:k]), x @ x.T))
    with ph.phase("blend 0.05 I"):
        G = grm.blend(G, None, 0.05)
    t0, c0 = time.perf_counter(), time.process_time()
    with ph.phase("G^-1 (dpotrf + dpotri)"):
        Ginv, _ = inverse.cholesky_inverse(G)
    inv_s, inv_cpu = time.perf_counter() - t0, time.process_time() - c0
    with ph.phase(f"precision check of G^-1 ({k} rows)"):
        R = G[:k] @ Ginv
        R[np.arange(k), np.arange(k)] -= 1.0
        resid = float(np.abs(R).max())
    after = floor_rates(ph, "after")
    rate = {t: max(before[t][0], after[t][0]) for t in before}          # per wall second
    cpu_rate = {t: max(before[t][1], after[t][1]) for t in before}      # per CPU second
    steps = {"G": _step(float(n) * n * m, g_s, g_cpu, rate["float32"], cpu_rate["float32"],
                        f"M0M0' in float32, exact integers (equal to float64 on {k} animals: {exact}); "
                        f"corrections and result in float64; max |G - G_float64| over {k} rows {g_err:.2e}"),
             "Ginv": _step(float(n) ** 3, inv_s, inv_cpu, rate["float64"], cpu_rate["float64"],
                           f"float64 Cholesky (dpotrf + dpotri); max |G G^-1 - I| over {k} rows {resid:.2e}")}
    for name, st in steps.items():
        print(f"{name}: {st['seconds']:.1f} s ({st['cpu_seconds']:.1f} s CPU), {st['gflops']:.1f} GFLOPS; floor "
              f"{st['floor_seconds']:.1f} s -> {st['ratio_to_floor']:.2f} x floor (per CPU second: "
              f"{st['cpu_ratio_to_floor']:.2f} x); {st['precision']}")
    peak = max(r["peak_mb"] for r in ph.rows)
    print(f"peak memory {peak / 1024:.2f} GiB; load average {os.getloadavg()}")
    ph.dump(json_path, n=n, m=m, matmul_gflops_before=before, matmul_gflops_after=after, floor_rate=rate,
            floor_cpu_rate=cpu_rate,
            steps=steps, exact_float32=exact, g_max_abs_error=g_err, inverse_residual=resid,
            peak_gib=peak / 1024, loadavg_end=os.getloadavg(), threads=_threads())


def _step(flops: float, wall: float, cpu: float, rate: float, cpu_rate: float, precision: str) -> dict:
    """Time, rate and ratio to the floor (flops at numpy's matmul rate) of one step."""
    return {"seconds": wall, "cpu_seconds": cpu, "flops": flops, "gflops": flops / wall / 1e9,
            "floor_seconds": flops / rate / 1e9, "ratio_to_floor": wall * rate * 1e9 / flops,
            "cpu_ratio_to_floor": cpu * cpu_rate * 1e9 / flops, "precision": precision}


def _threads() -> dict:
    """Threads the kernels may use: numba's, and each OpenBLAS loaded (numpy's and scipy's: ssyrk, potrf and
    potri run in scipy's), asked through its get_num_threads export."""
    import ctypes

    import numba
    out = {"cpus": os.cpu_count(), "numba": numba.get_num_threads()}
    with open("/proc/self/maps") as fh:
        libs = sorted({line.split()[-1] for line in fh if "openblas" in line and ".so" in line})
    for path in libs:
        lib = ctypes.CDLL(path)
        for name in ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads", "openblas_get_num_threads"):
            if hasattr(lib, name):
                out[os.path.basename(path)] = getattr(lib, name)()
                break
    return out


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


def _timed(ph: Phases, owner, name: str, label: str):
    """Replace ``owner.name`` by a wrapper that runs it as phase ``label`` (the library's steps, timed
    one by one without changing the library)."""
    func = getattr(owner, name)

    def wrapper(*args, **kwargs):
        with ph.phase(label):
            return func(*args, **kwargs)

    setattr(owner, name, wrapper)


def _time_single_step_steps(ph: Phases) -> None:
    """Time the steps of hd.SingleStep's matrices and H^-1 as separate phases."""
    from henderson.genomic import pedblocks, relationship
    for owner, name, label in ((relationship, "quality_control", "QC"),
                               (pedblocks, "pruned_blocks", "pruned pedigree + its A^-1"),
                               (grm, "vanraden", "G (VanRaden 1)"),
                               (pedblocks, "a22", "A22 (Colleau)"),
                               (grm, "tune", "tune G to A22"),
                               (relationship, "cholesky_inverse", "Gw^-1 (dpotrf + dpotri)"),
                               (relationship, "apy_inverse", "Gw^-1 (APY)"),
                               (pedblocks, "a22_inverse", "A22^-1 (A^11 factor)"),
                               (relationship, "_scattered", "H^-1 assembly (dense block)")):
        _timed(ph, owner, name, label)


def bench_ssgblup(n: int, n_genotyped: int, core: int | None, m: int, seed: int, reml: bool, json_path=None):
    what = "REML" if reml else "known variances"
    ph = Phases(f"single-step ({what}): {n:,} animals, {n_genotyped:,} genotyped x {m:,} SNPs"
                + (f", APY {core:,} core" if core else ""))
    with ph.phase("simulate + gene drop"):
        data, ped, geno, truth = population(n, n_genotyped, m, seed)
    _time_single_step_steps(ph)
    ss = hd.SingleStep(ped, geno, blend=0.05, apy_core=core)
    t0 = time.perf_counter()
    mats = ss.matrices(ped)
    rel = ss.relationship()
    setup = time.perf_counter() - t0
    print(f"QC:\n{mats.qc}\nH^-1: {rel.Kinv.shape[0]:,} rows, {rel.Kinv.nnz:,} nonzeros; genomic setup {setup:.1f} s")
    with ph.phase("model (design + MME pattern)"):
        model = hd.Model("y ~ hy + (1|id)", data, relationships={"id": ss})
        print(f"MME pattern: {model.pattern.pattern.nnz:,} nonzeros")
    var = truth["variances"]
    iterations = []
    if reml:
        with ph.phase("symbolic analysis (ordering, CHOLMOD)"):
            obj = model.objective("REML")
        print(f"MME: {obj.pattern.size:,} columns, {obj.pattern.pattern.nnz:,} nonzeros, factor {obj.factor_kind}",
              flush=True)
        t_fit, c_fit = time.perf_counter(), time.process_time()

        def log(row):
            iterations.append({k: row[k] for k in ("iteration", "step", "loglik", "seconds")})
            print(f"  iteration {row['iteration']} ({row['step']}): {row['seconds']:.1f} s, "
                  f"loglik {row['loglik']:.6f}", flush=True)

        with ph.phase("REML (AI), all iterations + result"):
            r = model.fit(callback=log)
        print(r.variance_components[["group", "estimate", "std_error"]].to_string(index=False))
        print(f"iterations {r.n_iter}, converged {r.converged}; true additive {var['additive']}, "
              f"residual {var['residual']}; numeric factorizations {obj.n_factorizations}; "
              f"REML {time.perf_counter() - t_fit:.1f} s wall, {time.process_time() - c_fit:.1f} s CPU")
    else:
        with ph.phase("solve at known variances"):
            model.solve({"id": var["additive"], "Residual": var["residual"]})
    print(f"total: {ph.total():.1f} s; without the simulation {ph.total() - ph.rows[0]['seconds']:.1f} s")
    extra = {}
    if reml:
        extra = dict(load_average=list(os.getloadavg()), iterations=iterations, n_iter=int(r.n_iter),
                     converged=bool(r.converged),
                     estimates=r.variance_components["estimate"].tolist(), loglik=float(r.loglik),
                     n_factorizations=int(obj.n_factorizations), nnz_L=int(obj.nnz_L),
                     total_without_simulation=ph.total() - ph.rows[0]["seconds"])
    ph.dump(json_path, n=n, genotyped=n_genotyped, core=core, snps=m, **extra)


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
