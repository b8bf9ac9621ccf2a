"""Parallel (numba prange) passes of henderson.linalg.block_pcg over n x r blocks, C order.

The row-wise passes split the rows into chunks of CHUNK rows; the per-column sums of a chunk are
kept apart and added up in chunk order afterwards, so the result does not depend on the number of
threads or on their timing (no shared accumulator, no race). The product W'W X splits the block's
columns between the threads (each does the whole pass over the records for its columns: the same
arithmetic, in the same order, as the serial product). Each parallel kernel hands its share to a
serial kernel (compiled as plain loops over C-order arrays, which numba vectorises; the same loops
written inside the prange body run several times slower). The parallel kernels are compiled by
numba at first use (numba.pycc cannot compile them ahead of time: they are not in
henderson.aot.KERNELS).
"""
from __future__ import annotations

import time

import numba
import numpy as np
from numba import prange

from ..jitnotice import njit

CHUNK = 4096       # rows per chunk of the row-wise passes


def column_groups(r: int) -> np.ndarray:
    """Bounds (groups + 1,) splitting r columns into one group per numba thread (at most r groups)."""
    g = max(1, min(numba.get_num_threads(), r))
    return np.linspace(0, r, g + 1).round().astype(np.int64)


@njit(cache=True)
def _chunk_sum(part):
    """Sum over the first axis of (chunks, k, r), in chunk order."""
    out = np.zeros(part.shape[1:])
    for t in range(part.shape[0]):
        out += part[t]
    return out


@njit(cache=True)
def _curvature_rows(D, CD, lo, hi, acc):
    r = D.shape[1]
    for i in range(lo, hi):
        for c in range(r):
            acc[c] += D[i, c] * CD[i, c]


@njit(cache=True, parallel=True)
def curvature(D, CD):
    """Per column: d'C d."""
    n, r = D.shape
    nch = (n + CHUNK - 1) // CHUNK
    part = np.zeros((nch, 1, r))
    for t in prange(nch):
        _curvature_rows(D, CD, t * CHUNK, min(n, (t + 1) * CHUNK), part[t, 0])
    return _chunk_sum(part)[0]


@njit(cache=True)
def _step_rows(X, R, D, CD, alpha, dinv, lo, hi, acc):
    r = X.shape[1]
    for i in range(lo, hi):
        w = dinv[i]
        for c in range(r):
            d = D[i, c]
            X[i, c] += alpha[c] * d
            u = R[i, c]
            v = u - alpha[c] * CD[i, c]
            R[i, c] = v
            acc[0, c] += u * d
            acc[1, c] += v * v
            acc[2, c] += w * v * v


@njit(cache=True, parallel=True)
def step(X, R, D, CD, alpha, dinv):
    """X += alpha D; R -= alpha C D; per column r'd of the old residual, r'r and r'M^-1 r of the new
    one, as (3, r)."""
    n, r = X.shape
    nch = (n + CHUNK - 1) // CHUNK
    part = np.zeros((nch, 3, r))
    for t in prange(nch):
        _step_rows(X, R, D, CD, alpha, dinv, t * CHUNK, min(n, (t + 1) * CHUNK), part[t])
    return _chunk_sum(part)


@njit(cache=True)
def _direction_rows(D, R, dinv, beta, lo, hi):
    r = D.shape[1]
    for i in range(lo, hi):
        w = dinv[i]
        for c in range(r):
            D[i, c] = w * R[i, c] + beta[c] * D[i, c]


