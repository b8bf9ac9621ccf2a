"""Demo: REML animal model of pedigreemm's milk data with its pedigree, through the command line.

    python -m henderson.demo [OUT]        # results in OUT (default: henderson_demo_results)

Runs ``henderson fit`` on a job file equivalent to pedigreemm's example
``pedigreemm(milk/sd(milk) ~ lact + log(dim) + (1|id) + (1|herd), pedigree = list(id = pedCows))``.
"""
from __future__ import annotations

import sys
from pathlib import Path

JOB = """# pedigreemm's milk example: milk scaled to unit SD, animal model on id with pedCows
data = "{data}"
pedigree = "{pedigree}"
pedigree_term = "id"
formula = "milk ~ lact + np.log(dim) + (1|id) + (1|herd)"
scale = ["milk"]
factors = ["herd"]
method = "REML"
algorithm = "ai"
out = "{out}"
"""


def main(argv=None) -> int:
    """Write the job file into OUT and run ``henderson fit`` on it; the command's exit code."""
    from . import datasets
    from .cli import main as cli_main
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0] if argv else "henderson_demo_results").resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    job = out.parent / f"{out.name}.toml"
    text = JOB.format(data=datasets.path("milk"), pedigree=datasets.path("pedCows"), out=out)
    if job.exists() and job.read_text() != text:  # not a job file this demo wrote: never overwrite it
        print(f"henderson: error: {job} exists and is not the demo's job file; "
              f"give another output folder: python -m henderson.demo OUT", file=sys.stderr)
        return 2
    job.write_text(text)
    print(f"$ henderson fit {job}", flush=True)
    return cli_main(["fit", str(job)])


if __name__ == "__main__":
    sys.exit(main())
