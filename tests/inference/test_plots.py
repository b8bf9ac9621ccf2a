"""Diagnostic plots are written as valid PNG files of the requested size (width x height = figsize * dpi)."""
import struct

import pytest

pytest.importorskip("matplotlib")


def _png_size(path):
    with open(path, "rb") as fh:
        head = fh.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    assert head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def test_residual_plot(fits, tmp_path):
    p = tmp_path / "resid.png"
    fits["sleepstudy"].plot_residuals(p, figsize=(6, 4), dpi=50)
    assert _png_size(p) == (300, 200)


def test_qq_plots_one_panel_per_effect(fits, tmp_path):
    p = tmp_path / "qq.png"
    fig = fits["sleepstudy"].plot_qq(p, dpi=40)
    assert len(fig.axes) == 3  # residuals, (Intercept), Days
    assert _png_size(p) == (int(3 * 3.5 * 40), int(3.5 * 40))


def test_caterpillar(fits, tmp_path):
    p = tmp_path / "cat.png"
    fig = fits["oats"].plot_caterpillar("V:B", path=p, figsize=(4, 5), dpi=60)
    assert _png_size(p) == (240, 300)
    assert len(fig.axes[0].get_yticklabels()) == 18


@pytest.fixture(scope="module")
def many_levels():
    """y ~ 1 + (1|g) with about 500 levels of g."""
    import numpy as np
    import pandas as pd

    import henderson as hd
    rng = np.random.default_rng(3)
    g = rng.integers(0, 500, 2000)
    d = pd.DataFrame({"y": rng.normal(size=500)[g] + rng.normal(size=2000), "g": [f"g{i:03d}" for i in g]})
    return hd.fit("y ~ 1 + (1|g)", d)


def test_caterpillar_of_many_levels_draws_the_extremes(many_levels):
    fig = many_levels.plot_caterpillar("g", max_levels=40)
    ax = fig.axes[0]
    u = many_levels.random_effects["g"]["(Intercept)"].sort_values(kind="stable")
    bars = ax.containers[0]
    x = bars.lines[0].get_xdata()
    assert len(x) == 40 and len(bars.lines[2][0].get_segments()) == 40  # points and their intervals
    assert list(x) == list(u.iloc[:20]) + list(u.iloc[-20:])
    assert [t.get_text() for t in ax.get_yticklabels()] == list(u.index[:20]) + list(u.index[-20:])
    assert len(u) > 400
    assert [t.get_text() for t in ax.texts] == [f"{len(u) - 40} levels hidden"]
    assert f"of {len(u)}" in ax.get_title()


def test_caterpillar_without_limit_draws_every_level(many_levels):
    fig = many_levels.plot_caterpillar("g", max_levels=None)
    ax = fig.axes[0]
    assert len(ax.containers[0].lines[0].get_xdata()) == len(many_levels.random_effects["g"]) and not ax.texts
