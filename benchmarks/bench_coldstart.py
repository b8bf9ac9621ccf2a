"""Cold start as a user meets it: a fresh install, ``import henderson``, ``henderson --help``, and the
first fit in a new process with an empty numba cache (cold) and with the cache it left (warm).

    python -m benchmarks.bench_coldstart                      # milk animal model + Penicillin (~5 min)
    python -m benchmarks.bench_coldstart --crossed InstEval   # InstEval as the crossed model
    python -m benchmarks.bench_coldstart --crossed Penicillin InstEval

A wheel is built from this checkout as pip builds one for a user installing from source (``pip
wheel --no-deps``: an isolated build environment with the build requirements of pyproject.toml,
then henderson's kernels compiled ahead of time by setup.py) and installed with ``pip install
--no-deps --target <tmp>`` (what installing a published wheel costs); every measurement runs in a
new Python process with that folder first on PYTHONPATH. Cold: NUMBA_CACHE_DIR is a new empty
folder; warm: the same command again with the folder the cold run filled. Every model is fitted
with the install-time kernels (AOT) and with HENDERSON_NO_AOT=1 (numba compiles every kernel, as
without them). Import and --help times are medians of 5 processes. Output:
benchmarks/results/coldstart.json and coldstart.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
MODELS = {
    "milk": ("milk ~ lact + np.log(dim) + (1|id) + (1|herd)", "milk"),
    "Penicillin": ("diameter ~ 1 + (1|plate) + (1|sample)", "Penicillin"),
    "InstEval": ("y ~ service*dept + (1|s) + (1|d)", "InstEval"),
}

# Runs in the child process: the import, the data and the fit timed apart; one JSON line.
CHILD = """
import json, resource, sys, time
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
t0 = time.perf_counter()
import henderson as hd
data = hd.datasets.load(sys.argv[2])
t1, c1 = time.perf_counter(), cpu()
if sys.argv[1] == "milk":
    data["milk"] = data["milk"] / data["milk"].std()
    kw = {"relationships": {"id": hd.read_pedigree(hd.datasets.path("pedCows"))}}
else:
    kw = {}
r = hd.fit(sys.argv[3], data, **kw)
t2, c2 = time.perf_counter(), cpu()
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
from henderson import aot
print(json.dumps({"file": hd.__file__, "load_seconds": t1 - t0, "fit_seconds": t2 - t1, "fit_cpu_seconds": c2 - c1,
                  "converged": bool(r.converged), "peak_mb": peak_mb, "aot": aot.compiled() is not None}))
"""


def install(target: Path) -> dict:
    """Build a wheel of this checkout and pip-install it (no dependencies, no editable link) into
    target: seconds taken by each step."""
    wheels = target.parent / "wheel"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(ROOT)],
                   check=True, cwd=target.parent)
    t1 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                    *map(str, wheels.glob("henderson-*.whl"))], check=True, cwd=target.parent)
    return {"build_seconds": t1 - t0, "install_seconds": time.perf_counter() - t1}


def _env(target: Path, cache: Path | None, no_aot: bool = False) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NUMBA_CACHE_DIR", "HENDERSON_NO_AOT")}
    env["PYTHONPATH"] = str(target)
    if cache is not None:
        env["NUMBA_CACHE_DIR"] = str(cache)
    if no_aot:
        env["HENDERSON_NO_AOT"] = "1"
    return env


def wall(args: list[str], target: Path, repeat: int = 5) -> float:
    """Median wall seconds of `python <args>` in `repeat` new processes."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, *args], check=True, env=_env(target, None), cwd=target.parent,
                       stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def first_fit(model: str, target: Path, cache: Path, no_aot: bool) -> dict:
    """One fit of `model` in a new process with numba cache folder `cache`: seconds, memory, notice."""
    formula, dataset = MODELS[model]
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", CHILD, model, dataset, formula], env=_env(target, cache, no_aot),
                       cwd=target.parent, capture_output=True, text=True, check=True)
    out = json.loads(p.stdout.strip().splitlines()[-1])
    if not out["file"].startswith(str(target)):
        raise RuntimeError(f"the child imported {out['file']}, not the fresh install in {target}")
    out["process_seconds"] = time.perf_counter() - t0
    out["notice"] = "compiling henderson's numba kernels" in p.stderr
    return out


