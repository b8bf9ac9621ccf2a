"""Records grouped for a block-diagonal residual covariance R = blockdiag_i R_i, and R's fixed sparse pattern.

Groups of equal size s form one ``SizeClass``: (G, s) arrays of record indices ordered by position
within the group, their positions, times, strata and known scales. Every per-group computation (R_i,
R_i^-1, log|R_i|, dR_i/dtheta) is a batched array operation over a size class, never a loop over groups.
``order`` maps the concatenated (G, s, s) values of all classes onto the CSC data of the n x n pattern.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import DesignError


def _first_ten(items) -> str:
    items = list(items)
    more = f" and {len(items) - 10} more ({len(items)} in all)" if len(items) > 10 else ""
    return ", ".join(map(str, items[:10])) + more


@dataclass(frozen=True)
class SizeClass:
    """The groups with s records: (G, s) arrays, records by position within their group."""

    idx: np.ndarray       # record indices (rows of the design)
    pos: np.ndarray       # position index of each record (0 .. n_positions - 1)
    time: np.ndarray      # the time covariate (or the order within the group)
    stratum: np.ndarray   # varIdent stratum code (0 when none)
    scale: np.ndarray     # known standard-deviation factor, w^-1/2 (1 without weights)
    covariate: np.ndarray  # covariate of varPower / varExp (0 when none)

    @property
    def s(self) -> int:
        return self.idx.shape[1]


@dataclass(frozen=True)
class Layout:
    """All size classes and the CSC pattern of the block-diagonal n x n residual covariance."""

    n: int
    classes: tuple[SizeClass, ...]
    indptr: np.ndarray
    indices: np.ndarray
    order: np.ndarray            # concatenated class values -> CSC data
    group_of: np.ndarray         # group code of each record
    group_labels: tuple          # label of each group code
    n_positions: int
    position_labels: tuple

    def sparse(self, class_values) -> sp.csc_matrix:
        """The n x n block-diagonal matrix with blocks ``class_values`` ((G, s, s) per class)."""
        data = np.concatenate([np.asarray(v).ravel() for v in class_values])[self.order]
        return sp.csc_matrix((data, self.indices, self.indptr), shape=(self.n, self.n))

    def block_pattern(self) -> sp.csc_matrix:
        """The pattern of R as ones."""
        return sp.csc_matrix((np.ones(len(self.indices)), self.indices, self.indptr), shape=(self.n, self.n))


def group_codes(columns: list[np.ndarray], n: int) -> tuple[np.ndarray, tuple]:
    """Codes 0..g-1 of the combinations of ``columns`` (order of first appearance), with their labels."""
    if not columns:
        return np.zeros(n, dtype=np.int64), ("(all)",)
    keys = pd.MultiIndex.from_arrays([pd.Index(c) for c in columns]) if len(columns) > 1 else pd.Index(columns[0])
    codes, uniques = pd.factorize(keys)
    labels = tuple("/".join(map(str, u)) if isinstance(u, tuple) else str(u) for u in uniques)
    return codes.astype(np.int64), labels


def build_layout(groups: np.ndarray, labels: tuple, time: np.ndarray | None, integer_time: bool,
                 rank_positions: bool, stratum: np.ndarray, scale: np.ndarray, what: str,
                 covariate: np.ndarray | None = None) -> Layout:
    """Group the records: within a group by the time covariate (or data order when None); positions
    are the ranks of time among all its values (``rank_positions``, corSymm), its integer values
    (``integer_time``, corAR1 with a covariate) or the order within the group. A time value repeated
    within a group is a DesignError naming the groups (``what`` names the structure). ``covariate`` is the
    variance function's covariate per record (zeros when None)."""
    n = len(groups)
    cov = np.zeros(n) if covariate is None else np.asarray(covariate, dtype=float)
    order_in_data = np.arange(n)
    t = order_in_data.astype(float) if time is None else np.asarray(time, dtype=float)
    if time is not None and not np.all(np.isfinite(t)):
        raise DesignError(f"{what}: the time covariate has missing or infinite values")
    srt = np.lexsort((order_in_data, t, groups))
    g_sorted, t_sorted = groups[srt], t[srt]
    if time is not None:
        dup = (g_sorted[1:] == g_sorted[:-1]) & (t_sorted[1:] == t_sorted[:-1])
        if dup.any():
            bad = sorted({labels[g] for g in g_sorted[1:][dup]})
            raise DesignError(f"{what}: the time covariate is repeated within group(s) {_first_ten(bad)}; "
                              "each record of a group needs its own time")
    counts = np.bincount(groups, minlength=len(labels))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    within = np.arange(n) - np.repeat(starts, counts)          # order within the group, sorted layout
    if rank_positions and time is not None:
        values, pos_sorted = np.unique(t_sorted, return_inverse=True)
        pos_labels = tuple(f"{v:g}" for v in values)
    elif integer_time and time is not None:
        if not np.allclose(t_sorted, np.round(t_sorted)):
            raise DesignError(f"{what}: the time covariate must be integer (use corCAR1 for continuous time)")
        pos_sorted = np.round(t_sorted).astype(np.int64)
        pos_labels = ()
    else:
        pos_sorted = within
        pos_labels = tuple(str(i + 1) for i in range(int(counts.max()) if n else 0))
    time_sorted = t_sorted if time is not None else within.astype(float)
    classes, rows, cols = [], [], []
    for s in np.unique(counts[counts > 0]):
        first = starts[counts == s]
        sel = first[:, None] + np.arange(s)[None, :]
        idx = srt[sel]
        classes.append(SizeClass(idx=idx, pos=pos_sorted[sel], time=time_sorted[sel], stratum=stratum[idx],
                                 scale=scale[idx], covariate=cov[idx]))
        rows.append(np.broadcast_to(idx[:, :, None], (len(first), s, s)).ravel())
        cols.append(np.broadcast_to(idx[:, None, :], (len(first), s, s)).ravel())
    rows_all, cols_all = np.concatenate(rows), np.concatenate(cols)
    order = np.lexsort((rows_all, cols_all))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(cols_all, minlength=n))]).astype(np.int64)
    n_pos = int(pos_sorted.max()) + 1 if n else 0
    return Layout(n=n, classes=tuple(classes), indptr=indptr, indices=rows_all[order].astype(np.int32),
                  order=order, group_of=groups, group_labels=labels, n_positions=n_pos, position_labels=pos_labels)
