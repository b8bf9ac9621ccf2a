"""The notice printed when numba compiles henderson's kernels: once, only for henderson's functions,
only when compiling (numba's compile event does not fire for functions loaded from its disk cache)."""
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numba import njit
from numba.core import event

from henderson.jitnotice import MESSAGE, FirstCompileNotice

ROOT = Path(__file__).parent.parent


def _kernel(module):
    def add_one(x):
        return x + 1.0
    add_one.__module__ = module
    return njit(add_one)


@pytest.fixture
def notice():
    n = FirstCompileNotice(prefix="henderson_test_kernels")
    event.register("numba:compile", n)
    yield n
    event.unregister("numba:compile", n)


def test_notice_once_at_the_first_compilation(notice, caplog):
    caplog.set_level(logging.WARNING, logger="henderson")
    _kernel("other_package")(np.ones(2))
    assert MESSAGE not in caplog.messages
    _kernel("henderson_test_kernels.a")(np.ones(2))
    _kernel("henderson_test_kernels.b")(np.ones(2))
    assert caplog.messages.count(MESSAGE) == 1 and notice.announced


def _run(args, cache, cwd):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "HENDERSON_NO_AOT": "1",  # kernels compiled by numba
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_cli_and_api_say_when_they_compile(tmp_path):
    """An empty numba cache: the first CLI fit says it compiles, the second (cache filled) does not."""
    import henderson as hd
    cache = tmp_path / "numba_cache"
    cli = ["-m", "henderson.cli", "fit", "--data", str(hd.datasets.path("sleepstudy")), "--formula",
           "Reaction ~ Days + (Days|Subject)", "--factor", "Subject"]
    first = _run(cli, cache, tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stderr.count("henderson: " + MESSAGE) == 1
    second = _run(cli, cache, tmp_path)
    assert second.returncode == 0 and MESSAGE not in second.stderr
    api = _run(["-c", "import henderson as hd; import sys; sys.exit(not hd.Pedigree.from_frame("
                      "hd.datasets.load('pedCows')).inbreeding.max() > 0)"], cache, tmp_path)
    assert api.returncode == 0 and api.stderr.count(MESSAGE) == 1  # a kernel the fits did not need


def test_kernels_work_without_a_cache_folder(tmp_path):
    """No cache locator (as with read-only site-packages and no writable home): compiled in memory, one warning."""
    from henderson.jitnotice import NO_CACHE
    code = ("import numpy as np\nfrom henderson.sorting import sort_segment\nk = np.array([3, 1, 2])\n"
            "sort_segment(k, k, 0, 3, False)\nassert list(k) == [1, 2, 3]")
    env = {**os.environ, "NUMBA_CACHE_LOCATOR_CLASSES": "IPythonCacheLocator",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stderr.count(NO_CACHE) == 1
