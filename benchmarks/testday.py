"""Random regression test-day model: cows x test days, Legendre order 2 genetic and permanent environment.

    y = htd + C(parity):leg(dim, 2) + phi(dim)' a_id + phi(dim)' p_id + e,   a ~ N(0, K_g (x) A), p ~ N(0, K_p (x) I)

The issue's size is 20,000 cows x 10 test days (200,000 records):

    OPENBLAS_NUM_THREADS=1 python -m benchmarks.testday --cows 20000
    python -m benchmarks.testday --cows 2000            # the reduced size measured on a shared machine

Prints the REML fit's iterations, seconds per iteration, total seconds and the estimated K_g, K_p, sigma2.
"""
from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from henderson.formula.legendre import legendre_matrix, standardize

K_G = np.array([[3.0, 0.4, -0.3], [0.4, 0.6, 0.05], [-0.3, 0.05, 0.3]])
K_P = np.array([[4.0, 0.3, -0.2], [0.3, 0.8, 0.1], [-0.2, 0.1, 0.4]])
SIGMA2 = 2.0
DIM_CLASSES = (5, 45, 105, 205, 306)        # residual classes of days in milk: [5, 45), [45, 105), ...
SIGMA2_CLASS = np.array([3.0, 2.0, 1.6, 2.2])  # residual variance per class (--het; the model)
FORMULA = "y ~ htd + C(parity):leg(dim, 2) + (leg(dim, 2) | id) + (leg(dim, 2) | pe)"


def simulate_testday(n_cows: int, n_tests: int = 10, seed: int = 1,
                     heterogeneous: bool = False, dams_in_herd: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(records, pedigree): n_cows daughters of n_cows/50 sires and n_cows/2 unrecorded dams (base
    animals), n_tests test days each at random days in milk 5..305, herd-test-days of about 20 records.
    The residual variance is SIGMA2, or SIGMA2_CLASS by class of days in milk (column ``dimclass``)
    when ``heterogeneous``. Dams are drawn from all dams, or with ``dams_in_herd`` from the 10 dams of
    the daughter's herd (as in dairy data, where a cow's dam is a herdmate and sires are AI bulls used
    across herds; without it every dam links two random herds and the MME's filled graph has no small
    separators)."""
    rng = np.random.default_rng(seed)
    n_sires, n_dams = max(n_cows // 50, 2), max(n_cows // 2, 2)
    n_herds = max(n_cows // 20, 2)
    Lg, Lp = np.linalg.cholesky(K_G), np.linalg.cholesky(K_P)
    a_par = rng.normal(size=(n_sires + n_dams, 3)) @ Lg.T
    sire = rng.integers(0, n_sires, n_cows)
    dam = n_sires + rng.integers(0, n_dams, n_cows)
    if dams_in_herd:
        local = np.random.default_rng([seed, 1])
        herd_of = local.integers(0, n_herds, n_cows)
        per_herd = max(n_dams // n_herds, 1)
        dam = n_sires + np.minimum(herd_of * per_herd + local.integers(0, per_herd, n_cows), n_dams - 1)
    a_cow = 0.5 * (a_par[sire] + a_par[dam]) + np.sqrt(0.5) * rng.normal(size=(n_cows, 3)) @ Lg.T
    p_cow = rng.normal(size=(n_cows, 3)) @ Lp.T
    cow = np.repeat(np.arange(n_cows), n_tests)
    dim = rng.integers(5, 306, n_cows * n_tests)
    herd = rng.integers(0, n_herds, n_cows)
    herd = (herd_of if dams_in_herd else herd)[cow]
    htd = herd * 20 + dim // 15
    parity = rng.integers(1, 4, n_cows)[cow]
    phi = legendre_matrix(standardize(dim, 5, 305), 2)
    curve = np.array([[20.0, 2.0, -1.0], [25.0, 1.0, -1.5], [27.0, 0.5, -2.0]])[parity - 1]
    dimclass = np.searchsorted(DIM_CLASSES, dim, side="right") - 1
    sd = np.sqrt(SIGMA2_CLASS[dimclass] if heterogeneous else SIGMA2)
    y = (np.einsum("ij,ij->i", phi, curve + a_cow[cow] + p_cow[cow]) + rng.normal(0, 0.3, htd.max() + 1)[htd]
         + rng.normal(0, 1.0, len(cow)) * sd)
    ids = np.array([f"s{i}" for i in range(n_sires)] + [f"d{i}" for i in range(n_dams)]
                   + [f"c{i}" for i in range(n_cows)])
    data = pd.DataFrame({"y": y, "id": ids[n_sires + n_dams + cow], "htd": htd.astype(str), "dim": dim,
                         "parity": parity, "dimclass": [f"dim{DIM_CLASSES[c]}" for c in dimclass]})
    data["pe"] = data["id"]
    ped = pd.DataFrame({"id": ids, "sire": [None] * (n_sires + n_dams) + list(ids[sire]),
                        "dam": [None] * (n_sires + n_dams) + list(ids[dam])})
    return data, ped


# where an iteration's time goes: (label, file suffix, function); cumulative times, none nested in another
BREAKDOWN = (("numeric factorization", "linalg/cholmod.py", "refactor"),
             ("selected inverse", "linalg/cholmod.py", "selected_inverse"),
             ("solves (BLUPs, AI right-hand sides)", "linalg/cholmod.py", "solve"),
             ("MME assembly (values of C)", "henderson/mme.py", "coefficients"),
             ("structured residual traces", "henderson/reml/derivatives.py", "residual_hat_blocks"))


def breakdown(stats, total: float) -> dict:
    """Seconds per BREAKDOWN label from cProfile ``stats`` (pstats.Stats), the rest as "other (derivative
    assembly, step control)"; residual_hat_blocks' selected inverse is counted under selected inverse."""
    cum = {label: 0.0 for label, _, _ in BREAKDOWN}
    for (file, _, func), (_, _, _, ct, _) in stats.stats.items():
        for label, suffix, name in BREAKDOWN:
            if func == name and file.endswith(suffix):
                cum[label] += ct
    inner = 0.0
    for (_, _, func), (_, _, _, _, callers) in stats.stats.items():
        if func == "trace_inverse":
            inner += sum(v[3] for c, v in callers.items() if c[2] == "residual_hat_blocks")
    cum["structured residual traces"] = max(cum["structured residual traces"] - inner, 0.0)
    cum["other (derivative assembly, step control)"] = total - sum(cum.values())
    return cum


