"""The small-model suite: lme4's classic data sets and seeded random small designs.

Each case is (name, formula, data, factor columns); the formula is written so that henderson and
lme4 read it alike. Random designs (``random_designs``) draw 40-600 records in one of five kinds:

    intercept  y ~ x + (1|g)                  crossed  y ~ x + (1|g) + (1|h)
    nested     y ~ x + (1|a/b)                slope    y ~ x + (1 + x|g)
    factor     y ~ f + x + (1|g)              (f: a fixed factor of 3-5 levels)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

KINDS = ("intercept", "crossed", "nested", "slope", "factor")
CLASSIC = (
    ("sleepstudy", "sleepstudy", "Reaction ~ Days + (Days|Subject)"),
    ("Penicillin", "Penicillin", "diameter ~ 1 + (1|plate) + (1|sample)"),
    ("Pastes", "Pastes", "strength ~ 1 + (1|batch/cask)"),
    ("Dyestuff", "Dyestuff", "Yield ~ 1 + (1|Batch)"),
    ("cake", "cake", "angle ~ recipe*temperature + (1|recipe:replicate)"),
    ("oats", "oats", "Y ~ V*N + (1|B/V)"),
)


@dataclass(frozen=True)
class Case:
    name: str
    kind: str          # "classic" or one of KINDS
    formula: str
    data: pd.DataFrame
    factors: tuple


def classic_cases() -> list[Case]:
    """sleepstudy, Penicillin, Pastes, Dyestuff, cake, oats with the models of the reference fits."""
    from henderson import datasets
    return [Case(name, "classic", formula, datasets.load(ds), tuple(datasets.FACTORS[ds]))
            for name, ds, formula in CLASSIC]


def _labels(prefix: str, codes: np.ndarray) -> np.ndarray:
    return np.char.add(prefix, codes.astype(str))


def one_design(i: int, rng: np.random.Generator) -> Case:
    """Random design number i (its kind cycles through KINDS); variances 0.2-2, residual 1."""
    kind = KINDS[i % len(KINDS)]
    m = int(rng.integers(5, 41))
    g = rng.integers(0, m, int(rng.integers(40, 601)))
    n = g.size
    x = rng.normal(size=n)
    sd = rng.uniform(0.45, 1.4, 2)
    y = 1.0 + 0.5 * x + sd[0] * rng.normal(size=m)[g] + rng.normal(size=n)
    d = pd.DataFrame({"g": _labels("g", g), "x": x})
    factors = ("g",)
    if kind == "intercept":
        formula = "y ~ x + (1|g)"
    elif kind == "crossed":
        k = int(rng.integers(3, 13))
        h = rng.integers(0, k, n)
        y += sd[1] * rng.normal(size=k)[h]
        d["h"] = _labels("h", h)
        factors, formula = ("g", "h"), "y ~ x + (1|g) + (1|h)"
    elif kind == "nested":
        b = rng.integers(0, int(rng.integers(2, 6)), n)
        y += sd[1] * rng.normal(size=(m, 6))[g, b]
        d = d.rename(columns={"g": "a"})
        d["b"] = _labels("b", b)
        factors, formula = ("a", "b"), "y ~ x + (1|a/b)"
    elif kind == "slope":
        y += sd[1] * rng.normal(size=m)[g] * x
        formula = "y ~ x + (1 + x|g)"
    else:
        f = rng.integers(0, int(rng.integers(3, 6)), n)
        y += 0.3 * f
        d["f"] = _labels("f", f)
        factors, formula = ("g", "f"), "y ~ f + x + (1|g)"
    d["y"] = y
    return Case(f"r{i:03d}_{kind}", kind, formula, d, factors)


def random_designs(count: int, seed: int) -> list[Case]:
    """``count`` random small designs from one seeded generator (the same designs for a seed)."""
    rng = np.random.default_rng(seed)
    return [one_design(i, rng) for i in range(count)]
