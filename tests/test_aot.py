"""Kernels compiled at install time (henderson.aot): the exact-type dispatch between a compiled version
and numba's dispatcher, the table of listed kernels, and, where the extension is built (an installed
or `pip install -e` checkout), that every listed kernel uses it and agrees with numba's compilation."""
import importlib
import pickle

import numpy as np
import pytest
from numba import njit

from henderson import aot
from henderson.linalg import selinv


def _listed(kernel):
    module, name = kernel.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


@njit
def _total(x, n):
    return x.sum() * n


def _fake_compiled(x, n):
    return "compiled"


@pytest.fixture
def kernel():
    """_total with one fake compiled version for (float64 C-contiguous writable 1-d, int)."""
    return aot.AOTKernel(_total, [([aot._checker(aot.F8), aot._checker("i8")], _fake_compiled)])


def test_parse_reads_dtype_dimensions_and_read_only():
    assert aot.parse("i8[:, :, ::1]") == (np.dtype(np.int64), 3, False)
    assert aot.parse("i4[::1]r") == (np.dtype(np.int32), 1, True)
    assert aot.parse("f8") == (np.dtype(np.float64), 0, False)
    with pytest.raises(ValueError, match="f8\\[:\\]"):
        aot.parse("f8[:]")


def test_exact_types_call_the_compiled_version(kernel):
    assert kernel(np.ones(3), 2) == "compiled"
    assert kernel(np.ones(3), np.int32(2)) == "compiled"


@pytest.mark.parametrize("x, n", [
    (np.ones(3, np.int64), 2),          # int64 where float64: same item size, compiled code would misread
    (np.ones(3, np.float32), 2),
    (np.ones(6)[::2], 2),               # not contiguous
    (np.ones((1, 3)), 2),               # two dimensions
    (np.frombuffer(bytearray(32), np.float64, count=3, offset=4), 2),  # not aligned
    (np.ones(3), 2.0),                  # float where int
    (np.ones(3), True),                 # bool where int
])
def test_other_types_go_to_numba(kernel, x, n):
    assert kernel(x, n) == pytest.approx(x.sum() * n)


def test_read_only_arrays_only_where_the_type_says_so(kernel):
    x = np.ones(3)
    x.setflags(write=False)
    assert kernel(x, 2) == 6.0  # numba's: the compiled version may write its float64 array
    x = np.zeros(2, np.int64)
    assert aot._checker(aot.I8R)(x) and aot._checker(aot.I8)(x)
    x.setflags(write=False)
    assert aot._checker(aot.I8R)(x) and not aot._checker(aot.I8)(x)


def test_jitted_callers_see_the_dispatcher(kernel):
    @njit
    def caller(x):
        return kernel(x, 3) + 1.0
    assert caller(np.ones(2)) == 7.0


def test_every_listed_kernel_exists_with_parsable_types():
    for kernel, versions in aot.KERNELS.items():
        func = _listed(kernel)
        assert getattr(func, "dispatcher", func).py_func.__qualname__ == kernel.rsplit(".", 1)[1]
        assert all(len(v) == func.py_func.__code__.co_argcount for v in versions), kernel
        for specs in versions:
            [aot.parse(s) for s in specs]


def test_no_listed_kernel_is_parallel():
    """numba.pycc cannot compile prange kernels: the parallel ones (block PCG, the split A^-1 product,
    the GRM's) stay numba's."""
    from henderson.linalg import block_kernels
    from henderson.pedigree import aproduct
    for kernel in aot.KERNELS:
        func = _listed(kernel)
        assert not getattr(func, "dispatcher", func).targetoptions.get("parallel"), kernel
    assert block_kernels.step.targetoptions["parallel"] and aproduct._ainv_add_columns.targetoptions["parallel"]


def test_unlisted_kernel_is_numba_dispatcher():
    from henderson.sorting import sort_segment
    assert "henderson.sorting.sort_segment" not in aot.KERNELS
    assert not isinstance(sort_segment, aot.AOTKernel) and hasattr(sort_segment, "signatures")


def test_switched_off_or_stale_extension_is_not_used(monkeypatch):
    monkeypatch.setenv("HENDERSON_NO_AOT", "1")
    aot.compiled.cache_clear()
    try:
        assert aot.compiled() is None
        monkeypatch.delenv("HENDERSON_NO_AOT")
        aot.compiled.cache_clear()
        monkeypatch.setattr(aot, "source_digest", lambda: "0" * 16)
        assert aot.compiled() is None
    finally:
        monkeypatch.undo()
        aot.compiled.cache_clear()


needs_extension = pytest.mark.skipif(aot.compiled() is None, reason="henderson._kernels not built here "
                                     "(pip install -e . builds it)")


@needs_extension
def test_every_listed_kernel_uses_the_extension():
    for kernel, versions in aot.KERNELS.items():
        func = _listed(kernel)
        assert isinstance(func, aot.AOTKernel), kernel
        assert len(func.versions) == len(versions)


@needs_extension
def test_compiled_kernels_pickle_by_reference():
    assert pickle.loads(pickle.dumps(selinv.find_supernodes)) is selinv.find_supernodes


@needs_extension
@pytest.mark.parametrize("itype", [np.int32, np.int64])
def test_compiled_selected_inverse_equals_numba(itype, monkeypatch):
    """The compiled sweep (int32 and int64 CHOLMOD indices) against the same kernel compiled by numba."""
    rng = np.random.default_rng(5)
    n = 40
    B = rng.standard_normal((n, n)) * (rng.random((n, n)) < 0.1)
    C = B @ B.T + n * np.eye(n)
    L = np.linalg.cholesky(C)
    Lp = np.concatenate([[0], np.cumsum((L != 0).sum(axis=0))]).astype(itype)
    Li = np.concatenate([np.flatnonzero(L[:, j]) for j in range(n)]).astype(itype)
    Lx = L.T[L.T != 0]
    sup = selinv.find_supernodes(Lp, Li)
    compiled = selinv.takahashi(Lp, Li, Lx, sup, max_cols=4)
    jit_sup = selinv.find_supernodes.dispatcher(Lp, Li)
    monkeypatch.setattr(selinv, "_sweep", selinv._sweep.dispatcher)
    monkeypatch.setattr(selinv, "_sweep_narrow", selinv._sweep_narrow.dispatcher)
    np.testing.assert_array_equal(sup, jit_sup)
    np.testing.assert_allclose(compiled, selinv.takahashi(Lp, Li, Lx, sup, max_cols=4), rtol=1e-12, atol=1e-14)
    cols = np.repeat(np.arange(n), np.diff(Lp))
    np.testing.assert_allclose(compiled, np.linalg.inv(C)[Li, cols], rtol=1e-9, atol=1e-12)
