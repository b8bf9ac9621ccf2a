"""Job specifications: one fit (data, formula, pedigree, method, transforms, output folder).

A job is a plain dict (so it pickles to worker processes and Dask workers). It comes from a TOML job
file, from command-line flags, or from a batch file's defaults, ``[[job]]`` tables and ``[grid]``.
Relative paths are taken relative to the file that names them.
"""
from __future__ import annotations

import argparse
import itertools
import math
import tomllib
from pathlib import Path

from ..options import ALGORITHMS, METHODS, ORDERINGS, Options  # defined once (no heavy imports)

FIELDS = {
    "name": str, "data": str, "formula": str, "out": str, "pedigree": str, "pedigree_term": str,
    "pedigree_id": str, "pedigree_sire": str, "pedigree_dam": str, "method": str, "algorithm": str,
    "factors": list, "scale": list, "subset": str, "max_iter": int, "tol": float, "em_start": int,
    "ordering": str, "correlation": str, "variance": str, "weights": str,
    "pedigree_unknown": list, "pedigree_sire_as_dam": str, "pedigree_parents_not_listed": str,
    "pedigree_sep": str, "pedigree_header": str, "pedigree_columns": str,
    "genotypes": str, "genomic": str, "blend": float, "tune": bool, "apy_core": int, "genomic_qc": bool,
    "correlated": list,
    "snp_effects": bool, "snp_window": int,
}
TRAIT_FIELDS = ("formula", "traits")   # a job's formula(s): see trait_formulas_field
GENOMIC = ("ssgblup", "gblup")  # values of the job key ``genomic`` (with ``genotypes``: a .bed or CSV file)
PEDIGREE_OPTIONS = ("pedigree_unknown", "pedigree_sire_as_dam", "pedigree_parents_not_listed", "pedigree_sep",
                    "pedigree_header", "pedigree_columns")  # command-line flags with these dests set these keys
PATHS = ("data", "pedigree", "out", "genotypes")
DEFAULTS = {"method": Options.method, "algorithm": Options.algorithm, "pedigree_term": "id", "pedigree_id": "id",
            "pedigree_sire": "sire", "pedigree_dam": "dam", "factors": [], "scale": []}


# Numeric keys with a lower bound: (smallest allowed, whether it is allowed itself, wording).
BOUNDS = {"max_iter": (1, True, "a whole number >= 1"), "em_start": (0, True, "a whole number >= 0"),
          "tol": (0.0, False, "a finite number > 0"), "snp_window": (1, True, "a whole number >= 1")}


def bound_problem(key: str, value) -> str | None:
    """Why ``value`` is not allowed for the numeric job key ``key`` (None when it is, or ``key`` has no
    bound). Booleans are not numbers here (True is an int in Python)."""
    if key not in BOUNDS:
        return None
    low, inclusive, wording = BOUNDS[key]
    whole = FIELDS[key] is int
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (whole and not isinstance(value, int)):
        return f"must be {wording}, got {value!r}"
    if not math.isfinite(value) or value < low or (value == low and not inclusive):
        return f"must be {wording}, got {value!r}"
    return None


