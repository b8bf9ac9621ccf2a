"""Command line: ``henderson fit``, ``henderson batch``, ``henderson simulate``.

Exit codes: 0 ok; 2 bad input (one line "henderson: error: <file>: <message>"); 3 not converged
(result still written, converged = false); 4 internal failure (traceback only with --verbose).
"""
from __future__ import annotations

import argparse
import logging
import sys

from .clusters import KINDS
from .exitcodes import BAD_INPUT, INTERNAL, NOT_CONVERGED, OK
from .jobspec import ORDERINGS, flag_type

__all__ = ["main", "OK", "BAD_INPUT", "NOT_CONVERGED", "INTERNAL"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="henderson", description="Linear mixed models by Henderson's MME.")
    sub = p.add_subparsers(dest="command", required=True)

    f = sub.add_parser("fit", help="fit one model (TOML job file and/or flags)")
    f.add_argument("job", nargs="?", help="TOML job file (flags override its keys)")
    f.add_argument("--data", help="data table (.csv, .csv.gz, .parquet)")
    f.add_argument("--formula", help="model formula, e.g. 'y ~ x + (1|herd) + (1|id)'")
    f.add_argument("--pedigree", help="pedigree table with columns id, sire, dam")
    f.add_argument("--pedigree-term", help="grouping factor the pedigree applies to (default: id)")
    _pedigree_flags(f)
    f.add_argument("--method", choices=["REML", "ML", "reml", "ml"])
    f.add_argument("--algorithm", choices=["ai", "em", "AI", "EM"])
    f.add_argument("--factor", action="append", dest="factors", metavar="COL", help="make COL categorical")
    f.add_argument("--scale", action="append", metavar="COL", help="divide COL by its standard deviation")
    f.add_argument("--correlation", help="residual correlation, nlme's form: 'corAR1(~ 1 | id)', 'corSymm(~ 1 | id)'")
    f.add_argument("--variance", help="residual variance function: 'varIdent(~ 1 | week)'")
    f.add_argument("--weights", metavar="COL", help="column of known precision weights (residual variance sigma2 / w)")
    f.add_argument("--correlated", action="append", metavar="A,B", type=lambda x: x.split(","),
                   help="random terms on columns A and B with one joint covariance (direct-maternal: "
                        "id,dam; the pedigree applies to both), repeatable")
    f.add_argument("--subset", help="pandas query selecting rows, e.g. 'lact == 1'")
    f.add_argument("--max-iter", type=flag_type("max_iter"))
    f.add_argument("--tol", type=flag_type("tol"))
    f.add_argument("--ordering", choices=list(ORDERINGS),
                   help="factorization of the MME (default auto: block elimination for crossed/nested "
                        "designs, CHOLMOD with AMD otherwise)")
    f.add_argument("--out", help="output folder: new, empty, or holding an earlier henderson result")
    _verbosity(f)

    b = sub.add_parser("batch", help="run the jobs of a TOML batch file")
    b.add_argument("jobs", help="TOML batch file: [defaults], [[job]] tables and/or a [grid]")
    b.add_argument("--workers", type=int, help="parallel worker processes (default 1, or the file's 'workers')")
    b.add_argument("--scheduler", metavar="ADDRESS", help="run on this Dask distributed scheduler")
    b.add_argument("--cluster", choices=list(KINDS), type=str.lower,
                   help="submit Dask workers as jobs of this queue system (dask-jobqueue; more settings in "
                        "the batch file's [cluster] table)")
    b.add_argument("--jobs", dest="cluster_jobs", type=_positive, metavar="N",
                   help="number of cluster jobs to submit with --cluster (default 1, or [cluster] jobs)")
    b.add_argument("--out", help="folder for result folders and summary (default: from the file)")
    b.add_argument("--force", action="store_true", help="recompute jobs whose results are complete")
    _verbosity(b)

    s = sub.add_parser("simulate", help="simulate a dairy-like population: data.csv, pedigree.csv, truth.json")
    s.add_argument("--animals", type=int, required=True)
    s.add_argument("--generations", type=int, default=10)
    s.add_argument("--herds", type=int)
    s.add_argument("--sires-per-generation", type=int)
    s.add_argument("--unknown-dam-fraction", type=float, default=0.1)
    s.add_argument("--unknown-sire-fraction", type=float, default=0.0)
    s.add_argument("--record-fraction", type=float, default=0.9)
    s.add_argument("--h2", type=float, default=0.3)
    s.add_argument("--lactations", type=int, default=1, help="records per cow at most (>1 adds permanent env.)")
    s.add_argument("--seed", type=int)
    s.add_argument("--format", choices=["csv", "parquet"], default="csv")
    s.add_argument("--out", required=True)
    _verbosity(s)
    return p


def _positive(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def _pedigree_flags(f):
    """Flags of the pedigree file's layout and its unknown-parent, selfing and unlisted-parent options."""
    f.add_argument("--pedigree-sep", metavar="SEP", dest="pedigree_sep",
                   help="pedigree field separator: ',' (default), 'whitespace' (blanks/tabs, as renumf90), 'tab', ';'")
    f.add_argument("--pedigree-header", choices=["yes", "none"], dest="pedigree_header",
                   help="'none' for a pedigree file without a header line (columns by position, default 1,2,3)")
    f.add_argument("--pedigree-columns", metavar="ID,SIRE,DAM", dest="pedigree_columns",
                   help="1-based positions of the id, sire and dam columns, e.g. 1,2,3")
    f.add_argument("--unknown-parent", action="append", metavar="CODE", dest="pedigree_unknown",
                   help="unknown-parent code, repeatable (replaces the defaults 0, NA, '.'; empty cells are "
                        "always unknown), e.g. --unknown-parent 0 --unknown-parent=-")
    f.add_argument("--sire-as-dam", choices=["error", "warn", "allow"], dest="pedigree_sire_as_dam",
                   help="an id used as sire and as dam, selfing included: error (default), warn, or allow "
                        "(plants, fish)")
    f.add_argument("--parents-not-listed", choices=["check", "founders"], dest="pedigree_parents_not_listed",
                   help="parents never listed as animals: check (default: added as founders, but an error for "
                        "code-like values such as '-' or 'UNKNOWN' shared by animals) or founders (accept all)")


def _verbosity(p):
    g = p.add_mutually_exclusive_group()
    g.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    g.add_argument("-v", "--verbose", action="store_true", help="more detail; tracebacks of internal errors")


def error(message: str) -> None:
    """One line on stderr: 'henderson: error: <message>'."""
    print(f"henderson: error: {message}", file=sys.stderr, flush=True)


class _StderrHandler(logging.Handler):
    """Log records as 'henderson: <message>' on the current sys.stderr."""

    def emit(self, record) -> None:
        print(f"henderson: {record.getMessage()}", file=sys.stderr, flush=True)


def _log_to_stderr(quiet: bool) -> None:
    """Messages of the ``henderson`` logger (the kernel-compilation notice) on stderr unless quiet."""
    log = logging.getLogger("henderson")
    handler = next((h for h in log.handlers if isinstance(h, _StderrHandler)), None)
    if handler is None:
        handler = _StderrHandler()
        log.addHandler(handler)
    handler.setLevel(logging.ERROR if quiet else logging.INFO)


def main(argv=None) -> int:
    """Entry point of the ``henderson`` command; returns the exit code."""
    args = _parser().parse_args(argv)
    _log_to_stderr(quiet=args.quiet)
    from . import commands
    try:
        return {"fit": commands.fit, "batch": commands.batch, "simulate": commands.simulate}[args.command](args)
    except KeyboardInterrupt:
        error("interrupted")
        return 130
