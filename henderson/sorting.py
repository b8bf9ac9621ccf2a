"""In-place sorts of array segments for numba kernels.

numba's own np.sort / np.argsort share generated quicksort code between cached functions, and a
cached kernel of one module that sorts has been seen to corrupt another module's cached argsort
(a pedigree's A^-1 built wrongly, or a segfault, after the MME's block structure was analysed in
the same process). The kernels of henderson sort with these instead.
"""
import numpy as np

from .jitnotice import njit


@njit(cache=True, inline="always")  # inlined into sort_segment: no specializations of its own
def _sift(keys, values, lo, start, end, carry):
    """Restore the max-heap property below ``start`` in the heap keys[lo:lo + end]."""
    root = start
    while True:
        child = 2 * root + 1
        if child >= end:
            return
        if child + 1 < end and keys[lo + child] < keys[lo + child + 1]:
            child += 1
        if keys[lo + root] < keys[lo + child]:
            a, b = lo + root, lo + child
            keys[a], keys[b] = keys[b], keys[a]
            if carry:
                values[a], values[b] = values[b], values[a]
            root = child
        else:
            return


@njit(cache=True)
def sort_segment(keys, values, lo, hi, carry):
    """Sort keys[lo:hi] ascending in place (heapsort; insertion sort for short segments), carrying
    values[lo:hi] along when ``carry``."""
    n = hi - lo
    if n <= 32:
        for a in range(lo + 1, hi):
            k = keys[a]
            v = values[a] if carry else values[lo]
            b = a - 1
            while b >= lo and keys[b] > k:
                keys[b + 1] = keys[b]
                if carry:
                    values[b + 1] = values[b]
                b -= 1
            keys[b + 1] = k
            if carry:
                values[b + 1] = v
        return
    for start in range(n // 2 - 1, -1, -1):
        _sift(keys, values, lo, start, n, carry)
    for end in range(n - 1, 0, -1):
        keys[lo], keys[lo + end] = keys[lo + end], keys[lo]
        if carry:
            values[lo], values[lo + end] = values[lo + end], values[lo]
        _sift(keys, values, lo, 0, end, carry)