def _residual_by_class(r) -> dict:
    """Residual variance per DIM class: sigma2 times the squared varIdent SD ratio (1 for the reference)."""
    vc = r.variance_components
    ratios = {row.term2: row.estimate for row in vc.itertuples() if row.term1 == "varIdent"}
    return {f"dim{c}": r.sigma2 * ratios.get(f"dim{c}", 1.0) ** 2 for c in DIM_CLASSES[:-1]}


def main(argv=None) -> None:
    import cProfile
    import os
    import pstats

    import henderson as hd

    from .common import Phases
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cows", type=int, default=2000)
    ap.add_argument("--tests", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--homogeneous", action="store_true", help="one residual variance (default: by DIM class)")
    ap.add_argument("--random-dams", action="store_true",
                    help="dams drawn from all herds (default: herdmates; see simulate_testday)")
    ap.add_argument("--profile", action="store_true", help="time the fit's parts with cProfile")
    ap.add_argument("--json", help="write the figures here (e.g. benchmarks/results/testday_20k.json)")
    args = ap.parse_args(argv)
    het = not args.homogeneous
    ph = Phases(f"test-day random regression, {args.cows} cows x {args.tests} test days")
    with ph.phase("simulate"):
        data, ped = simulate_testday(args.cows, args.tests, args.seed, heterogeneous=het,
                                     dams_in_herd=not args.random_dams)
    with ph.phase("pedigree (A^-1)"):
        P = hd.Pedigree.from_frame(ped)
    with ph.phase("model (design, MME pattern, ordering)"):
        m = hd.Model(FORMULA, data, relationships={"id": P},
                     variance="varIdent(~ 1 | dimclass)" if het else None)
        obj = m.objective("REML")
    prof = cProfile.Profile() if args.profile else None
    with ph.phase("REML (AI)"):
        if prof is not None:
            prof.enable()
        r = m.fit()
        if prof is not None:
            prof.disable()
    fit_s = ph.rows[-1]["seconds"]
    it = r.iterations
    per_iter = it["seconds"].to_numpy()
    print(f"{len(data)} records; MME {m.pattern.size} equations, nnz(L) {obj.nnz_L:,}; "
          f"{r.n_iter} iterations ({', '.join(it['step'])}); {fit_s / r.n_iter:.2f} s per iteration "
          f"(median {np.median(per_iter):.2f}); converged {r.converged}; AIREMLF90: 5-15 rounds")
    parts = breakdown(pstats.Stats(prof), fit_s) if prof is not None else {}
    for label, sec in parts.items():
        print(f"  {label:<42} {sec:8.2f} s  {sec / r.n_iter:6.2f} s/iteration")
    est = {"K_g": r.covariance("id").to_numpy().round(4).tolist(),
           "K_p": r.covariance("pe").to_numpy().round(4).tolist(),
           "residual": _residual_by_class(r) if het else r.sigma2}
    true = {"K_g": K_G.tolist(), "K_p": K_P.tolist(),
            "residual": dict(zip([f"dim{c}" for c in DIM_CLASSES[:-1]], SIGMA2_CLASS.tolist())) if het else SIGMA2}
    print("K_g\n", r.covariance("id").round(3), "\nK_p\n", r.covariance("pe").round(3))
    print("residual", {k: round(v, 3) for k, v in est["residual"].items()} if het else round(est["residual"], 3),
          "simulated", true["residual"])
    ph.dump(args.json, cows=args.cows, tests=args.tests, records=len(data), mme=int(m.pattern.size),
            nnz_L=int(obj.nnz_L), iterations=int(r.n_iter), steps=list(it["step"]), converged=bool(r.converged),
            seconds_per_iteration=fit_s / r.n_iter, iteration_seconds=per_iter.round(3).tolist(),
            fit_breakdown_seconds=parts, estimates=est, simulated=true, dams_in_herd=not args.random_dams,
            heterogeneous_residual=het, load_average=os.getloadavg(), aireml_f90_rounds="5-15")


if __name__ == "__main__":
    main()
