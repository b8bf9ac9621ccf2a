"""Issue 11 benchmark: multi-trait AI-REML animal models, per phase and per iteration.

    python -m benchmarks.bench_multitrait --case bivariate [--animals 100000] [--json out.json]
    python -m benchmarks.bench_multitrait --case five [--animals 50000]

Data (benchmarks/simulate_multitrait.py): henderson.simulate's dairy-like pedigree (10 generations,
10% unknown dams), one record row per animal, y_k = mu_k + hy_k + a_k + e_k (+ sex on trait 1),
Var(a) = G0 (x) A, rows' residual covariance R0.
  bivariate: 100,000 animals, 20% of trait 2 missing at random (issue target: REML under 60 s);
  five:      five traits, 50,000 animals, trait k missing with probability 0, .1, .2, .3, .4
             independently (up to 16 patterns; issue target: under 10 minutes).
Model {"y1": "y1 ~ sex + hy + (1|id)", "yk": "yk ~ hy + (1|id)"}, A^-1 from the pedigree, REML by AI
from henderson's default start values. Phases: pedigree (read, check, sort, A^-1), design + MME
pattern, symbolic analysis, the REML iterations (each one's seconds and kind), total. Then, at the
estimates, the cost of the pieces of one iteration (median of --repeat runs): one numeric
factorization of C, the selected inverse, the score and AI matrix, a whole AI iteration, in numeric
factorizations; and the estimates next to the simulated G0, R0 (and the correlation of EBVs with the
true breeding values). AIREMLF90 reports 5-15 rounds for such models (Misztal et al., BLUPF90 manual).
"""
from __future__ import annotations

import argparse
import os

import numpy as np

import henderson as hd
from benchmarks.common import Phases, median_seconds
from benchmarks.simulate_multitrait import correlated, formulas, simulate_multitrait
from henderson.reml.derivatives import derivatives

H2_FIVE = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
CASES = {
    "bivariate": dict(animals=100_000, G0=[[0.3, 0.2], [0.2, 0.8]], R0=[[0.7, 0.3], [0.3, 1.2]], missing=[0.0, 0.2]),
    "five": dict(animals=50_000, G0=correlated(np.sqrt(H2_FIVE), 0.5), R0=correlated(np.sqrt(1 - H2_FIVE), 0.3),
                 missing=[0.0, 0.1, 0.2, 0.3, 0.4]),
}



def iteration_cost(m, theta, repeat: int) -> dict:
    """Seconds of one numeric factorization of C at ``theta``, of the selected inverse, of the score and
    AI matrix (traces and working-variate solves), and of a whole iteration (factorization, MME solve,
    score and AI); the last three also in factorizations."""
    obj = m.objective("REML")
    C = m.pattern.values(theta)
    obj.at(theta)
    f = obj._factor                      # the raw factor: times the numeric refactorization alone
    refactor = median_seconds(lambda: f.refactor(C), repeat)
    selinv = median_seconds(lambda: (f.refactor(C), f.selected_inverse()), repeat) - refactor
    state = obj.at(theta)

    def iteration():
        obj._theta = None                # force the numeric factorization, as a new theta would
        derivatives(obj, obj.at(theta))
    whole = median_seconds(iteration, repeat)
    deriv = median_seconds(lambda: (f.refactor(C), derivatives(obj, state)), repeat) - refactor
    return dict(factor=type(f).__name__, nnz_L=int(f.nnz_L), size_C=int(C.shape[0]), refactor=refactor,
                selinv=selinv, score_and_ai=deriv, iteration=whole, iteration_in_factorizations=whole / refactor,
                selinv_in_factorizations=selinv / refactor, score_ai_in_factorizations=deriv / refactor)


def estimates(r, truth, traits) -> dict:
    """Estimated and simulated G0, R0, heritabilities and correlations, and corr(EBV, true BV) per trait."""
    G = r.covariance("id").loc[traits, traits].to_numpy()
    R = r.covariance("Residual").loc[traits, traits].to_numpy()
    G0, R0 = truth["G0"], truth["R0"]

    def h2(G, R):
        return np.diag(G) / (np.diag(G) + np.diag(R))

    def cor(S):
        d = np.sqrt(np.diag(S))
        return S / np.outer(d, d)
    re = r.random_effects["id"]
    tbv = truth["breeding_values"]
    acc = [float(np.corrcoef(re[t].reindex(tbv.index), tbv[t])[0, 1]) for t in traits]
    return dict(G=G.tolist(), G_true=G0.tolist(), R=R.tolist(), R_true=R0.tolist(), h2=h2(G, R).tolist(),
                h2_true=h2(G0, R0).tolist(), rg=cor(G).tolist(), rg_true=cor(G0).tolist(), re=cor(R).tolist(),
                re_true=cor(R0).tolist(), corr_ebv_tbv=acc)