MODES = {"AOT": False, "numba JIT": True}  # kernels -> HENDERSON_NO_AOT


def measure(crossed: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="henderson-coldstart-") as tmp:
        target = Path(tmp) / "site"
        res = {**install(target),
               "import_seconds": wall(["-c", "import henderson"], target),
               "import_api_seconds": wall(["-c", "import henderson; henderson.Model; henderson.Pedigree"], target),
               "help_seconds": wall(["-m", "henderson.cli", "--help"], target), "fits": {}}
        for model in ("milk", *crossed):
            for mode, no_aot in MODES.items():
                cache = Path(tmp) / f"numba-cache-{model}-{no_aot}"
                cache.mkdir()
                cold = first_fit(model, target, cache, no_aot)
                warm = first_fit(model, target, cache, no_aot)
                res["fits"].setdefault(model, {})[mode] = {"cold": cold, "warm": warm}
        return res


def markdown(res: dict, started: str, args: str) -> str:
    lines = ["# henderson cold start", "",
             f"Run {started} on {platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs, Python "
             f"{platform.python_version()}). Reproduce: `python -m benchmarks.bench_coldstart{args}`.", "",
             "A wheel built from the checkout (`pip wheel --no-deps`: isolated build environment, kernels compiled "
             "ahead of time) and a fresh `pip install --target` of it; every figure is a new Python process. Import "
             "and --help: median of 5. Cold: empty NUMBA_CACHE_DIR; warm: the same fit again with the cache the cold "
             "run left. `fit s` = data loading excluded, numba compilation included (wall; `CPU s` the same in "
             "CPU seconds of the process, less sensitive to other load on the machine); `process s` = whole process; "
             "`kernels`: AOT, the install-time kernels; numba JIT, HENDERSON_NO_AOT=1 (numba compiles them all); "
             "`AOT used`: the fit found the install-time kernels.",
             "", "| measurement | seconds |", "|---|---:|",
             f"| pip wheel (build from source, no deps) | {res['build_seconds']:.2f} |",
             f"| pip install of the wheel (no deps) | {res['install_seconds']:.2f} |",
             f"| `import henderson` | {res['import_seconds']:.3f} |",
             f"| `import henderson; henderson.Model; henderson.Pedigree` | {res['import_api_seconds']:.3f} |",
             f"| `henderson --help` | {res['help_seconds']:.3f} |", "",
             "| model | kernels | cache | fit s | CPU s | process s | cold - warm s (CPU) | peak MB | notice on stderr "
             "| AOT used |", "|---|---|---|---:|---:|---:|---:|---:|---|---|"]
    for model, modes in res["fits"].items():
        for mode, runs in modes.items():
            lines += _rows(model, mode, runs)
    return "\n".join(lines) + "\n"


def _rows(model: str, mode: str, runs: dict) -> list[str]:
    """The cold and warm rows of one model and kernel mode."""
    extra = runs["cold"]["fit_seconds"] - runs["warm"]["fit_seconds"]
    extra_cpu = runs["cold"]["fit_cpu_seconds"] - runs["warm"]["fit_cpu_seconds"]
    lines = []
    for kind in ("cold", "warm"):
        r = runs[kind]
        lines.append(f"| {model} | {mode} | {kind} | {r['fit_seconds']:.2f} | {r['fit_cpu_seconds']:.2f} | "
                     f"{r['process_seconds']:.2f} | {extra:.2f} ({extra_cpu:.2f}) | {r['peak_mb']:.0f} | "
                     f"{'yes' if r['notice'] else 'no'} | {'yes' if r['aot'] else 'no'} |")
    return lines


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--crossed", nargs="+", choices=["Penicillin", "InstEval"], default=["Penicillin"])
    ap.add_argument("--out", type=Path, default=RESULTS)
    a = ap.parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M")
    res = measure(a.crossed)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "coldstart.json").write_text(json.dumps({"started": started, **res}, indent=1))
    args = "" if a.crossed == ["Penicillin"] else " --crossed " + " ".join(a.crossed)
    text = markdown(res, started, args)
    (a.out / "coldstart.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
