"""Issue 4 benchmark: AI-REML animal model on simulated dairy populations, per phase.

    python -m benchmarks.bench_animal [--sizes 10000 100000 1000000] [--json out.json]

Population (henderson.simulate): herds, 10 overlapping generations, AI sires used
across herds, dams within herd, 10% unknown dams, records on 90% of animals,
herd-year effects, h2 = 0.3. Model: y ~ hy + (1|id) with A^-1 from the pedigree,
herd-year as a fixed factor. Phases: pedigree sort and checks, inbreeding, A^-1,
MME pattern (formula -> design -> pattern), symbolic analysis, the REML iterations
(per-iteration time and numeric factorizations per iteration), total; and the
estimates next to the simulated values.
"""
from __future__ import annotations

import argparse
import time

import henderson as hd
from benchmarks.common import Phases


def run(n: int, seed: int = 1, json_path: str | None = None, ordering: str = "auto") -> dict:
    data, pedigree, truth = hd.simulate(n, n_generations=10, h2=0.3, seed=seed)
    ph = Phases(f"animal model, {n:,} animals ({len(data):,} records)")
    with ph.phase("pedigree: read, check, sort"):
        ped = hd.Pedigree.from_frame(pedigree, id="id", sire="sire", dam="dam")
    with ph.phase("inbreeding"):
        F = ped.inbreeding
    with ph.phase("A^-1 and log|A|"):
        ped.ainverse()
        ped.logdet_a()
    with ph.phase("design + MME pattern"):
        m = hd.Model("y ~ hy + (1|id)", data, relationships={"id": ped}, ordering=ordering)
        _ = m.pattern  # built on first use
    with ph.phase("symbolic analysis"):
        obj = m.objective("REML")
    f0 = obj.n_factorizations
    t0 = time.perf_counter()
    with ph.phase("REML iterations (AI)"):
        r = m.fit(method="REML", algorithm="ai")
    fit_s = time.perf_counter() - t0
    nfact = obj.n_factorizations - f0
    ph_total = ph.total()
    est = r.variance_components.set_index("group")
    var = truth["variances"]
    h2_hat = est.loc["id", "estimate"] / (est.loc["id", "estimate"] + est.loc["Residual", "estimate"])
    print(f"iterations: {r.n_iter} ({nfact} numeric factorizations, {nfact / max(r.n_iter, 1):.1f} per iteration; "
          f"{fit_s / max(r.n_iter, 1):.2f} s per iteration incl. final tables); converged: {r.converged}")
    print(f"sigma2_a: {est.loc['id', 'estimate']:.4f} (se {est.loc['id', 'std_error']:.4f}, true {var['additive']}); "
          f"sigma2_e: {est.loc['Residual', 'estimate']:.4f} (se {est.loc['Residual', 'std_error']:.4f}, "
          f"true {var['residual']}); "
          f"h2 {h2_hat:.3f} (true {var['additive'] / (var['additive'] + var['residual']):.3f})")
    print(f"C: {obj.pattern.size:,} rows; L: {obj.nnz_L:,} nonzeros; mean F {float(F.mean()):.4f}")
    print(f"total: {ph_total:.1f} s")
    ph.dump(json_path, n_animals=n, n_records=len(data), n_iter=r.n_iter, factorizations=nfact,
            converged=r.converged, estimates=dict(additive=float(est.loc["id", "estimate"]),
                                                  residual=float(est.loc["Residual", "estimate"])),
            truth=dict(additive=var["additive"], residual=var["residual"]))
    return dict(n=n, total=ph_total)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ordering", default="auto", choices=["auto", "dense-last", "amd", "metis", "best"],
                    help="CHOLMOD fill-reducing ordering")
    ap.add_argument("--json", default=None, help="write the phase table of the last size here")
    a = ap.parse_args(argv)
    for n in a.sizes:
        run(n, a.seed, a.json, a.ordering)
        print()


if __name__ == "__main__":
    main()
