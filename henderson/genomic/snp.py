"""SNP effects back-solved from GEBVs (as postGSf90), their share of the genetic variance in windows,
and a Manhattan plot.

With G = Z Z' / k (VanRaden 1, k = 2 sum p q) and u = Z a, the SNP-BLUP effects follow from the GEBVs of
the genotyped animals: a = Z' G^-1 u / k (Stranden and Garrick 2009; Mrode's Example 11.4). Henderson uses
the G^-1 of the model (blended, ridged or tuned): for such G the back-solved effects are postGSf90's
approximation, exact only for the unblended G. Method 2 (Z scaled by 1/sqrt(2 p q), k = m) gives
a_j = z_j' G^-1 u / (m sqrt(2 p_j q_j)) on the allele-count scale.
The share of variance of a window W is var(Z_W a_W) / var(Z a) over the genotyped animals (postGSf90's
windows_variance), in percent; SNP j alone has 2 p_j q_j a_j^2 / sum_k 2 p_k q_k a_k^2.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DesignError
from .genotypes import MISSING, Genotypes
from .grm import BLOCK


def _z_blocks(geno: Genotypes, p: np.ndarray):
    """(start, stop, Z block in double precision) over blocks of SNPs, missing at their mean (0)."""
    for start in range(0, geno.m, BLOCK):
        stop = min(start + BLOCK, geno.m)
        raw = geno.codes[:, start:stop]
        Z = raw.astype(np.float64) - 2.0 * p[start:stop]
        Z[raw == MISSING] = 0.0
        yield start, stop, Z


def snp_effects(result, relationship, term: str = "id") -> pd.DataFrame:
    """One row per SNP (after QC): chrom, pos, freq, effect, and var_share (% of sum 2pq a^2)."""
    m = relationship.built()
    geno, p = m.genotypes, m.freq
    u = result.random_effects[term].iloc[:, 0].reindex(pd.Index(geno.ids))
    if u.isna().any():
        raise DesignError(f"{int(u.isna().sum())} genotyped animals have no GEBV in term {term!r}")
    w = m.Ginv @ u.to_numpy()
    a = np.empty(geno.m)
    for start, stop, Z in _z_blocks(geno, p):
        a[start:stop] = Z.T @ w
    pq2 = 2.0 * p * (1.0 - p)
    if relationship.method == 1:
        a /= pq2.sum()
    else:
        a /= geno.m * np.sqrt(pq2)
    v = pq2 * a * a
    return pd.DataFrame({"chrom": geno.chrom if geno.chrom is not None else "1",
                         "pos": geno.pos if geno.pos is not None else np.arange(1, geno.m + 1),
                         "freq": p, "effect": a, "var_share": 100.0 * v / v.sum()},
                        index=pd.Index(geno.snps, name="snp"))


def windows(result, relationship, term: str = "id", size: int = 20, effects: pd.DataFrame | None = None
            ) -> pd.DataFrame:
    """Consecutive windows of ``size`` SNPs within each chromosome: first and last SNP, and the share of
    var(Z a) that var(Z_W a_W) takes (percent). ``effects``: snp_effects' table if already computed."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise DesignError(f"window size must be a whole number of SNPs >= 1, got {size!r}")
    eff = snp_effects(result, relationship, term) if effects is None else effects
    m = relationship.built()
    geno, p = m.genotypes, m.freq
    total = np.zeros(geno.n)
    chrom = eff["chrom"].astype(str).to_numpy()
    starts = np.r_[0, np.flatnonzero(chrom[1:] != chrom[:-1]) + 1]
    bounds = []
    for s, e in zip(starts, np.r_[starts[1:], geno.m]):
        bounds += [(k, min(k + size, e)) for k in range(s, e, size)]
    a = eff["effect"].to_numpy()
    var_w = np.empty(len(bounds))
    open_parts: dict[int, np.ndarray] = {}   # windows across a block boundary: Z_W a_W so far (n each)
    first = 0                                # the first window not finished
    for start, stop, Z in _z_blocks(geno, p):
        total += Z @ a[start:stop]
        while first < len(bounds) and bounds[first][0] < stop:
            w = first
            lo, hi = bounds[w]
            a0, a1 = max(lo, start), min(hi, stop)
            part = Z[:, a0 - start:a1 - start] @ a[a0:a1] + open_parts.pop(w, 0.0)
            if hi > stop:
                open_parts[w] = part
                break
            var_w[w] = np.var(part)
            first += 1
    var_total = np.var(total)
    rows = [(chrom[lo], geno.snps[lo], geno.snps[hi - 1], hi - lo, 100.0 * v / var_total)
            for (lo, hi), v in zip(bounds, var_w)]
    return pd.DataFrame(rows, columns=["chrom", "first_snp", "last_snp", "n_snps", "var_share"])


def manhattan(effects: pd.DataFrame, path=None, figsize=(10, 4), dpi=100):
    """Manhattan plot of each SNP's share of variance (percent) along the genome, chromosomes alternately
    coloured; saved as PNG when ``path`` is given (needs matplotlib, the ``plot`` extra)."""
    try:
        import matplotlib
        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the Manhattan plot needs matplotlib: pip install 'henderson[plot]'") from exc
    fig, ax = plt.subplots(figsize=figsize)
    chrom = effects["chrom"].astype(str).to_numpy()
    x = np.arange(len(effects))
    change = np.r_[True, chrom[1:] != chrom[:-1]]
    block = np.cumsum(change) - 1
    ax.scatter(x, effects["var_share"], c=np.where(block % 2 == 0, "tab:blue", "tab:gray"), s=6)
    starts = np.flatnonzero(change)
    ax.set_xticks((starts + np.r_[starts[1:], len(x)]) / 2.0 - 0.5, chrom[starts])
    ax.set_xlabel("chromosome")
    ax.set_ylabel("share of genetic variance (%)")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=dpi, format="png")
    return fig
