"""hd.GBLUP and hd.SingleStep: genomic relationships a Model takes as ``relationships={"id": ...}``.

Each turns genotypes (and a pedigree) into the K^-1 of an animal term, with log|K|:
  GBLUP:      K = Gw over the genotyped animals, K^-1 = Gw^-1 (dense, stored as a sparse matrix);
  SingleStep: K = H over the pedigree, H^-1 = A^-1 + [0 0; 0 Gw^-1 - A22^-1] (sparse plus one dense block),
              log|H| = log|Gw| + log|A| - log|A22| (|H^-1| = |A^11| |Gw^-1| by the Schur complement).
Gw is G (VanRaden) after quality control, blending (1 - blend) G + blend A22 (I without a pedigree),
an optional ridge added to the diagonal, and optional tuning to A22; its inverse is dense (LAPACK) or APY.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import DesignError
from ..ids import normalize_ids
from ..pedigree import Pedigree
from ..relationships import Relationship
from . import grm, pedblocks
from .apy import apy_factors
from .genotypes import Genotypes, from_frame
from .hoperator import DenseGinverse, HinverseOperator
from .inverse import apy_inverse, cholesky_inverse, choose_core
from .qc import QCReport, quality_control

_UNUSED = object()  # no model has used the relationship yet
DENSE_ARRAYS = 4    # n_g x n_g doubles at the peak of matrices(): G (and its float32 product), A22, Gw^-1
STORED_ARRAYS = 7   # ... and of the stored H^-1: those, A22^-1, Gw^-1 - A22^-1, its CSC copy (12 bytes an entry)


def available_bytes() -> int:
    """Memory available to this process (MemAvailable of /proc/meminfo; total physical memory elsewhere)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_memory(n: int, arrays: int, what: str) -> None:
    """DesignError if ``arrays`` dense n x n double arrays exceed the available memory."""
    need, have = arrays * 8.0 * n * n, available_bytes()
    if need > have:
        raise DesignError(f"{what} needs dense {n:,} x {n:,} blocks of the {n:,} genotyped animals, about "
                          f"{need / 2**30:.1f} GiB, and {have / 2**30:.1f} GiB is available: use APY "
                          f"(apy_core=, e.g. 10,000 core animals) and solve(variances, solver='pcg'), which applies "
                          f"H^-1 from the APY factors without forming these blocks")


SINGULAR_HINT = (": G is singular (fewer informative SNPs than animals, or identical genotypes); "
                 "blend it with A22, e.g. blend=0.05 (BLUPF90's AlphaBeta 0.95 0.05), or give ridge=")


@dataclass(frozen=True, eq=False)
class GenomicMatrices:
    """What was built: the genotypes after QC and its report, allele frequencies, Gw and its inverse,
    log|Gw|, A22 (None without a pedigree) and the tuning (a, b) if tuned."""

    genotypes: Genotypes
    qc: QCReport | None
    freq: np.ndarray
    G: np.ndarray
    Ginv: np.ndarray
    logdet_G: float
    A22: np.ndarray | None
    tuning: tuple[float, float] | None


