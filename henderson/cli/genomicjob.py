"""The genomic files of a job's result folder (job keys genotypes and genomic; snp_effects, snp_window).

After the fit, the job's hd.GBLUP or hd.SingleStep (reached through the fitted model's relationship of
the pedigree term) gives the QC report, GEBVs with reliabilities, SNP effects, windows and the Manhattan
plot (henderson.genomic.outputs); they are computed before the result folder is written and written into
it with the other result files, so the manifest lists them.
"""
from __future__ import annotations

import warnings

from ..errors import DesignError, HendersonWarning

SNP_WINDOW = 20  # SNPs per window of the share of variance (job key snp_window)


def genomic_writer(job: dict, result):
    """A function writing the job's genomic files into a folder (for write_result's ``also``), or None
    for a job without genotypes."""
    if not job.get("genotypes") or result.model is None:
        return None
    from ..genomic.outputs import genomic_outputs, write_outputs
    term = job.get("pedigree_term") or "id"
    source = getattr(result.model.relationships.get(term), "source", None)
    if source is None:
        return None
    window = job.get("snp_window", SNP_WINDOW) if job.get("snp_effects", True) else None
    try:
        outputs = genomic_outputs(result, source, term, window, kind=job.get("genomic"))
    except (DesignError, KeyError) as exc:   # e.g. a result layout without one GEBV and PEV per level
        warnings.warn(f"genomic files (QC report, GEBVs, SNP effects) not written: {exc}", HendersonWarning,
                      stacklevel=2)
        return None
    return lambda folder: write_outputs(outputs, folder)
