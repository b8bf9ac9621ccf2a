"""Topological order of a pedigree: parents before offspring, with exact loop detection.

The order key is the generation number g_i = 1 + max(g_sire, g_dam) (0 for founders), the
longest ancestral path of Sargolzaei & Iwaisaki (2005). Every parent has a smaller g than its
offspring, so sorting by g (stably, to keep the input order within a generation) is a valid order.
"""

from __future__ import annotations

import numpy as np

from henderson.errors import PedigreeError
from henderson.ids import SHOW

from ..jitnotice import njit


@njit(cache=True)
def _generations(sire, dam):
    """Depth-first search: g_i for every animal, or a loop [a, parent, ..., a] if there is one."""
    n = sire.shape[0]
    gen = np.full(n, -1, np.int32)
    state = np.zeros(n, np.int8)  # 0 unseen, 1 on the stack, 2 done
    stack = np.empty(n, np.int64)
    stage = np.empty(n, np.int8)
    for root in range(n):
        if state[root] != 0:
            continue
        top = 0
        stack[0] = root
        stage[0] = 0
        state[root] = 1
        while top >= 0:
            v = stack[top]
            st = stage[top]
            if st < 2:
                stage[top] = st + 1
                p = sire[v] if st == 0 else dam[v]
                if p < 0 or state[p] == 2:
                    continue
                if state[p] == 0:
                    top += 1
                    stack[top] = p
                    stage[top] = 0
                    state[p] = 1
                    continue
                k = top  # p is on the stack: stack[k..top] + p is a loop
                while stack[k] != p:
                    k -= 1
                loop = np.empty(top - k + 2, np.int64)
                for m in range(k, top + 1):
                    loop[m - k] = stack[m]
                loop[top - k + 1] = p
                return gen, loop
            g = 0
            if sire[v] >= 0:
                g = max(g, gen[sire[v]] + 1)
            if dam[v] >= 0:
                g = max(g, gen[dam[v]] + 1)
            gen[v] = g
            state[v] = 2
            top -= 1
    return gen, np.empty(0, np.int64)


def generations(sire: np.ndarray, dam: np.ndarray, names: np.ndarray) -> np.ndarray:
    """g_i = 1 + max(g_sire, g_dam); raises PedigreeError naming the loop if an animal is its own ancestor."""
    gen, loop = _generations(np.asarray(sire, np.int64), np.asarray(dam, np.int64))
    if loop.size:
        steps = [str(names[k]) for k in loop]
        path = " -> ".join(steps) if len(steps) <= SHOW + 1 else (
            " -> ".join(steps[:SHOW]) + f" -> ... -> {steps[-1]} ({len(steps) - 1} animals in the loop)")
        raise PedigreeError(
            f"animal {names[loop[0]]!r} is its own ancestor: {path} (each '->' points to a parent)"
        )
    return gen


def parents_first(gen: np.ndarray) -> np.ndarray:
    """Permutation that sorts animals by generation, stably (input order kept within a generation)."""
    return np.argsort(gen, kind="stable")
