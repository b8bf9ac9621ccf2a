"""BLAS thread control: the count the user asks for, and the dense Schur complement's setting."""
import numpy as np
import pytest
import scipy.linalg  # noqa: F401  (maps scipy's OpenBLAS into the process)

from henderson.linalg.blas_threads import _loaded_openblas, blas_threads, requested_threads
from henderson.linalg.blocked import ONE_THREAD_UP_TO, _DenseSchur


@pytest.mark.parametrize("env, expected", [({}, 1), ({"OPENBLAS_NUM_THREADS": "2"}, 2),
                                           ({"OMP_NUM_THREADS": "3"}, 3),
                                           ({"OPENBLAS_NUM_THREADS": "4", "OMP_NUM_THREADS": "3"}, 4),
                                           ({"OPENBLAS_NUM_THREADS": "auto"}, 1), ({"OMP_NUM_THREADS": "0"}, 1)])
def test_requested_threads(monkeypatch, env, expected):
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert requested_threads(1) == expected


def test_blas_threads_sets_and_restores_every_openblas():
    libs = _loaded_openblas()
    before = [get() for get, _ in libs]
    with blas_threads(1):
        assert all(get() == 1 for get, _ in libs)
    assert [get() for get, _ in libs] == before


def test_dense_schur_threads(monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert _DenseSchur(ONE_THREAD_UP_TO).threads == 1
    assert _DenseSchur(ONE_THREAD_UP_TO + 1).threads is None      # large S: OpenBLAS's own count
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    assert _DenseSchur(10).threads == 2


def test_dense_schur_results_under_thread_setting():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(50, 50))
    S = A @ A.T + 50 * np.eye(50)
    f = _DenseSchur(50)
    f.factor(np.ascontiguousarray(S.T))
    np.testing.assert_allclose(f.inverse(), np.linalg.inv(S), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(f.solve(np.ones(50)), np.linalg.solve(S, np.ones(50)), rtol=1e-10)
    assert f.logdet() == pytest.approx(np.linalg.slogdet(S)[1], rel=1e-12)
