"""Run one job: check the output folder, read data and pedigree, build the model, fit, write the result.

Failures are classified for the exit code: bad input (2; also an output folder that cannot take the
result, found before fitting), not converged (3; result still written), internal failure (4). Bad
input is reported as "<file>: <message>" naming the file or folder at fault.
"""
from __future__ import annotations

import re
import time
import traceback
import warnings

from ..errors import (
    ConvergenceError,
    ConvergenceWarning,
    DesignError,
    NotPositiveDefiniteError,
    OutputFolderError,
    PedigreeError,
)
from ..io import check_output, prepare_data, read_table, write_result
from ..io.folders import FIT_RESULT
from .exitcodes import BAD_INPUT, INTERNAL, NOT_CONVERGED, OK  # noqa: F401  (re-exported)
from .genomicjob import genomic_writer
from .jobspec import JobFileError
from .resume import job_fingerprint

INPUT_ERRORS = (DesignError, PedigreeError, NotPositiveDefiniteError, FileNotFoundError, KeyError)


class InputProblem(Exception):
    """Bad input located in ``file``."""

    def __init__(self, file, message):
        super().__init__(message)
        self.file = str(file)

    def __str__(self):
        return f"{self.file}: {self.args[0]}"


def _strip_file(message: str, file: str) -> str:
    """The message without a leading "<file>: " (read_table already names its file)."""
    return message[len(file) + 2:] if message.startswith(file + ": ") else message


class _Stage:
    """Turn input errors raised inside the block into InputProblem(file)."""

    def __init__(self, file):
        self.file = str(file)

    def __enter__(self):
        return self

    def __exit__(self, typ, exc, tb):
        if exc is None or isinstance(exc, InputProblem) or not isinstance(exc, INPUT_ERRORS):
            return False
        msg = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        if isinstance(exc, KeyError):
            msg = f"column {msg!r} not found"
        raise InputProblem(self.file, _strip_file(msg, self.file)) from exc


def _read_pedigree(job: dict):
    """The job's Pedigree: file layout (pedigree_sep, pedigree_header, pedigree_columns or the
    pedigree_id/sire/dam names) and options (pedigree_unknown, pedigree_sire_as_dam,
    pedigree_parents_not_listed); errors as DesignError/PedigreeError."""
    from ..io.data import read_pedigree_table
    from ..pedigree import Pedigree
    from ..pedigree.build import SIRE_AS_DAM
    from ..pedigree.codes import DEFAULT_UNKNOWN, PARENTS_NOT_LISTED
    options = {"sire_as_dam": job.get("pedigree_sire_as_dam") or "error",
               "parents_not_listed": job.get("pedigree_parents_not_listed") or "check"}
    for key, choices in (("sire_as_dam", SIRE_AS_DAM), ("parents_not_listed", PARENTS_NOT_LISTED)):
        if options[key] not in choices:
            raise DesignError(f"pedigree_{key} must be one of {', '.join(choices)}; got {options[key]!r}")
    table = read_pedigree_table(job["pedigree"], sep=job.get("pedigree_sep") or ",",
                                header=job.get("pedigree_header") or "yes", columns=job.get("pedigree_columns"),
                                names=(job["pedigree_id"], job["pedigree_sire"], job["pedigree_dam"]))
    return Pedigree.from_frame(table, *table.columns, unknown=job.get("pedigree_unknown") or DEFAULT_UNKNOWN,
                               **options)


def pedigree_columns(job: dict) -> list[str]:
    """The columns the pedigree applies to: the pedigree term and every column joined to it by
    ``correlated`` (direct-maternal: id and dam, one relationship matrix for both)."""
    term = job.get("pedigree_term")
    partners = [c for g in job.get("correlated") or [] if term in g for c in g if c != term]
    return [term] + list(dict.fromkeys(partners))


def load_inputs(job: dict):
    """(data frame, relationships dict) of a job, with transforms applied.

    The pedigree columns (pedigree_columns) are read as text and normalized as pedigree ids are ("6489.0"
    is 6489); in a column joined to the pedigree term (the dam), unknown-parent codes are missing values,
    so those records are left out as records with any missing value are.
    """
    from ..ids import normalize_ids
    from ..pedigree.codes import DEFAULT_UNKNOWN
    cols = pedigree_columns(job) if job.get("pedigree") else []
    text_cols = list(job.get("factors", [])) + cols
    with _Stage(job["data"]):
        df = read_table(job["data"], columns_as_text=text_cols)
        for c in cols[1:]:
            if c not in df.columns:
                raise InputProblem(job["data"], f"correlated: {c!r} (joined to the pedigree term "
                                                f"{cols[0]!r}) is not a column of the data")
            df[c] = df[c].where(~df[c].isin(list(job.get("pedigree_unknown") or DEFAULT_UNKNOWN)))
        for c in cols:
            if c in df.columns:
                df[c] = normalize_ids(df[c])
        df = prepare_data(df, job.get("subset"), job.get("factors", []), job.get("scale", []), label=job["data"])
    rels = None
    if job.get("pedigree"):
        with _Stage(job["pedigree"]):
            ped = _read_pedigree(job)
            if cols[0] not in df.columns:
                raise InputProblem(job["data"], f"pedigree term {cols[0]!r} is not a column of the data")
            for c in cols:
                _check_animals(ped, df, c, c != cols[0])
        rels = dict.fromkeys(cols, ped)
    if job.get("genotypes"):
        term = job.get("pedigree_term")
        rels = dict.fromkeys(cols or [term], _genomic(job, rels[term] if rels else None))
    return df, rels


