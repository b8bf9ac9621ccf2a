"""Fill-reducing ordering for animal-model MME: AMD on the sparse part, the dense rows last.

In an animal model the rows of sires with thousands of progeny, of the intercept and of large
herd-years are dense, yet fewer than AMD's own threshold (10 sqrt(n) entries) at a million animals,
and AMD's quotient-graph updates over them dominate the analysis (85 s of AMD at 1M animals on this
2-core machine against 6 s without them). Rows with more than ``DENSE_MIN`` entries (the densest
``DENSE_FRACTION`` of all rows at most) are taken out, AMD orders the graph of the rest, and the
dense rows follow in increasing degree: they would be eliminated last by AMD anyway, and the fill
of L stays that of AMD on the whole matrix (within a few per cent). Rows denser than AMD's own
threshold are set aside whatever their number: single-step's genotyped animals (a dense clique of
H^-1, 10% of the pedigree or more) then form the trailing block without AMD walking their
10^8 entries (AMD on them took 40 s of the 47 s analysis at 200,000 animals / 10,000 genotyped).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

DENSE_MIN = 64          # entries per column of C above which a column may count as dense
DENSE_FRACTION = 0.01   # at most this share of the columns is set aside as dense ...
AMD_DENSE = 10.0        # ... besides every column with more than this times sqrt(n) entries (AMD's threshold)


def dense_columns(C: sp.csc_matrix) -> np.ndarray:
    """Columns of C with more than DENSE_MIN entries, at most the densest DENSE_FRACTION of them unless
    denser than AMD_DENSE sqrt(n), in increasing number of entries."""
    deg = np.diff(C.indptr)
    cand = np.flatnonzero(deg > DENSE_MIN)
    cap = max(int(DENSE_FRACTION * C.shape[0]), int(np.count_nonzero(deg > AMD_DENSE * np.sqrt(C.shape[0]))))
    if cand.size > cap:
        cand = cand[np.argsort(deg[cand], kind="stable")[cand.size - cap:]]
    return cand[np.argsort(deg[cand], kind="stable")]


def dense_last_order(C: sp.csc_matrix, amd) -> np.ndarray:
    """Permutation p (P C P' = C[p][:, p]): ``amd(S)`` on the submatrix S of the sparse columns, then the
    dense columns (dense_columns). ``amd`` returns the AMD permutation of a symmetric csc matrix."""
    dense = dense_columns(C)
    keep = np.ones(C.shape[0], dtype=bool)
    keep[dense] = False
    sparse_cols = np.flatnonzero(keep)
    S = sp.csc_matrix(C[sparse_cols][:, sparse_cols])
    S.sort_indices()
    return np.concatenate([sparse_cols[np.asarray(amd(S), dtype=np.int64)], dense])
