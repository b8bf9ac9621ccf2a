"""Issue 13 benchmark: what deflation does to the MME of Monte Carlo REML (henderson.linalg.deflation).

    python -m benchmarks.bench_deflation [--sizes 1000000] [--probes 30] [--json out.json]

Population as bench_animal, model y ~ hy + (1|id), the equations of MC-REML (henderson.fitted.mc_problem)
at given variances (--variances, default the REML estimate at 1M: 0.30, 0.55). Plain and deflated, with
the diagonal preconditioner: the rounds of the MME solve to 1e-12 from zero and its smallest Ritz value
(an estimate of lambda_min(M^-1 C), from above); then the probes' quadratic forms b'C^-1 b from zero,
stopped once the Gauss-Radau bound of their error (lambda_min 0.9 x that Ritz value, as MC-REML takes it)
is below 1 and 0.05 Monte Carlo SEs of the trace: rounds, the bound and the true error (against the forms
solved to 1e-16), both in Monte Carlo SEs.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

import henderson as hd
from henderson.fitted.mc_problem import MCProblem
from henderson.fitted.montecarlo import RITZ_SAFETY, probe_rhs, rademacher
from henderson.linalg.block_pcg import mme_matmat, pcg_block
from henderson.linalg.deflation import Deflation
from henderson.mme import centre_value


def run(n, probes=30, variances=(0.30, 0.55), seed=1, json_path=None):
    data, pedigree, _ = hd.simulate(n, n_generations=10, h2=0.3, seed=seed)
    m = hd.Model("y ~ hy + (1|id)", data,
                 relationships={"id": hd.Pedigree.from_frame(pedigree, id="id", sire="sire", dam="dam")})
    params = m.vm.at(m.theta({"id": variances[0], "Residual": variances[1]}))
    problem = MCProblem(m, m.design.y - centre_value(m.design.y), params)
    op = problem.operator(params)
    dinv = op.preconditioner()(np.ones(op.size))
    B, _ = probe_rhs(op, problem.probes(rademacher(op.terms[0].m, probes, seed)))
    rhs = op.rhs(problem.yc)[:, None]

    def plain(V, out):
        return mme_matmat(op, V, out)

    defl = Deflation(plain, problem.subspace)
    out = dict(n_animals=n, n_records=len(data), probes=probes, variances=list(variances), size=op.size,
               deflation_groups=defl.k)
    for name, matmat, project, exact in (("plain", plain, lambda X: X, lambda X: 0.0),
                                         ("deflated", defl.matmat, defl.project, defl.exact_part)):
        t = time.perf_counter()
        y = pcg_block(matmat, project(rhs), dinv, tol=1e-12)
        row = dict(mme_rounds=y.rounds, mme_seconds=time.perf_counter() - t, ritz_min=y.ritz_min)
        Bp = project(B)
        ref = pcg_block(matmat, Bp, dinv, tol=1e-16).q + exact(B)
        se = ref.std(ddof=1) / np.sqrt(probes)
        for limit in (1.0, 0.05):
            res = pcg_block(matmat, Bp, dinv, tol=1e-30, lambda_min=RITZ_SAFETY * y.ritz_min,
                            energy_tol=lambda q, cut=limit * se: cut)
            row[f"probes_to_{limit}_se"] = dict(rounds=res.rounds, bound_in_se=float(res.energy_error.mean() / se),
                                                true_error_in_se=float((ref - res.q - exact(B)).mean() / se))
        out[name] = row
        print(f"{name}: MME to 1e-12 in {row['mme_rounds']} rounds ({row['mme_seconds']:.1f} s), smallest Ritz "
              f"value {row['ritz_min']:.3g}; probes " + "; ".join(
                  f"to {k[10:-3]} SE: {v['rounds']} rounds, bound {v['bound_in_se']:.3f} SE, true error "
                  f"{v['true_error_in_se']:.3f} SE" for k, v in row.items() if k.startswith("probes_to")), flush=True)
    if json_path:
        with open(json_path, "w") as fh:
            json.dump(out, fh, indent=1)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--probes", type=int, default=30)
    ap.add_argument("--variances", type=float, nargs=2, default=[0.30, 0.55])
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    for n in a.sizes:
        run(n, a.probes, tuple(a.variances), json_path=a.json)


if __name__ == "__main__":
    main()
