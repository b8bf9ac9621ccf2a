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
