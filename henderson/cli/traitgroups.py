"""Batch jobs that differ only in the response share one model build and one MME analysis.

Jobs with the same share key (every job setting except name, out and the formula's response: the same
data, pedigree, formula right-hand side, options) form a group; a group runs in one worker, whose first
job reads the inputs and builds the model and whose later jobs take it by Model.with_response
(numeric refactorizations only when the response is missing on the same rows). Every job still writes
its own result folder and summary row, with its own fingerprint (henderson.cli.resume).
"""
from __future__ import annotations

import json

from .runjob import run_job

NOT_SHARED = ("name", "out")


def response_of(formula: str) -> str:
    """The response of a formula "y ~ rhs" (what precedes the first '~')."""
    return formula.split("~", 1)[0].strip()


def share_key(job: dict) -> str | None:
    """The job's settings but name, out and the response, as text; None for a formula without '~'."""
    formula = job.get("formula") or ""
    if "~" not in formula:
        return None
    rest = {k: v for k, v in job.items() if k not in NOT_SHARED}
    rest["formula"] = formula.split("~", 1)[1].strip()
    return json.dumps(rest, sort_keys=True, default=str)


def group_jobs(todo: list, slots: int) -> list[list]:
    """``todo`` ((job, fingerprint) pairs) in groups that run in one worker each: jobs of one share key,
    in their order, split into at most ``slots`` nearly equal chunks so that every worker has work."""
    by_key: dict = {}
    for item in todo:
        key = share_key(item[0])
        by_key.setdefault(id(item) if key is None else key, []).append(item)
    out = []
    for items in by_key.values():
        chunks = min(max(int(slots), 1), len(items))
        size = -(-len(items) // chunks)
        out += [items[i:i + size] for i in range(0, len(items), size)]
    return out


def run_group_quietly(items: list) -> list[dict]:
    """run_job for each (job, fingerprint) of a group in this worker, sharing models by share key; the rows."""
    models: dict = {}
    return [run_job(job, fingerprint=fp, models=models) for job, fp in items]
