"""Benchmark: Factor.analyze / refactor / solve / selected_inverse on large sparse SPD matrices.

Usage: python benchmarks/bench_selinv.py [mme|laplace] [size] [--ordering amd]

  mme      animal-model MME: y = mu + hys + a + e for a random 20-generation dairy-like pedigree
           of `size` animals (default 200000), records on 3/4 of them, 2000 herd-year-seasons;
           C = [X'X X'Z; Z'X Z'Z + lambda A^-1] (A^-1 by Henderson's rules, no inbreeding).
  laplace  2-D 5-point Laplacian on a size x size grid (default 700, i.e. 490000 rows) plus I.

Prints the time of each phase and the peak resident memory (ru_maxrss).
"""

import argparse
import resource
import time

import numpy as np
import scipy.sparse as sp

from henderson.linalg import Factor


def pedigree_ainv(n, rng, n_gen=20, n_herds=500, n_sires=100):
    """Return A^-1 (CSC) of a random pedigree of n animals (Henderson's rules, no inbreeding).

    n_gen discrete generations; a dam comes from the same herd in the previous generation, a
    sire from the previous generation's n_sires AI bulls (the pattern of a dairy pedigree).
    """
    idx = np.arange(n)
    per = n // n_gen
    gen = np.minimum(idx // per, n_gen - 1)
    herd = rng.integers(0, n_herds, size=n)
    sire = np.full(n, -1)
    dam = np.full(n, -1)
    for g in range(1, n_gen):
        prev = np.flatnonzero(gen == g - 1)
        cur = np.flatnonzero(gen == g)
        bulls = rng.choice(prev, size=n_sires, replace=False)
        sire[cur] = rng.choice(bulls, size=cur.size)
        order = np.argsort(herd[prev], kind="stable")
        starts = np.searchsorted(herd[prev][order], herd[cur])
        ends = np.searchsorted(herd[prev][order], herd[cur], side="right")
        has = ends > starts
        pick = starts[has] + (rng.random(has.sum()) * (ends[has] - starts[has])).astype(np.int64)
        dam[cur[has]] = prev[order][pick]
    sire[rng.random(n) < 0.1] = -1
    dam[rng.random(n) < 0.15] = -1
    dam[dam == sire] = -1
    known = (sire >= 0).astype(int) + (dam >= 0).astype(int)
    delta = np.array([1.0, 4.0 / 3.0, 2.0])[known]
    rows, cols, vals = [idx], [idx], [delta]
    for par in (sire, dam):
        m = par >= 0
        rows += [idx[m], par[m]]
        cols += [par[m], idx[m]]
        vals += [-delta[m] / 2, -delta[m] / 2]
    for p1, p2 in ((sire, sire), (sire, dam), (dam, sire), (dam, dam)):
        m = (p1 >= 0) & (p2 >= 0)
        rows.append(p1[m])
        cols.append(p2[m])
        vals.append(delta[m] / 4)
    A = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), (n, n))
    A.sum_duplicates()
    return A


def mme_matrix(n, rng, n_hys=2000, lam=2.0):
    """Return the MME coefficient matrix of an animal model with a random pedigree of n animals."""
    rec = rng.choice(n, size=3 * n // 4, replace=False)
    m = rec.size
    hys = rng.integers(0, n_hys, size=m)
    X = sp.hstack(
        [np.ones((m, 1)), sp.csr_matrix((np.ones(m), (np.arange(m), hys)), (m, n_hys))[:, 1:]]
    ).tocsc()
    Z = sp.csc_matrix((np.ones(m), (np.arange(m), rec)), (m, n))
    W = sp.hstack([X, Z]).tocsc()
    C = (W.T @ W).tocsc()
    p = X.shape[1]
    G = sp.block_diag([sp.csc_matrix((p, p)), lam * pedigree_ainv(n, rng)]).tocsc()
    C = (C + G).tocsc()
    C.sum_duplicates()
    C.sort_indices()
    return C


def laplace_matrix(k):
    """Return the 2-D 5-point Laplacian on a k x k grid plus the identity (CSC)."""
    T = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(k, k))
    I = sp.identity(k)
    C = (sp.kron(I, T) + sp.kron(T, I) + sp.identity(k * k)).tocsc()
    C.sort_indices()
    return C


def timed(label, fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    print(f"{label:<34s} {time.perf_counter() - t0:8.3f} s", flush=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", nargs="?", default="mme", choices=["mme", "laplace"])
    ap.add_argument("size", nargs="?", type=int)
    ap.add_argument("--ordering", default="amd")
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    if args.kind == "mme":
        C = timed("build MME", mme_matrix, args.size or 200_000, rng)
    else:
        C = timed("build Laplacian", laplace_matrix, args.size or 700)
    print(f"n = {C.shape[0]}, nnz(C) = {C.nnz}, ordering = {args.ordering}")
    f = timed("analyze", Factor.analyze, C, args.ordering)
    timed("refactor (1st)", f.refactor, C)
    print(f"nnz(L) = {f.nnz_L}")
    for i in range(2):
        timed(f"refactor (again {i + 1})", f.refactor, C)
    b = np.ones(C.shape[0])
    timed("solve (1 rhs)", f.solve, b)
    timed("logdet", f.logdet)
    S = timed("selected_inverse (1st, + maps)", f.selected_inverse)
    for i in range(2):
        C2 = C.copy()
        C2.data = C2.data * (1.0 + 0.1 * (i + 1))
        timed(f"refactor (new values {i + 1})", f.refactor, C2)
        S = timed(f"selected_inverse (again {i + 1})", f.selected_inverse)
    x = f.solve(b)
    print(f"check: max|S_ii - (C^-1)_ii| at 3 columns = "
          f"{max(abs(S[j, j] - f.solve(np.eye(1, C.shape[0], j).ravel())[j]) for j in (0, 1, C.shape[0] - 1)):.2e}")
    print(f"check: |C x - b| = {np.linalg.norm(C2 @ x - b):.2e}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS = {rss:.0f} MiB")


if __name__ == "__main__":
    main()
