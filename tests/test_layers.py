"""The import-layers contract (ARCHITECTURE.md "Layers"): a module imports only from its own layer or below.

    cli, io, simulate, datasets, demo > model > fitted > inference > results > reml > mme > covariance
    > relationships, genomic > formula, pedigree > linalg > ids, sorting, jitnotice, aot, aot_build, errors, options,
    distributions, structures, sparse_union

Imports are read from the source with ast, including those inside functions (lazy imports count).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import henderson

ROOT = Path(henderson.__file__).parent
LAYERS = [
    {"errors", "options", "ids", "jitnotice", "aot", "aot_build", "sorting", "sparse_union", "distributions",
     "structures"},
    {"linalg"},
    {"formula", "pedigree"},
    {"relationships", "genomic"},   # genomic builds Relationship values (GBLUP, SingleStep, ParentGroups)
    {"covariance", "residual"},
    {"mme"},
    {"reml"},
    {"results"},
    {"inference"},
    {"fitted"},
    {"model", "multitrait"},
    {"cli", "io", "simulate", "datasets", "demo"},
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def _component(module: str) -> str:
    """'henderson.reml.driver' -> 'reml'."""
    return module.split(".")[1]


def _module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, absolute module) of every henderson import in the file."""
    name = _module_name(path, root)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("henderson.")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "henderson":   # from henderson import x / from . import x: the submodules named
                out += [(node.lineno, f"henderson.{a.name}") for a in node.names]
            elif target.startswith("henderson."):
                out.append((node.lineno, target))
    return out


MODULES = sorted(p for p in ROOT.rglob("*.py") if p != ROOT / "__init__.py" and "__pycache__" not in p.parts)


def test_every_component_has_a_layer():
    found = {_component(_module_name(p)) for p in MODULES}
    assert found <= set(RANK), f"components without a layer: {sorted(found - set(RANK))}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_go_down_the_layers(path):
    me = _component(_module_name(path))
    bad = [f"line {line}: {target}" for line, target in _imports(path)
           if _component(target) in RANK and RANK[_component(target)] > RANK[me]]
    assert not bad, f"{path.relative_to(ROOT)} ({me}) imports from a higher layer: {bad}"


def test_the_reader_resolves_relative_imports(tmp_path):
    """results importing inference (relative, inside a function) is read as henderson.inference."""
    fake = tmp_path / "henderson" / "results" / "record.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("def f():\n    from ..inference import satterthwaite\n    from . import tables\n")
    assert _imports(fake, tmp_path / "henderson") == [(2, "henderson.inference"), (3, "henderson.results")]
