"""Inbreeding coefficients F and Mendelian sampling factors d_i of A = L D L'.

Sargolzaei & Iwaisaki (2005): F_i = sum_j L_ij^2 d_j - 1 over i and its ancestors j, where the
row of L is traced from i to its ancestors in decreasing generation ("longest ancestral path"),
one stack per generation, so each ancestor is visited once and only after all its descendants
in the trace. d_i = 0.5 - 0.25 (F_s + F_d) with F = -1 for an unknown parent (so 0.75 - 0.25 F_s
with one known parent and 1 for a founder). Animals with a parent unknown are not inbred; full
sibs (same sire and dam) share F and are traced once.
"""

from __future__ import annotations

import numpy as np

from ..jitnotice import njit


@njit(cache=True)
def _inbreeding(sire, dam, gen, order):
    n = sire.shape[0]
    f = np.zeros(n)
    d = np.ones(n)
    ngen = 1
    for i in range(n):
        ngen = max(ngen, gen[i] + 1)
    start = np.zeros(ngen + 1, np.int64)  # bucket t of the ancestor stack is anc[start[t]:start[t+1]]
    for i in range(n):
        start[gen[i] + 1] += 1
    for t in range(ngen):
        start[t + 1] += start[t]
    top = start[:ngen].copy()
    anc = np.empty(n, np.int64)
    lrow = np.zeros(n)
    prev_s = -2
    prev_d = -2
    prev_f = 0.0
    for k in range(n):
        i = order[k]
        s = sire[i]
        dm = dam[i]
        fs = f[s] if s >= 0 else -1.0
        fd = f[dm] if dm >= 0 else -1.0
        d[i] = 0.5 - 0.25 * (fs + fd)
        if s < 0 or dm < 0:
            continue
        if s == prev_s and dm == prev_d:
            f[i] = prev_f
            continue
        total = 0.0
        lrow[i] = 1.0
        anc[top[gen[i]]] = i
        top[gen[i]] += 1
        for t in range(gen[i], -1, -1):
            while top[t] > start[t]:
                top[t] -= 1
                j = anc[top[t]]
                lj = lrow[j]
                lrow[j] = 0.0
                total += lj * lj * d[j]
                half = 0.5 * lj
                p = sire[j]
                if p >= 0:
                    if lrow[p] == 0.0:
                        anc[top[gen[p]]] = p
                        top[gen[p]] += 1
                    lrow[p] += half
                p = dam[j]
                if p >= 0:
                    if lrow[p] == 0.0:
                        anc[top[gen[p]]] = p
                        top[gen[p]] += 1
                    lrow[p] += half
        f[i] = total - 1.0
        prev_s = s
        prev_d = dm
        prev_f = f[i]
    return f, d


def inbreeding_and_d(sire: np.ndarray, dam: np.ndarray, gen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(F, d) for a pedigree whose parents precede offspring; sire/dam are positions, -1 if unknown."""
    sire = np.asarray(sire, np.int64)
    dam = np.asarray(dam, np.int64)
    gen = np.asarray(gen, np.int64)
    order = np.lexsort((dam, sire, gen))  # by generation, full sibs adjacent
    return _inbreeding(sire, dam, gen, order)