def _check_animals(ped, df, column: str, joined: bool) -> None:
    """PedigreeError naming the values of ``column`` that are not animals of the pedigree (for a column
    joined by ``correlated``, saying so)."""
    try:
        ped.positions(df[column].dropna().unique())
    except PedigreeError as exc:
        if not joined:
            raise
        raise PedigreeError(f"correlated: column {column!r} takes the pedigree: {exc}") from exc


def _genomic(job: dict, ped):
    """The job's hd.SingleStep or hd.GBLUP (keys genotypes, genomic, blend, tune, apy_core, genomic_qc)."""
    from ..genomic import GBLUP, SingleStep, read_genotypes
    with _Stage(job["genotypes"]):
        geno = read_genotypes(job["genotypes"], id=job.get("pedigree_id") or "id")
    options = {"blend": job.get("blend", 0.05), "apy_core": job.get("apy_core"), "qc": job.get("genomic_qc", True)}
    if job.get("tune") is not None:
        options["tune"] = job["tune"]
    if job["genomic"] == "ssgblup":
        return SingleStep(ped, geno, **options)
    return GBLUP(geno, pedigree=ped, **options)


def _build_model(job: dict, models: dict | None):
    """The job's Model: from ``models`` (share_key -> Model of an earlier job of this worker) by
    Model.with_response, sharing its inputs and MME analysis, or read and built (and kept there)."""
    from ..model import Model
    from .traitgroups import response_of, share_key
    key = None if models is None else share_key(job)
    if key is not None and key in models:
        return models[key].with_response(response_of(job["formula"]))
    df, rels = load_inputs(job)
    model = Model(job["formula"], df, relationships=rels, ordering=job.get("ordering") or "auto",
                  correlation=job.get("correlation"), variance=job.get("variance"), weights=job.get("weights"),
                  correlated=[tuple(g) for g in job.get("correlated") or []])
    if key is not None:
        models[key] = model
    return model


def fit_job(job: dict, callback=None, models: dict | None = None):
    """(FitResult, model build seconds, fit seconds) of a job; input errors raised as InputProblem.
    ``models``: a worker's models by share key (henderson.cli.traitgroups), reused by jobs that differ
    only in the response."""
    t0 = time.perf_counter()
    try:
        model = _build_model(job, models)
    except PedigreeError as exc:
        raise InputProblem(job.get("pedigree") or job["data"], str(exc)) from exc
    except INPUT_ERRORS as exc:
        raise InputProblem(job["data"], f"formula {job['formula']!r}: {exc}") from exc
    t1 = time.perf_counter()
    with _Stage(job["data"]):
        extra = {"em_start": job["em_start"]} if job.get("em_start") is not None else {}
        r = model.fit(method=job["method"], algorithm=job["algorithm"], max_iter=job.get("max_iter"),
                      tol=job.get("tol"), callback=callback, **extra)
    return r, t1 - t0, time.perf_counter() - t1


def inputs_of(job: dict, protect=()) -> list[str]:
    """The files a job reads (data, pedigree) and ``protect``: what its output folder must not hold."""
    return [f for f in [job.get("data"), job.get("pedigree"), job.get("genotypes"), *protect] if f]


def run_job(job: dict, callback=None, raise_internal: bool = False, fingerprint: dict | None = None,
            protect=(), models: dict | None = None) -> dict:
    """Fit a job and write its result folder; a summary row, never an exception (unless raise_internal).

    The output folder is checked before fitting (henderson.io.check_output; it must not hold the job's
    inputs nor ``protect``). ``fingerprint`` (henderson.cli.resume.job_fingerprint, computed here when
    None) is stored in result.json. ``models``: see fit_job. Row keys: name, status (ok | not_converged |
    failed), exit_code, seconds, iterations, loglik, converged, error (one line), traceback (internal failures), out.
    """
    t0 = time.perf_counter()
    row = {"name": job.get("name", ""), "status": "failed", "exit_code": INTERNAL, "seconds": 0.0,
           "iterations": None, "loglik": None, "converged": None, "error": "", "traceback": "",
           "out": job.get("out", "")}
    caught = []
    try:
        protected = inputs_of(job, protect)
        if job.get("out"):
            check_output(job["out"], FIT_RESULT, protected)
            fingerprint = fingerprint or job_fingerprint(job)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r, build_s, fit_s = fit_job(job, callback, models)
            genomic = genomic_writer(job, r) if job.get("out") else None
        if job.get("out"):
            write_result(r, job["out"], extra={k: v for k, v in job.items()}, fingerprint=fingerprint,
                         protect=protected, also=genomic)
        row.update(iterations=int(r.n_iter), loglik=float(r.loglik), converged=bool(r.converged),
                   build_seconds=build_s, fit_seconds=fit_s)
        row.update(status="ok", exit_code=OK) if r.converged else \
            row.update(status="not_converged", exit_code=NOT_CONVERGED,
                       error=f"not converged after {r.n_iter} iterations")
    except (InputProblem, JobFileError, OutputFolderError) as exc:
        row.update(exit_code=BAD_INPUT, error=f"{exc.file}: {_strip_file(str(exc.args[0]), exc.file)}")
    except ConvergenceError as exc:
        row.update(exit_code=NOT_CONVERGED, error=f"{job.get('data')}: {exc}")
    except Exception as exc:  # internal failure: keep going, record it
        if raise_internal:
            raise
        row.update(exit_code=INTERNAL, error=f"internal error: {type(exc).__name__}: {_one_line(str(exc))}",
                   traceback=traceback.format_exc())
    row["seconds"] = time.perf_counter() - t0
    row["warnings"] = [f"{w.category.__name__}: {_one_line(str(w.message))}" for w in caught
                       if not issubclass(w.category, ConvergenceWarning) or row["status"] != "ok"]
    return row


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()

