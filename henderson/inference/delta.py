"""Functions of the variance components with delta-method standard errors.

    se(f(theta)) = sqrt(g' Cov(theta) g),   g = df/dtheta

Components are named: a scalar term's variance by its group (``id``, ``herd``),
the elements of a vector term's covariance by ``group[effect]`` and
``group[effect1,effect2]``, the residual variance by ``Residual``. Built-in
ratios (intraclass correlation, heritability, repeatability) and correlations
have analytic gradients; a user expression such as ``id / (id + herd + Residual)``
is differentiated by the complex step, exact to rounding.
"""
from __future__ import annotations

import ast
import re

import numpy as np
import pandas as pd

from ..distributions import norm_ppf
from ..errors import DesignError

_FUNCS = {"sqrt": np.sqrt, "log": np.log, "exp": np.exp, "abs": np.abs, "pi": np.pi}


def component_names(vm) -> list[str]:
    """The name of each element of theta (covariance.VarianceModel.names)."""
    return vm.names()


def delta_se(grad: np.ndarray, vcov: np.ndarray | None) -> float:
    """sqrt(g' V g); parameters with unknown variance (boundary, NaN) count as fixed; NaN without V
    (variances given, not estimated) or when V is NaN throughout (singular information: nothing is known)."""
    if vcov is None or np.isnan(vcov).all():
        return float("nan")
    V = np.nan_to_num(vcov, nan=0.0)
    return float(np.sqrt(max(grad @ V @ grad, 0.0)))


def _compile(expr: str, names: list[str]) -> str:
    """Replace every component name by ``_c[i]`` (longest names first, whole names only)."""
    code = expr
    for i in sorted(range(len(names)), key=lambda i: -len(names[i])):
        pat = r"(?<![\w.\[])" + re.escape(names[i]) + r"(?![\w.\[])"
        code = re.sub(pat, f"_c[{i}]", code)
    return code


def expression(expr: str, names: list[str], theta: np.ndarray) -> tuple[float, np.ndarray]:
    """Value of ``expr`` at theta and its gradient (complex step)."""
    code = _compile(expr, names)
    try:
        tree = ast.parse(code, mode="eval")
    except SyntaxError as exc:
        raise DesignError(f"cannot parse expression {expr!r}: {exc.msg}; known components: "
                          f"{', '.join(names)}") from None
    unknown = sorted({n.id for n in ast.walk(tree)
                      if isinstance(n, ast.Name) and n.id not in _FUNCS and n.id != "_c"})
    if unknown:
        raise DesignError(f"expression {expr!r} names unknown component(s) {unknown}; "
                          f"known: {', '.join(names)}")
    f = eval(compile(code, "<expression>", "eval"), {"__builtins__": {}}, {**_FUNCS, "_c": theta})
    h = 1e-30
    grad = np.zeros(len(theta))
    for j in range(len(theta)):
        tc = theta.astype(complex)
        tc[j] += 1j * h
        val = eval(compile(code, "<expression>", "eval"), {"__builtins__": {}}, {**_FUNCS, "_c": tc})
        grad[j] = np.imag(val) / h
    return float(np.real(f)), grad


def ratio(theta: np.ndarray, num: list[int], den: list[int]) -> tuple[float, np.ndarray]:
    """sum(theta[num]) / sum(theta[den]) and its gradient."""
    N, D = theta[num].sum(), theta[den].sum()
    g = np.zeros(len(theta))
    g[num] += 1.0 / D
    g[den] -= N / D**2
    return float(N / D), g


def ratio_definition(names: list[str], num: list[int], den: list[int]) -> str:
    """The ratio as a ``derived()`` expression, e.g. "id / (id + herd + Residual)"."""
    def total(idx):
        text = " + ".join(names[i] for i in idx)
        return f"({text})" if len(idx) > 1 else text
    return f"{total(num)} / {total(den)}"


def correlation(theta: np.ndarray, ab: int, aa: int, bb: int) -> tuple[float, np.ndarray]:
    """theta[ab] / sqrt(theta[aa] theta[bb]) and its gradient."""
    r = theta[ab] / np.sqrt(theta[aa] * theta[bb])
    g = np.zeros(len(theta))
    g[ab] = 1.0 / np.sqrt(theta[aa] * theta[bb])
    g[aa] = -0.5 * r / theta[aa]
    g[bb] = -0.5 * r / theta[bb]
    return float(r), g


def correlations(vm, theta) -> list[tuple[str, float, np.ndarray]]:
    """Every correlation between effects of a vector term: (name, value, gradient)."""
    out = []
    for k, t in enumerate(vm.terms):
        if not t.unstructured:   # a structure's correlation is a parameter itself (variance_components)
            continue
        pos = vm.term_slice(k).start
        idx = {ab: pos + i for i, ab in enumerate(t.pairs())}
        for (a, b), j in idx.items():
            if a != b:
                r, g = correlation(theta, j, idx[(a, a)], idx[(b, b)])
                out.append((f"cor({t.name}[{t.effects[a]}],{t.name}[{t.effects[b]}])", r, g))
    return out


def scalar_variances(vm) -> list[int]:
    """Positions of the variances of scalar terms and of the residual."""
    return [int(i) for i in vm.positive_scalars()]


def indices(names: list[str], groups) -> list[int]:
    groups = [groups] if isinstance(groups, str) else list(groups)
    bad = [g for g in groups if g not in names]
    if bad:
        raise DesignError(f"unknown variance component(s) {bad}; known: {', '.join(names)}")
    return [names.index(g) for g in groups]


def table(rows, vcov, level: float = 0.95) -> pd.DataFrame:
    """name, estimate, std_error and normal confidence limits."""
    z = norm_ppf(0.5 + level / 2)
    recs = []
    for name, val, g in rows:
        se = delta_se(g, vcov)
        recs.append(dict(quantity=name, estimate=val, std_error=se, ci_lower=val - z * se, ci_upper=val + z * se))
    columns = ["quantity", "estimate", "std_error", "ci_lower", "ci_upper"]
    return pd.DataFrame(recs, columns=columns).set_index("quantity")