class _GenomicBase:
    """Options shared by GBLUP and SingleStep (see their docstrings)."""

    def __init__(self, genotypes, pedigree, blend, method, freq, tune, ridge, apy_core, qc, seed):
        self.genotypes, self.pedigree, self.blend, self.method = genotypes, pedigree, float(blend), method
        self.freq, self.tune, self.ridge, self.apy_core, self.qc, self.seed = freq, tune, ridge, apy_core, qc, seed
        if pedigree is not None and not isinstance(pedigree, Pedigree):
            raise DesignError("pedigree must be a Pedigree (hd.read_pedigree or hd.Pedigree.from_frame), "
                              f"got {type(pedigree).__name__}")
        self._built: dict = {}
        self._last_ped = _UNUSED

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(blend={self.blend}, method={self.method}, tune={self.tune}, "
                f"ridge={self.ridge}, apy_core={self.apy_core!r}, qc={self.qc})")

    def _genotypes(self) -> Genotypes:
        return from_frame(self.genotypes)

    def prepared(self, pedigree: Pedigree | None):
        """(genotypes after QC, QC report, pruned pedigree blocks or None, allele frequencies), computed once
        per pedigree: the first step of matrices() and relationship()."""
        key = ("prep", id(pedigree))
        if key not in self._built:
            geno = self._genotypes()
            report = None
            if self.qc:
                geno, report = quality_control(geno, pedigree)
            blocks = pedblocks.pruned_blocks(pedigree, geno.ids) if pedigree is not None else None
            freq = grm.allele_frequencies(geno) if self.freq is None else self._given_freq(geno)
            self._built[key] = (geno, report, blocks, freq, pedigree)   # the pedigree keeps its id from reuse
        return self._built[key][:4]

    def matrices(self, pedigree: Pedigree | None) -> GenomicMatrices:
        """Gw, its inverse and what led to them (computed once): dense n_g x n_g arrays."""
        key = id(pedigree)
        self._last_ped = pedigree
        if key in self._built:
            return self._built[key]
        geno, report, blocks, freq = self.prepared(pedigree)
        check_memory(geno.n, DENSE_ARRAYS, "G, A22 and Gw^-1")
        G = grm.vanraden(geno, self.method, freq)
        A22 = pedblocks.a22(blocks) if blocks is not None and (self.blend > 0 or self.tune) else None
        Gw = grm.blend(G, A22, self.blend)
        if self.ridge:
            Gw[np.diag_indices_from(Gw)] += self.ridge
        tuning = None
        if self.tune:
            if A22 is None:
                raise DesignError("tune=True matches G to A22 and needs a pedigree")
            Gw, a, b = grm.tune(Gw, A22)
            tuning = (a, b)
        if self.apy_core is None:
            Ginv, logdet = cholesky_inverse(Gw, "G", SINGULAR_HINT)
        else:
            Ginv, logdet = apy_inverse(Gw, self._core(geno), "G")
        out = GenomicMatrices(geno, report, freq, Gw, Ginv, logdet, A22, tuning)
        self._built[key] = out
        return out

    def built(self) -> GenomicMatrices:
        """The matrices of the last model this relationship entered (QC'd genotypes, Gw, Gw^-1...); built
        here if that model used only the APY factors (single-step by PCG)."""
        if self._last_ped is _UNUSED:
            raise DesignError(f"{type(self).__name__} has not been used in a Model yet")
        return self.matrices(self._last_ped)

    def _given_freq(self, geno: Genotypes) -> np.ndarray:
        """The user's allele frequencies (one per SNP of the input, or a Series by SNP) for the SNPs kept."""
        f = self.freq
        if not isinstance(f, pd.Series):
            f = pd.Series(np.asarray(f, dtype=float), index=self._genotypes().snps)
        return f.reindex(geno.snps).to_numpy(dtype=float)

    def _core(self, geno: Genotypes) -> np.ndarray:
        core = self.apy_core
        if isinstance(core, (int, np.integer)):
            return choose_core(geno.n, core, self.seed)
        pos = geno.index.get_indexer(pd.Index(np.asarray(core)).map(str))
        if np.any(pos < 0):
            raise DesignError(f"APY core animals not among the genotyped: {list(np.asarray(core)[pos < 0])[:10]}")
        return pos


