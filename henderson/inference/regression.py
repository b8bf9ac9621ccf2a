"""Random-regression results: covariance functions over a covariate, their eigen-decomposition and
daily heritabilities (Kirkpatrick et al. 1990; Schaeffer 2004).

For a term (leg(dim, k) | g) with coefficient covariance K (q x q) the covariance function is
k(s, t) = phi(s)' K phi(t); the variance of the term on day t is phi(t)' K phi(t). With the
genetic term g_a and the others g (permanent environment, ...), the daily heritability is

    h2(t) = phi(t)' K_a phi(t) / (sum_g phi(t)' K_g phi(t) + sigma2),

with delta-method standard errors from Cov(theta). The eigenfunctions of k are
psi_i(t) = sum_j v_ij phi_j(t) for the eigenvectors v_i of K (eigenvalue lambda_i).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DesignError
from .delta import delta_se


def basis(term, at: dict) -> np.ndarray:
    """The term's effects (phi(t)) evaluated at the covariate values ``at`` (n_points x q)."""
    if term.lhs_spec is None:
        raise DesignError(f"term {term.name!r} is a joined term; name a random-regression term")
    frame = pd.DataFrame(at)
    try:
        return np.asarray(term.lhs_spec.get_model_matrix(frame, output="numpy", na_action="ignore"), dtype=float)
    except Exception as exc:
        raise DesignError(f"cannot evaluate the effects {term.lhs!r} of {term.name!r} at {list(frame.columns)}: "
                          f"{exc}") from None


def _variance_and_gradient(vm, theta, k: int, Phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """phi(t)' Sigma_k phi(t) per point and its gradient in theta (n_points x r)."""
    sigmas, _ = vm.unpack(theta)
    v = np.einsum("ia,ab,ib->i", Phi, sigmas[k], Phi)
    g = np.zeros((len(Phi), len(theta)))
    sl = vm.term_slice(k)
    for j, col in enumerate(range(sl.start, sl.stop)):
        g[:, col] = np.einsum("ia,ab,ib->i", Phi, vm.derivative(k, j, theta), Phi)
    return v, g


def daily_variances(model, theta, vcov, at: dict, genetic: str) -> pd.DataFrame:
    """Per covariate value: the variance of each term whose effects can be evaluated there, the
    residual variance, the phenotypic variance and h2 = var(genetic) / phenotypic, with its SE."""
    vm, terms = model.vm, model.design.terms
    names = [t.name for t in terms]
    if genetic not in names:
        raise DesignError(f"no random term {genetic!r}; terms are {names}")
    theta = np.asarray(theta, dtype=float)
    out = pd.DataFrame(at)
    total = np.full(len(out), vm.sigma2(theta))
    gtot = np.zeros((len(out), len(theta)))
    gtot[:, vm.residual_slice] = 1.0
    for k, t in enumerate(terms):
        if t.lhs_spec is None:
            continue
        v, g = _variance_and_gradient(vm, theta, k, basis(t, at))
        out[f"var({t.name})"] = v
        total = total + v
        gtot = gtot + g
        if t.name == genetic:
            va, ga = v, g
    out["var(Residual)"] = vm.sigma2(theta)
    out["var(phenotype)"] = total
    h2 = va / total
    grad = ga / total[:, None] - (va / total**2)[:, None] * gtot
    out["h2"] = h2
    out["h2_std_error"] = [delta_se(gi, vcov) for gi in grad]
    return out


def eigen_table(model, theta, group: str) -> pd.DataFrame:
    """Eigenvalues of a term's coefficient covariance K (largest first), their share of its trace,
    and the eigenvectors' coefficients on the term's effects (the eigenfunctions' coefficients)."""
    names = [t.name for t in model.vm.terms]
    if group not in names:
        raise DesignError(f"no random term {group!r}; terms are {names}")
    k = names.index(group)
    S = model.vm.unpack(theta)[0][k]
    w, V = np.linalg.eigh(S)
    order = np.argsort(w)[::-1]
    w, V = w[order], V[:, order]
    V = V * np.where(V[np.argmax(np.abs(V), axis=0), np.arange(len(w))] < 0, -1.0, 1.0)  # largest entry positive
    t = model.vm.terms[k]
    df = pd.DataFrame(V.T, columns=list(t.effects), index=pd.RangeIndex(1, len(w) + 1, name="eigenfunction"))
    df.insert(0, "eigenvalue", w)
    df.insert(1, "share", w / w.sum())
    return df
