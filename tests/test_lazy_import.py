"""``import henderson`` and ``henderson --help`` load none of the heavy dependencies; the public names
load on first use and are the objects the submodules define."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
HEAVY = ("numba", "scipy", "pandas", "formulaic", "numpy")


def _loaded_after(code: str) -> list[str]:
    """Heavy modules in sys.modules after running code in a new interpreter."""
    probe = f"{code}\nimport sys\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    p = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return [m for m in p.stdout.strip().split(",") if m]


def test_import_loads_no_heavy_dependency():
    assert _loaded_after("import henderson") == []


def test_help_loads_no_heavy_dependency():
    code = ("import contextlib, io\nfrom henderson.cli import main\n"
            "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
            "    main(['fit', '--help'])")
    assert _loaded_after(code) == []


def test_public_names_resolve_to_their_definitions():
    import henderson as hd
    from henderson import errors, model, pedigree
    assert hd.Model is model.Model and hd.fit is model.fit and hd.Pedigree is pedigree.Pedigree
    assert hd.DesignError is errors.DesignError and hd.datasets.load is not None
    assert all(getattr(hd, name) is not None for name in hd.__all__)
    assert set(hd.__all__) <= set(dir(hd))
    with pytest.raises(AttributeError, match="no attribute 'Modle'"):
        _ = hd.Modle


def test_simulate_stays_the_function_when_its_package_is_imported():
    code = ("import henderson.simulate.population\nimport henderson as hd\nimport henderson.simulate\n"
            "from henderson.simulate import write_simulation\nassert callable(hd.simulate), hd.simulate\n"
            "assert hd.simulate.__module__ == 'henderson.simulate'")
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
