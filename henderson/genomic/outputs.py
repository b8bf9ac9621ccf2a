"""The genomic files of a result folder: QC report, GEBVs with reliabilities, SNP effects, windows and a
Manhattan plot, as PREGSF90 / BLUPF90+ / postGSf90 users expect them next to the solutions.

    tables = genomic_outputs(result, relationship, term="id", snp_window=20)
    write_outputs(tables, folder)        # inside a folder henderson owns (henderson.io.write_result's also=)

Files (CSV unless said): genomic_qc (one row per QC step with counts), genomic_qc_removed (kind snp or
animal, id, step), genomic_qc_flagged (Mendelian-conflict pairs and duplicate genotypes), gebv (GEBV,
PEV, diagonal of K, reliability, accuracy, genotyped), snp_effects (effect, share of variance, window and
its share), snp_windows, manhattan.png, genomic.json (what was built). A part that cannot be computed
(reliabilities of a pedigree too large for the exact diag(H), no matplotlib for the PNG) is left out
with a HendersonWarning saying why; the other files are still written.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DesignError, HendersonWarning
from .qc import QCReport
from .reliability import reliabilities
from .snp import manhattan, snp_effects, windows

QC_FILES = ("genomic_qc.csv", "genomic_qc_removed.csv", "genomic_qc_flagged.csv")
PAIRS = {"Mendelian conflicts: pairs (progeny, parent)": "mendelian_conflict", "duplicate genotypes": "duplicate"}


def qc_tables(report: QCReport) -> dict[str, pd.DataFrame]:
    """The QC report as three tables: steps with counts, removed SNP and animal ids, flagged pairs."""
    removed, flagged = [], []
    for key, values in report.details.items():
        if key in PAIRS:
            flagged += [(PAIRS[key], a, b) for a, b in values]
            continue
        step, what = key.rsplit(": ", 1)
        removed += [("snp" if what == "SNPs" else "animal", v, step) for v in values]
    return {"genomic_qc.csv": report.steps,
            "genomic_qc_removed.csv": pd.DataFrame(removed, columns=["kind", "id", "step"]),
            "genomic_qc_flagged.csv": pd.DataFrame(flagged, columns=["kind", "id1", "id2"])}


def gebv_table(result, relationship, term: str) -> pd.DataFrame:
    """GEBV and PEV of every level of ``term`` with reliability and accuracy (NaN, with a warning, when
    the exact diagonal of K cannot be had) and whether the animal is genotyped (after QC)."""
    try:
        out = reliabilities(result, relationship, term)
    except DesignError as exc:
        warnings.warn(f"GEBV reliabilities not computed: {exc}", HendersonWarning, stacklevel=2)
        re = result.random_effects[term]
        out = pd.DataFrame({"gebv": re.iloc[:, 0], "pev": re["pev"], "K_ii": np.nan, "reliability": np.nan,
                            "accuracy": np.nan})
    out.index.name = "level"
    out["genotyped"] = out.index.isin(pd.Index(relationship.built().genotypes.ids))
    return out


def snp_tables(result, relationship, term: str, size: int) -> dict[str, pd.DataFrame]:
    """SNP effects (back-solved as postGSf90) with each SNP's window and the window's share of variance,
    and the windows themselves."""
    eff = snp_effects(result, relationship, term)
    win = windows(result, relationship, term, size=size, effects=eff)
    win.index = pd.RangeIndex(1, len(win) + 1, name="window")
    eff["window"] = np.repeat(win.index.to_numpy(), win["n_snps"].to_numpy())
    eff["window_var_share"] = win["var_share"].reindex(eff["window"]).to_numpy()
    return {"snp_effects.csv": eff, "snp_windows.csv": win}


def summary(relationship, kind: str, term: str, size: int | None) -> dict:
    """What was built: animals and SNPs used, allele frequency scale, blending, tuning, inverse."""
    m = relationship.built()
    p = m.freq
    return {"model": kind, "term": term, "method": relationship.method, "blend": relationship.blend,
            "ridge": relationship.ridge, "tuning_a_b": m.tuning, "apy_core": relationship.apy_core,
            "genotyped_animals": int(m.genotypes.n), "snps": int(m.genotypes.m),
            "sum_2pq": float(np.sum(2.0 * p * (1.0 - p))), "logdet_G": m.logdet_G, "snp_window": size,
            "qc": m.qc is not None}


def genomic_outputs(result, relationship, term: str = "id", snp_window: int | None = 20,
                    kind: str | None = None) -> dict:
    """File name -> table (DataFrame), figure or JSON-able dict, for write_outputs. ``snp_window=None``
    leaves out the SNP effects, windows and Manhattan plot."""
    out: dict = {}
    m = relationship.built()
    if m.qc is not None:
        out.update(qc_tables(m.qc))
    out["gebv.csv"] = gebv_table(result, relationship, term)
    if snp_window is not None:
        out.update(snp_tables(result, relationship, term, snp_window))
        try:
            out["manhattan.png"] = manhattan(out["snp_effects.csv"])
        except ImportError as exc:
            warnings.warn(f"manhattan.png not written: {exc}", HendersonWarning, stacklevel=2)
    out["genomic.json"] = summary(relationship, kind or type(relationship).__name__, term, snp_window)
    return out


def write_outputs(outputs: dict, folder) -> list[str]:
    """Write what genomic_outputs returned into ``folder``; the names written."""
    folder = Path(folder)
    for name, obj in outputs.items():
        path = folder / name
        if isinstance(obj, pd.DataFrame):
            index = obj.index.name is not None
            obj.to_csv(path, index=index, float_format="%.17g")
        elif isinstance(obj, dict):
            path.write_text(json.dumps(obj, indent=1, default=str) + "\n")
        else:
            import matplotlib.pyplot as plt
            obj.savefig(path, dpi=100, format="png")
            plt.close(obj)
    return list(outputs)
