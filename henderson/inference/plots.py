"""Diagnostic plots (matplotlib, the ``plot`` extra): residuals against fitted values, normal QQ plots
of the residuals and of each random effect, caterpillar plot of BLUPs with prediction intervals
u_i -/+ z sqrt(PEV_i). Each function draws one figure and saves it as PNG when ``path`` is given.
"""
from __future__ import annotations

import numpy as np

from ..distributions import norm_ppf


def _plt():
    try:
        import matplotlib
        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plots need matplotlib: pip install 'henderson[plot]'") from exc
    return plt


def _finish(fig, path, dpi):
    if path is not None:
        fig.savefig(path, dpi=dpi, format="png")
    return fig


def residuals_vs_fitted(result, path=None, figsize=(6, 4), dpi=100):
    """Standardized conditional residuals e / sigma against fitted values X b + Z u."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=figsize)
    ax.scatter(result.fitted(), result.residuals("standardized"), s=10, alpha=0.7)
    ax.axhline(0.0, color="grey", lw=1)
    ax.set_xlabel("Fitted values")
    ax.set_ylabel("Standardized residuals")
    ax.set_title("Residuals vs fitted")
    fig.tight_layout()
    return _finish(fig, path, dpi)


def _qq(ax, x, title):
    x = np.sort(np.asarray(x, float))
    n = len(x)
    q = norm_ppf((np.arange(1, n + 1) - 0.5) / n)
    ax.scatter(q, x, s=10)
    sd = np.std(x, ddof=1) if n > 1 else 1.0
    ax.plot(q, np.mean(x) + sd * q, color="grey", lw=1)
    ax.set_xlabel("Normal quantiles")
    ax.set_ylabel("Sample quantiles")
    ax.set_title(title)


def qq_plots(result, path=None, figsize=None, dpi=100):
    """Normal QQ plots: standardized residuals, then every effect of every random term."""
    plt = _plt()
    panels = [("Residuals", result.residuals("standardized"))]
    for g, df in result.random_effects.items():
        for eff in result.model.design.term(g).effects:
            panels.append((f"{g}: {eff}", df[eff].to_numpy()))
    n = len(panels)
    fig, axes = plt.subplots(1, n, figsize=figsize or (3.5 * n, 3.5), squeeze=False)
    for ax, (title, x) in zip(axes[0], panels):
        _qq(ax, x, title)
    fig.tight_layout()
    return _finish(fig, path, dpi)


def shown_levels(u: np.ndarray, max_levels: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(positions of the levels to draw, their y coordinates): all levels sorted by ``u`` when they are at
    most ``max_levels``, else the lowest and highest max_levels // 2 with a gap of one row between them."""
    order = np.argsort(u, kind="stable")
    if max_levels is None or len(u) <= max_levels:
        return order, np.arange(len(u), dtype=float)
    k = max(max_levels // 2, 1)
    return np.r_[order[:k], order[-k:]], np.r_[np.arange(k), np.arange(k + 1, 2 * k + 1)].astype(float)


def caterpillar(result, group: str, effect=None, path=None, level=0.95, figsize=(5, 6), dpi=100,
                max_levels: int | None = 60):
    """BLUPs of one effect of ``group``, sorted, with u -/+ z sqrt(PEV) intervals.

    With more than ``max_levels`` levels (None: no limit) only the lowest and highest max_levels // 2
    are drawn, labelled, and a line between them says how many levels are hidden.
    """
    plt = _plt()
    term = result.model.design.term(group)
    effect = effect or term.effects[0]
    df = result.random_effects[group]
    pev = df["pev" if term.q == 1 else f"pev:{effect}"].to_numpy()
    u = df[effect].to_numpy()
    sel, y = shown_levels(u, max_levels)
    z = norm_ppf(0.5 + level / 2)
    fig, ax = plt.subplots(figsize=figsize)
    ax.errorbar(u[sel], y, xerr=z * np.sqrt(np.clip(pev[sel], 0, None)), fmt="o", ms=3, lw=1)
    ax.axvline(0.0, color="grey", lw=1)
    hidden = len(u) - len(sel)
    if hidden:
        k = len(sel) // 2
        ax.axhline(k, color="grey", lw=0.8, ls=":")
        ax.annotate(f"{hidden:,} levels hidden", (0.5, k), xycoords=("axes fraction", "data"),
                    ha="center", va="center", fontsize=7, backgroundcolor="white")
    if len(sel) <= 60:
        ax.set_yticks(y)
        ax.set_yticklabels([str(v) for v in df.index[sel]], fontsize=7)
    ax.set_xlabel(f"BLUP of {effect}")
    shown = f" (lowest and highest {len(sel) // 2} of {len(u):,})" if hidden else ""
    ax.set_title(f"{group}: {effect}{shown}")
    fig.tight_layout()
    return _finish(fig, path, dpi)