def flag_type(key: str):
    """An argparse ``type`` for the flag of ``key`` that applies the key's bound (argparse exits 2 with
    "argument --max-iter: must be a whole number >= 1, got -3")."""
    def convert(text: str):
        try:
            value = FIELDS[key](text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {BOUNDS[key][2]}, got {text!r}") from None
        problem = bound_problem(key, value)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value
    convert.__name__ = key
    return convert


class JobFileError(ValueError):
    """A job or batch file is malformed; ``file`` names it."""

    def __init__(self, file, message):
        super().__init__(message)
        self.file = str(file)


def read_toml(path) -> dict:
    """The parsed TOML file; JobFileError when missing or malformed."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise JobFileError(path, "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise JobFileError(path, f"not valid TOML: {exc}") from None


def check_fields(d: dict, file, where: str = "") -> dict:
    """``d`` with known keys only and values of the right type (ints accepted for floats)."""
    out = {}
    for k, v in d.items():
        if k in TRAIT_FIELDS:   # multi-trait: formula = [list of formulas], or a [traits] table name = formula
            out[k] = trait_formulas_field(k, v, file, where)
            continue
        if k not in FIELDS:
            raise JobFileError(file, f"unknown key {k!r}{where}; known keys: {', '.join(sorted(FIELDS))}")
        t = FIELDS[k]
        if t is float and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        if k == "correlated":
            out[k] = correlated_groups(v, file, where)
            continue
        if t is list and isinstance(v, str):
            v = [v]
        if not isinstance(v, t) or (t is list and not all(isinstance(x, str) for x in v)) \
                or (t is int and isinstance(v, bool)):
            raise JobFileError(file, f"key {k!r}{where} must be {'a list of strings' if t is list else t.__name__}, "
                                     f"got {v!r}")
        problem = bound_problem(k, v)
        if problem:
            raise JobFileError(file, f"key {k!r}{where} {problem}")
        out[k] = v
    return out


def correlated_groups(value, file, where: str = "") -> list[list[str]]:
    """The job key ``correlated``: groups of random-term columns with one joint covariance, written
    [["id", "dam"]] (or ["id", "dam"] for one group; on the command line --correlated id,dam)."""
    groups = [value] if isinstance(value, list) and all(isinstance(x, str) for x in value) else value
    if not isinstance(groups, list) or not all(isinstance(g, list) and len(g) >= 2 and
                                               all(isinstance(x, str) and x for x in g) for g in groups):
        raise JobFileError(file, f"key 'correlated'{where} must be a list of groups of at least two column "
                                 f"names, e.g. [[\"id\", \"dam\"]], got {value!r}")
    return [list(g) for g in groups]


def trait_formulas_field(key: str, value, file, where: str = ""):
    """A multi-trait job's ``formula`` (one string, or a list of formulas) or ``traits`` table (name = formula)."""
    if key == "formula" and isinstance(value, str):
        return value
    if key == "formula" and isinstance(value, list) and value and all(isinstance(x, str) for x in value):
        return value
    if key == "traits" and isinstance(value, dict) and value and all(isinstance(x, str) for x in value.values()):
        return value
    wanted = "a table of trait = formula" if key == "traits" else "a formula or a list of formulas (one per trait)"
    raise JobFileError(file, f"key {key!r}{where} must be {wanted}, got {value!r}")


def resolve_paths(job: dict, base: Path) -> dict:
    """Relative data, pedigree and out paths made absolute against ``base``."""
    job = dict(job)
    for k in PATHS:
        if job.get(k):
            p = Path(job[k]).expanduser()
            job[k] = str(p if p.is_absolute() else (base / p))
    return job


def finish(job: dict, file) -> dict:
    """Defaults filled in and required keys checked."""
    job = {**DEFAULTS, **job}
    if "traits" in job:   # a multi-trait job: its formulas by trait
        if job.get("formula"):
            raise JobFileError(file, "give either 'formula' or a [traits] table, not both")
        job["formula"] = dict(job.pop("traits"))
    for k in ("data", "formula"):
        if not job.get(k):
            raise JobFileError(file, f"job {job.get('name', '')!r} has no {k!r}".replace(" '' ", " "))
    job["method"] = job["method"].upper()
    if job["method"] not in METHODS:
        raise JobFileError(file, f"method must be {' or '.join(METHODS)}, got {job['method']!r}")
    if job.get("ordering") is not None and job["ordering"] not in ORDERINGS:
        raise JobFileError(file, f"ordering must be one of {', '.join(ORDERINGS)}, got {job['ordering']!r}")
    _check_genomic(job, file)
    if job.get("correlated"):   # from a flag (a job file's key was checked by check_fields)
        job["correlated"] = correlated_groups(job["correlated"], file)
    job["algorithm"] = job["algorithm"].lower()
    if job["algorithm"] not in ALGORITHMS:
        raise JobFileError(file, f"algorithm must be {' or '.join(ALGORITHMS)}, got {job['algorithm']!r}")
    return job


def load_job(path, overrides: dict | None = None) -> dict:
    """One job from a TOML file (top-level keys), with command-line ``overrides`` applied on top."""
    path = Path(path)
    job = resolve_paths(check_fields(read_toml(path), path), path.parent)
    job.update({k: v for k, v in (overrides or {}).items() if v not in (None, [])})
    return finish(job, path)


def _format(value, env: dict):
    """str.format with ``env`` applied until nothing changes (placeholders may expand to placeholders)."""
    if isinstance(value, list):
        return [_format(v, env) for v in value]
    if not isinstance(value, str):
        return value
    for _ in range(4):
        new = value.format(**env)
        if new == value:
            break
        value = new
    return value


def expand_grid(grid: dict, file) -> list[dict]:
    """One job per combination of the grid's axes (lists, or tables of label = value).

    ``[grid.job]`` holds job keys with ``{axis}`` placeholders; the name defaults to the labels joined by '-'.
    """
    template = dict(grid.get("job", {}))
    axes = {k: v for k, v in grid.items() if k != "job"}
    if not axes:
        raise JobFileError(file, "[grid] needs at least one axis (a list or a table)")
    labelled = []
    for k, v in axes.items():
        if isinstance(v, list):
            labelled.append([(str(x), str(x)) for x in v])
        elif isinstance(v, dict):
            labelled.append([(str(a), str(b)) for a, b in v.items()])
        else:
            raise JobFileError(file, f"[grid] axis {k!r} must be a list or a table, got {v!r}")
    jobs = []
    for combo in itertools.product(*labelled):
        env = {k: value for k, (_, value) in zip(axes, combo)}
        job = {k: _format(v, env) for k, v in template.items()}
        try:
            job = {k: _format(v, env) for k, v in job.items()}
        except (KeyError, IndexError, ValueError) as exc:
            raise JobFileError(file, f"[grid.job] placeholder {exc} is not a grid axis") from None
        job.setdefault("name", "-".join(label for label, _ in combo))
        jobs.append(job)
    return jobs


def load_batch(path) -> tuple[list[dict], dict]:
    """Jobs of a batch file (defaults merged into every ``[[job]]`` and grid job) and batch options.

    Batch options: ``out`` (folder holding one result folder per job; default: the file's stem + "_results"),
    ``workers`` and ``cluster`` (the ``[cluster]`` table as written, checked by clusters.cluster_spec).
    """
    path = Path(path)
    raw = read_toml(path)
    known = {"defaults", "job", "grid", "out", "workers", "cluster"}
    extra = set(raw) - known
    if extra:
        raise JobFileError(path, f"unknown top-level key(s) {sorted(extra)}; expected {sorted(known)}")
    defaults = check_fields(raw.get("defaults", {}), path, " in [defaults]")
    listed = raw.get("job", [])
    if not isinstance(listed, list):
        raise JobFileError(path, "'job' must be an array of tables ([[job]])")
    jobs = [dict(j) for j in listed] + (expand_grid(raw["grid"], path) if "grid" in raw else [])
    if not jobs:
        raise JobFileError(path, "no jobs: add [[job]] tables or a [grid]")
    out_dir = Path(raw.get("out") or defaults.pop("out", None) or path.stem + "_results")
    out_dir = out_dir if out_dir.is_absolute() else path.parent / out_dir
    result, seen = [], set()
    for i, j in enumerate(jobs):
        j = {**defaults, **check_fields(j, path, f" in job {i + 1}")}
        name = j.get("name") or f"job{i + 1}"
        if name in seen:
            raise JobFileError(path, f"two jobs are named {name!r}; names must be unique")
        seen.add(name)
        j["name"] = name
        j.setdefault("out", str(out_dir / name))
        result.append(finish(resolve_paths(j, path.parent), path))
    workers = raw.get("workers")
    return result, {"out": str(out_dir), "workers": workers, "cluster": raw.get("cluster")}


def _check_genomic(job: dict, file) -> None:
    """``genotypes`` and ``genomic`` come together; single-step needs a pedigree; blend in [0, 1)."""
    if not job.get("genotypes") and not job.get("genomic"):
        extra = [k for k in ("blend", "tune", "apy_core", "genomic_qc", "snp_effects", "snp_window") if k in job]
        if extra:
            raise JobFileError(file, f"key(s) {', '.join(extra)} apply to genomic models: add 'genotypes' and "
                                     f"'genomic'")
        return
    if not job.get("genotypes") or not job.get("genomic"):
        raise JobFileError(file, "keys 'genotypes' (a .bed or CSV file) and 'genomic' (ssgblup or gblup) go together")
    job["genomic"] = job["genomic"].lower()
    if job["genomic"] not in GENOMIC:
        raise JobFileError(file, f"genomic must be one of {', '.join(GENOMIC)}, got {job['genomic']!r}")
    if job["genomic"] == "ssgblup" and not job.get("pedigree"):
        raise JobFileError(file, "genomic = 'ssgblup' needs a pedigree")
    if not 0.0 <= job.get("blend", 0.05) < 1.0:
        raise JobFileError(file, f"blend must lie in [0, 1), got {job['blend']!r}")