@njit(cache=True, parallel=True)
def direction(D, R, dinv, beta):
    """D = M^-1 R + beta D."""
    n = D.shape[0]
    for t in prange((n + CHUNK - 1) // CHUNK):
        _direction_rows(D, R, dinv, beta, t * CHUNK, min(n, (t + 1) * CHUNK))


@njit(cache=True)
def _residual_rows(B, CX, X, dinv, R, lo, hi, acc):
    r = B.shape[1]
    for i in range(lo, hi):
        w = dinv[i]
        for c in range(r):
            v = B[i, c] - CX[i, c]
            R[i, c] = v
            acc[0, c] += v * v
            acc[1, c] += w * v * v
            acc[2, c] += (B[i, c] + v) * X[i, c]


@njit(cache=True, parallel=True)
def residual(B, CX, X, dinv, R):
    """R = B - C X (CX may be R itself); per column r'r, r'M^-1 r, b'x + r'x, as (3, r)."""
    n, r = B.shape
    nch = (n + CHUNK - 1) // CHUNK
    part = np.zeros((nch, 3, r))
    for t in prange(nch):
        _residual_rows(B, CX, X, dinv, R, t * CHUNK, min(n, (t + 1) * CHUNK), part[t])
    return _chunk_sum(part)


@njit(cache=True)
def _start_rows(R, dinv, D, lo, hi, acc):
    r = R.shape[1]
    for i in range(lo, hi):
        w = dinv[i]
        for c in range(r):
            v = R[i, c]
            D[i, c] = w * v
            acc[0, c] += v * v
            acc[1, c] += w * v * v


@njit(cache=True, parallel=True)
def start_direction(R, dinv, D):
    """D = M^-1 R; per column r'r and r'M^-1 r, as (2, r)."""
    n, r = R.shape
    nch = (n + CHUNK - 1) // CHUNK
    part = np.zeros((nch, 2, r))
    for t in prange(nch):
        _start_rows(R, dinv, D, t * CHUNK, min(n, (t + 1) * CHUNK), part[t])
    return _chunk_sum(part)


@njit(cache=True)
def wtw_times(indptr, indices, data, X, scale, out, c0, c1):
    """out[:, c0:c1] = scale W'W X[:, c0:c1] for W in CSR and X (size, r): one pass over the records
    (through 1-d views of the rows: indexing X[j, c0 + c] directly is several times slower)."""
    m = c1 - c0
    s = np.empty(m)
    out[:, c0:c1] = 0.0
    for i in range(indptr.shape[0] - 1):
        s[:] = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            w = data[k]
            xj = X[indices[k], c0:c1]
            for c in range(m):
                s[c] += w * xj[c]
        for k in range(indptr[i], indptr[i + 1]):
            w = data[k] * scale
            oj = out[indices[k], c0:c1]
            for c in range(m):
                oj[c] += w * s[c]


@njit(cache=True, parallel=True)
def wtw_times_columns(indptr, indices, data, X, scale, out, groups):
    """out = scale W'W X for W in CSR and X (size, r), the columns split by ``groups`` (bounds) between
    the threads: each group one pass over the records."""
    for g in prange(groups.shape[0] - 1):
        wtw_times(indptr, indices, data, X, scale, out, groups[g], groups[g + 1])


@njit(cache=True)
def compact_columns(flat, r, keep):
    """Moves columns ``keep`` (increasing) of the C-order n x r matrix in ``flat`` to the start of
    ``flat`` as an n x len(keep) matrix, in place (serial: each entry moves to a position no later
    than its own, read before anything is written there)."""
    k = keep.shape[0]
    n = flat.shape[0] // r
    for i in range(n):
        for j in range(k):
            flat[i * k + j] = flat[i * r + keep[j]]


class ThreadChoice:
    """Picks, round by round, numba's threads or one thread for the passes of a PCG round, by their
    measured speed: on a quiet machine the threads share the work; where other processes hold the
    cores, a parallel pass waits for its slowest thread and one thread is faster. The results do not
    depend on the choice (the passes above give the same numbers on any number of threads).

    ``start()`` before a round sets the threads; ``stop(entries)`` after it records the seconds per
    entry of the n x r block. Rounds 2 to 5 try both (round 1 may include compilation), then the
    faster runs, the other being tried again every RETRY rounds; costs are averaged as
    cost <- (cost + new) / 2. One instance lives through many solves (``thread_choice``), each
    between ``begin()`` and ``restore()``."""

    RETRY = 24

    def __init__(self):
        self.cost = {}
        self.round = 0
        self.most = self.threads = numba.get_num_threads()
        self.t0 = 0.0

    def begin(self) -> ThreadChoice:
        """At the start of a solve: the caller's number of numba threads is the most used (and restored)."""
        self.most = self.threads = numba.get_num_threads()
        return self

    def start(self) -> None:
        self.round += 1
        if self.most > 1 and self.round > 1:
            if self.round <= 5 or len(self.cost) < 2:
                self.threads = 1 if self.round % 2 else self.most
            else:
                best = min(self.cost, key=self.cost.get)
                other = self.most if best == 1 else 1
                self.threads = other if self.round % self.RETRY == 0 else best
            numba.set_num_threads(self.threads)
        self.t0 = time.perf_counter()

    def stop(self, entries: int) -> None:
        cost = (time.perf_counter() - self.t0) / max(entries, 1)
        if self.round > 1:
            old = self.cost.get(self.threads)
            self.cost[self.threads] = cost if old is None else 0.5 * (old + cost)

    def restore(self) -> None:
        """numba's threads as at ``begin``."""
        numba.set_num_threads(self.most)


_CHOICES: dict[bool, ThreadChoice] = {}


def thread_choice(columns: int) -> ThreadChoice:
    """The process's ThreadChoice for solves of one column or for blocks of several (their costs per
    entry differ)."""
    return _CHOICES.setdefault(columns > 1, ThreadChoice())
