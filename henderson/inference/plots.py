"""Diagnostic plots (matplotlib, the ``plot`` extra): residuals against fitted values, normal QQ plots
of the residuals and of each random effect, caterpillar plot of BLUPs with prediction intervals
u_i -/+ z sqrt(PEV_i). Each function draws one figure and saves it as PNG when ``path`` is given.
"""
from __future__ import annotations

import numpy as np
from scipy import stats


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
    q = stats.norm.ppf((np.arange(1, n + 1) - 0.5) / n)
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


def caterpillar(result, group: str, effect=None, path=None, level=0.95, figsize=(5, 6), dpi=100):
    """BLUPs of one effect of ``group``, sorted, with u -/+ z sqrt(PEV) intervals."""
    plt = _plt()
    term = result.model.design.term(group)
    effect = effect or term.effects[0]
    df = result.random_effects[group]
    pev = df["pev" if term.q == 1 else f"pev:{effect}"].to_numpy()
    u = df[effect].to_numpy()
    order = np.argsort(u)
    z = stats.norm.ppf(0.5 + level / 2)
    fig, ax = plt.subplots(figsize=figsize)
    y = np.arange(len(u))
    ax.errorbar(u[order], y, xerr=z * np.sqrt(np.clip(pev[order], 0, None)), fmt="o", ms=3, lw=1)
    ax.axvline(0.0, color="grey", lw=1)
    if len(u) <= 60:
        ax.set_yticks(y)
        ax.set_yticklabels([str(v) for v in df.index[order]], fontsize=7)
    ax.set_xlabel(f"BLUP of {effect}")
    ax.set_title(f"{group}: {effect}")
    fig.tight_layout()
    return _finish(fig, path, dpi)
