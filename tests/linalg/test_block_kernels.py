"""The parallel kernels of the side-by-side PCG (henderson.linalg.block_kernels, the split A^-1 product)
against dense NumPy products and the serial kernels; pcg_block's result does not depend on the threads."""
import numba
import numpy as np
import pytest
import scipy.sparse as sp

import henderson as hd
from henderson.fitted.iterative import mme_operator
from henderson.linalg import block_kernels as bk
from henderson.linalg.block_pcg import mme_matmat, pcg_block
from henderson.pedigree.aproduct import AinverseOperator, _ainv_add, _ainv_add_columns
from tests.linalg.test_pcg import random_data, random_pedigree

ODD_ROWS = [1, 37, 2 * bk.CHUNK + 37]       # fewer rows than a chunk, and chunks with a ragged end
WIDTHS = [1, 2, 5, 31]


def _groups(r):
    """Column splits: all in one group, one per thread, and three ragged groups where r allows."""
    out = [np.array([0, r]), bk.column_groups(r)]
    if r >= 3:
        out.append(np.array([0, 1, r // 2 + 1, r]))
    return out


@pytest.mark.parametrize("r", WIDTHS)
def test_wtw_product_equals_the_dense_product(r):
    rng = np.random.default_rng(r)
    W = sp.random(300, 120, density=0.03, random_state=r, format="csr")
    W = sp.csr_matrix(sp.vstack([W, sp.csr_matrix((5, 120))]))   # records with no entry
    X = rng.normal(size=(120, r))
    for groups in _groups(r):
        out = np.full((120, r), np.nan)
        bk.wtw_times_columns(W.indptr, W.indices, W.data, X, 0.7, out, groups)
        np.testing.assert_allclose(out, 0.7 * (W.T @ (W @ X)), atol=1e-12)


@pytest.mark.parametrize("r", WIDTHS)
@pytest.mark.parametrize("selfing", [False, True])
def test_split_ainverse_product_equals_the_serial_and_the_formed_one(r, selfing):
    rng = np.random.default_rng(10 + r)
    ped = hd.Pedigree.from_frame(random_pedigree(rng, 250, selfing), sire_as_dam="allow")
    A_inv, _ = ped.ainverse()
    op = AinverseOperator.from_pedigree(ped)
    X = rng.normal(size=(ped.n, r))
    serial = np.ones((ped.n, r))
    _ainv_add(op.sire, op.dam, op.b, X, 0.3, serial)
    np.testing.assert_allclose(serial, 1.0 + 0.3 * (A_inv @ X), atol=1e-12)
    for groups in _groups(r):
        out = np.ones((ped.n, r))
        _ainv_add_columns(op.sire, op.dam, op.b, X, 0.3, out, groups)
        np.testing.assert_array_equal(out, serial)        # each column's arithmetic as the serial kernel's
    out = np.ones((ped.n, r))
    op.apply_add(X, 0.3, out)
    np.testing.assert_array_equal(out, serial)


@pytest.mark.parametrize("n", ODD_ROWS)
@pytest.mark.parametrize("r", WIDTHS)
def test_row_passes_equal_numpy(n, r):
    rng = np.random.default_rng(n + r)
    X, R, D, CD, B = (rng.normal(size=(n, r)) for _ in range(5))
    dinv, alpha, beta = rng.uniform(0.5, 2, n), rng.normal(size=r), rng.normal(size=r)
    close = dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bk.curvature(D, CD), (D * CD).sum(0), **close)

    X1, R1 = X.copy(), R.copy()
    sums = bk.step(X1, R1, D, CD, alpha, dinv)
    Rn = R - alpha * CD
    np.testing.assert_allclose(X1, X + alpha * D, **close)
    np.testing.assert_allclose(R1, Rn, **close)
    np.testing.assert_allclose(sums, [(R * D).sum(0), (Rn * Rn).sum(0), (dinv[:, None] * Rn * Rn).sum(0)],
                               **close)

    D1 = D.copy()
    bk.direction(D1, R, dinv, beta)
    np.testing.assert_allclose(D1, dinv[:, None] * R + beta * D, **close)

    R1 = np.empty_like(R)
    sums = bk.residual(B, CD, X, dinv, R1)
    Rn = B - CD
    np.testing.assert_allclose(R1, Rn, **close)
    np.testing.assert_allclose(sums, [(Rn * Rn).sum(0), (dinv[:, None] * Rn * Rn).sum(0),
                                      ((B + Rn) * X).sum(0)], **close)
    CX = CD.copy()
    bk.residual(B, CX, X, dinv, CX)          # in place: the residual over C X
    np.testing.assert_array_equal(CX, R1)

    D1 = np.empty_like(R)
    sums = bk.start_direction(R, dinv, D1)
    np.testing.assert_allclose(D1, dinv[:, None] * R, **close)
    np.testing.assert_allclose(sums, [(R * R).sum(0), (dinv[:, None] * R * R).sum(0)], **close)


@pytest.mark.parametrize("keep", [[0], [2], [0, 3, 4], [1, 2, 3, 4, 5, 6]])
def test_columns_compact_in_place(keep):
    A = np.random.default_rng(0).normal(size=(2 * bk.CHUNK + 37, 7))
    expected = A[:, keep].copy()
    flat = A.reshape(-1)
    bk.compact_columns(flat, 7, np.array(keep, dtype=np.int64))
    np.testing.assert_array_equal(flat[:expected.size].reshape(expected.shape), expected)


def _operator():
    rng = np.random.default_rng(4)
    frame = random_pedigree(rng, 3 * bk.CHUNK + 11, selfing=True)
    ped = hd.Pedigree.from_frame(frame, sire_as_dam="allow")
    data = random_data(rng, frame["id"].to_numpy(), 4000)
    m = hd.Model("y ~ x + herd + (1|id)", data, relationships={"id": ped})
    return mme_operator(m, m.vm.at(m.theta({"id": 0.5, "Residual": 1.3})))


def test_block_product_equals_single_columns():
    op = _operator()
    X = np.random.default_rng(1).normal(size=(op.size, 31))
    expected = np.column_stack([op.matvec(x) for x in X.T])
    np.testing.assert_allclose(mme_matmat(op, X), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mme_matmat(op, X[:, :1]), expected[:, :1], rtol=1e-12, atol=1e-12)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="numba has one thread only")
def test_pcg_block_does_not_depend_on_the_threads():
    """Columns stopping at different rounds (per-column tolerances: the working arrays are compacted):
    one thread and two give the same solutions, bit for bit, and they solve C X = B."""
    op = _operator()
    rng = np.random.default_rng(2)
    B = rng.normal(size=(op.size, 31))
    tol = np.geomspace(1e-4, 1e-20, 31)
    dinv = op.preconditioner()(np.ones(op.size))
    runs = []
    for threads in (1, 2):
        numba.set_num_threads(threads)
        try:
            runs.append(pcg_block(lambda V, out: mme_matmat(op, V, out), B, dinv, tol=tol))
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    one, two = runs
    assert len(set(one.column_rounds)) > 3
    np.testing.assert_array_equal(one.X, two.X)
    np.testing.assert_array_equal(one.q, two.q)
    res = B - mme_matmat(op, one.X)
    assert np.all((res * res).sum(0) / (B * B).sum(0) < tol)


def test_thread_choice_runs_the_faster_and_retries_the_other(monkeypatch):
    """A fake clock where a round on all threads takes 3 s per column and on one thread 1 s: after
    trying both, one thread runs, all threads being retried every RETRY rounds; threads restored.
    One choice for solves of one column, one for blocks."""
    monkeypatch.setattr(numba, "get_num_threads", lambda: 4)
    chosen = []
    monkeypatch.setattr(numba, "set_num_threads", chosen.append)
    clock = [0.0]
    monkeypatch.setattr(bk.time, "perf_counter", lambda: clock[0])
    choice = bk.ThreadChoice().begin()
    used = []
    for _ in range(40):
        choice.start()
        used.append(choice.threads)
        clock[0] += 2 * (3.0 if choice.threads == 4 else 1.0)
        choice.stop(2)
    assert used[:5] == [4, 4, 1, 4, 1]
    assert choice.cost == {1: 1.0, 4: 3.0}
    assert [k + 1 for k, t in enumerate(used) if k >= 5 and t == 4] == [24]
    choice.restore()
    assert chosen[-1] == 4
    assert bk.thread_choice(5) is bk.thread_choice(31) and bk.thread_choice(1) is not bk.thread_choice(2)