def run(case: str, n: int, seed: int = 1, json_path: str | None = None, repeat: int = 3) -> dict:
    spec = CASES[case]
    data, pedigree, truth = simulate_multitrait(n, spec["G0"], spec["R0"], spec["missing"], seed=seed)
    traits = [f"y{k + 1}" for k in range(len(spec["G0"]))]
    observed = {t: int(data[t].notna().sum()) for t in traits}
    load0 = os.getloadavg()
    ph = Phases(f"multi-trait animal model ({case}): {len(traits)} traits, {n:,} animals, {len(data):,} record "
                f"rows, {sum(observed.values()):,} records, {truth['n_patterns']} missing patterns")
    with ph.phase("pedigree: read, check, sort, A^-1"):
        ped = hd.Pedigree.from_frame(pedigree, id="id", sire="sire", dam="dam")
        ped.ainverse()
        ped.logdet_a()
    with ph.phase("design + MME pattern"):
        m = hd.Model(formulas(len(traits)), data, relationships={"id": ped})
        _ = m.pattern
    with ph.phase("symbolic analysis"):
        obj = m.objective("REML")
    f0 = obj.n_factorizations
    rows = []
    with ph.phase("REML iterations (AI)"):
        r = m.fit(method="REML", algorithm="ai", callback=lambda row: rows.append(
            {"iteration": row["iteration"], "step": row["step"], "seconds": row["seconds"], "loglik": row["loglik"]}))
    nfact = obj.n_factorizations - f0
    for row in rows:
        print(f"  iteration {row['iteration']:>2} {row['step']:<12} {row['seconds']:8.2f} s  "
              f"loglik {row['loglik']:.4f}")
    total = ph.total()
    with ph.phase("cost of one iteration (timed apart)"):
        cost = iteration_cost(m, r.theta, repeat)
    est = estimates(r, truth, traits)
    fit_s = ph.rows[3]["seconds"]
    print(f"iterations: {r.n_iter} ({nfact} numeric factorizations, {nfact / max(r.n_iter, 1):.2f} per iteration; "
          f"{fit_s / max(r.n_iter, 1):.2f} s per iteration incl. start values and final tables); "
          f"converged: {r.converged}; AIREMLF90: 5-15 rounds")
    print(f"one numeric factorization of C ({cost['size_C']:,} equations, L {cost['nnz_L']:,} nonzeros, "
          f"{cost['factor']}): {cost['refactor']:.2f} s; selected inverse {cost['selinv_in_factorizations']:.2f}, "
          f"score+AI {cost['score_ai_in_factorizations']:.2f}, whole AI iteration "
          f"{cost['iteration_in_factorizations']:.2f} factorizations ({cost['iteration']:.2f} s)")
    with np.printoptions(precision=3, suppress=True):
        for key in ("G", "R", "h2", "rg", "re"):
            print(f"{key}: estimate\n{np.array(est[key])}\n   simulated\n{np.array(est[key + '_true'])}")
    print(f"corr(EBV, TBV): {np.round(est['corr_ebv_tbv'], 3).tolist()}")
    print(f"total (pedigree to estimates): {total:.1f} s; load average before {load0}, after {os.getloadavg()}")
    ph.dump(json_path, case=case, n_animals=n, n_record_rows=len(data), records_per_trait=observed,
            n_patterns=truth["n_patterns"], n_iter=r.n_iter, factorizations=nfact, converged=bool(r.converged),
            iterations=rows, total_seconds=total, iteration_cost=cost, estimates=est,
            load_average_before=load0, load_average_after=os.getloadavg(), seed=seed,
            airemlf90_published_rounds="5-15")
    return dict(case=case, n=n, total=total)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=list(CASES), default="bivariate")
    ap.add_argument("--animals", type=int, default=None, help="default: the issue's size for the case")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each piece of the iteration cost (median)")
    ap.add_argument("--json", default=None, help="write the phases, iterations and estimates here")
    a = ap.parse_args(argv)
    run(a.case, a.animals or CASES[a.case]["animals"], a.seed, a.json, a.repeat)


if __name__ == "__main__":
    main()
