"""union_with_positions: the union of sparse patterns and where each matrix's entries land in it."""
import numpy as np
import scipy.sparse as sp

from henderson.sparse_union import union_with_positions


def test_union_pattern_and_positions_match_a_dense_oracle():
    rng = np.random.default_rng(3)
    mats = [sp.random(40, 40, density=d, random_state=rng, format="csc") for d in (0.1, 0.3, 0.02)]
    mats.append(sp.csc_matrix((40, 40)))                                     # an empty one
    mats[0].data[:3] = 0.0                                                   # explicit zeros are kept
    U, pos = union_with_positions(mats)
    stored = np.zeros((40, 40), dtype=bool)
    for M in mats:
        stored |= sp.csc_matrix((np.ones(M.nnz), M.indices, M.indptr), shape=M.shape).toarray() > 0
    assert U.nnz == stored.sum() and U.has_sorted_indices and not U.data.any()
    cols = np.repeat(np.arange(40), np.diff(U.indptr))
    assert np.array_equal(stored[U.indices, cols], np.ones(U.nnz, dtype=bool))
    for M, p in zip(mats, pos):
        mcols = np.repeat(np.arange(40), np.diff(M.indptr))
        assert np.array_equal(U.indices[p], M.indices) and np.array_equal(cols[p], mcols)