class GenomicRelationship(Relationship):
    """A Relationship built by ``source`` (the hd.GBLUP or hd.SingleStep), which keeps G, G^-1, the QC report
    and the genotypes: what SNP effects and reliabilities of a fitted model need (result.model)."""

    def __init__(self, *args, source=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.source = source


def _dense_as_csc(M: np.ndarray) -> sp.csc_matrix:
    """A dense symmetric matrix as CSC with every entry stored (int32 indices)."""
    n = M.shape[0]
    indptr = np.arange(0, n * n + 1, n, dtype=np.int64 if n * n >= 2**31 else np.int32)
    indices = np.tile(np.arange(n, dtype=np.int32), n)
    return sp.csc_matrix((np.asfortranarray(M).ravel(order="F"), indices, indptr), shape=(n, n))


def _scattered(D: np.ndarray, pos: np.ndarray, n: int) -> sp.csc_matrix:
    """The n x n CSC matrix holding the dense symmetric D at rows and columns ``pos`` (built directly)."""
    order = np.argsort(pos)
    rows = pos[order].astype(np.int32)
    k = rows.size
    counts = np.zeros(n, dtype=np.int64)
    counts[rows] = k
    indptr = np.concatenate([[0], np.cumsum(counts)])
    data = np.asfortranarray(D[np.ix_(order, order)]).ravel(order="F")
    return sp.csc_matrix((data, np.tile(rows, k), indptr), shape=(n, n))


class GBLUP(_GenomicBase):
    """GBLUP relationships over the genotyped animals: K = Gw (VanRaden G after QC, blended, ridged, tuned).

    genotypes: DataFrame (index = ids, 0/1/2 columns, NaN missing) or Genotypes; pedigree: for blending
    with A22 (otherwise blending is with I) and Mendelian-conflict QC; blend: weight of A22 (or I);
    method: VanRaden 1 or 2; freq: allele frequencies (default from the genotyped animals after QC);
    tune: match the means of Gw to A22; ridge: added to the diagonal (Mrode's examples use 0.01);
    apy_core: number of core animals (random, ``seed``) or their ids, for the APY inverse; qc: PREGSF90's
    default quality control.
    """

    def __init__(self, genotypes, blend=0.05, pedigree=None, *, method=1, freq=None, tune=False, ridge=0.0,
                 apy_core=None, qc=True, seed=0):
        super().__init__(genotypes, pedigree, blend, method, freq, tune, ridge, apy_core, qc, seed)

    def relationship(self, levels=None) -> Relationship:
        """K^-1 = Gw^-1 over the genotyped animals and log|Gw|."""
        m = self.matrices(self.pedigree)
        return GenomicRelationship(Kinv=_dense_as_csc(m.Ginv), ids=pd.Index(m.genotypes.ids), logdet_K=m.logdet_G,
                                   source=self)


class SingleStep(_GenomicBase):
    """Single-step relationships H over the pedigree (Aguilar et al. 2010, Christensen and Lund 2010):
    H^-1 = A^-1 + [0 0; 0 Gw^-1 - A22^-1]. Options as GBLUP; tune defaults to True (PREGSF90's tunedG)."""

    def __init__(self, pedigree, genotypes, blend=0.05, *, method=1, freq=None, tune=True, ridge=0.0,
                 apy_core=None, qc=True, seed=0):
        super().__init__(genotypes, pedigree, blend, method, freq, tune, ridge, apy_core, qc, seed)

    def relationship(self, levels=None) -> Relationship:
        """H^-1 over the pedigree (pruned to the ancestors of ``levels`` and of the genotyped if given), lazy:
        an operator for PCG (APY factors or dense Gw^-1, the factor of A^11) and the stored sparse H^-1,
        with its dense genotyped block, built only when the direct solver or REML reads it."""
        if not isinstance(self.pedigree, Pedigree):
            raise DesignError("SingleStep needs a Pedigree (hd.read_pedigree or hd.Pedigree.from_frame)")
        ped = self.pedigree
        if levels is not None:
            geno_ids = self._genotypes().ids
            ped = ped.prune(np.concatenate([normalize_ids(levels), geno_ids]))
        self.pedigree_used = self._last_ped = ped   # the (pruned) pedigree of the last H^-1, for reliabilities
        if ("H", id(ped)) in self._built:
            return self._built[("H", id(ped))]
        geno = self.prepared(ped)[0]
        ginv, logdet_g = self.g_inverse(ped)
        a22inv = self.a22_inverse(ped)
        pos = pedblocks.genotyped_positions(ped, geno.ids)
        logdet_H = logdet_g + float(ped.logdet_a()) - a22inv.logdet
        out = GenomicRelationship(ids=pd.Index(ped.ids), logdet_K=logdet_H, source=self,
                                  operator=HinverseOperator(ped, pos, ginv, a22inv),
                                  build=lambda: self._stored_hinv(ped, pos, a22inv))
        self._built[("H", id(ped))] = out   # ped is held by the prepared entry of the same pedigree
        return out

    def g_inverse(self, ped: Pedigree):
        """(Gw^-1 as an operator, log|Gw|) for H^-1 over ``ped`` (a step of relationship(), computed once):
        the APY factors built without any n_g x n_g array, or the dense Gw^-1 of matrices()."""
        key = ("Ginv", id(ped))
        if key not in self._built:
            if self.apy_core is None:
                m = self.matrices(ped)
                self._built[key] = (DenseGinverse(m.Ginv), m.logdet_G)
            else:
                geno, _, blocks, freq = self.prepared(ped)
                f = apy_factors(geno, freq, self.method, blocks, self._core(geno), self.blend, self.ridge, self.tune)
                self._built[key] = (f, f.logdet)
        return self._built[key]

    def a22_inverse(self, ped: Pedigree) -> pedblocks.A22Inverse:
        """A22^-1 as an operator (sparse factor of A^11 of the pruned pedigree; a step of relationship())."""
        key = ("A22inv", id(ped))
        if key not in self._built:
            self._built[key] = pedblocks.A22Inverse(self.prepared(ped)[2])
        return self._built[key]

    def _stored_hinv(self, ped: Pedigree, pos: np.ndarray, a22inv) -> sp.csc_matrix:
        """The sparse H^-1 = A^-1 + [0 0; 0 Gw^-1 - A22^-1] with its dense genotyped block."""
        check_memory(pos.size, STORED_ARRAYS, "the stored H^-1 (direct solver and REML)")
        m = self.matrices(ped)
        Ainv, _ = ped.ainverse()
        Hinv = sp.csc_matrix(Ainv + _scattered(m.Ginv - a22inv.dense(), pos, ped.n))
        Hinv.sort_indices()
        return Hinv
