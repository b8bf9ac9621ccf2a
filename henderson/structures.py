"""Covariance structures of a random term: its own parameters -> Sigma (q x q) and dSigma/dparam.

Spelled in a formula as glmmTMB spells them, with glmmTMB's meaning:

    (1 + x | g)         us    unstructured: the lower triangle s11, s21, s22, ... (q(q+1)/2 parameters)
    diag(1 + x | g)     diag  heterogeneous variances v_1..v_q, no covariance (= lme4's (1 + x || g))
    cs(0 + f | g)       cs    heterogeneous variances v_1..v_q and one common correlation rho:
                              Sigma_ab = rho sqrt(v_a v_b)  (a != b)
    ar1(0 + f | g)      ar1   one variance v and an AR(1) correlation over the effects in order:
                              Sigma_ab = v rho^|a - b|

``ar1(0 + time | g)`` with ``time`` a factor is AR(1) over the levels of the factor. Each structure
maps its parameters to Sigma (``sigma``), gives dSigma/dparam_j (``derivative``), a projection of any
symmetric matrix onto its family (``project``: start values and EM updates), the names of its
parameters (``labels``) and lme4's sd/cor scale (``to_sd_cor``/``from_sd_cor``). Nothing else in the
package knows the parameterization.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STRUCTURES = ("us", "diag", "cs", "ar1")
SD, COR = "sd", "cor"


@dataclass(frozen=True)
class Structure:
    """The parameterization of a q x q covariance (kind one of STRUCTURES)."""

    kind: str
    q: int

    def __post_init__(self):
        if self.kind not in STRUCTURES:
            raise ValueError(f"unknown covariance structure {self.kind!r}; expected one of {STRUCTURES}")

    @property
    def n_params(self) -> int:
        q = self.q
        return {"us": q * (q + 1) // 2, "diag": q, "cs": q + 1, "ar1": 2}[self.kind]

    def pairs(self) -> list[tuple[int, int]]:
        """(a, b), a >= b: the lower-triangle elements of an unstructured Sigma in parameter order."""
        return [(a, b) for a in range(self.q) for b in range(a + 1)]

    # -- parameters -> Sigma ----------------------------------------------------------------------
    def sigma(self, p: np.ndarray) -> np.ndarray:
        """Sigma at the parameters ``p``."""
        q, kind = self.q, self.kind
        if kind == "us":
            S = np.zeros((q, q))
            for i, (a, b) in enumerate(self.pairs()):
                S[a, b] = S[b, a] = p[i]
            return S
        if kind == "diag":
            return np.diag(np.asarray(p, dtype=float))
        if kind == "cs":
            s = np.sqrt(np.maximum(p[:q], 0.0))
            S = p[q] * np.outer(s, s)
            np.fill_diagonal(S, p[:q])
            return S
        lag = np.abs(np.subtract.outer(np.arange(q), np.arange(q)))
        return p[0] * _power(p[1], lag)

    def derivative(self, p: np.ndarray, j: int) -> np.ndarray:
        """dSigma/dp_j at ``p``."""
        q, kind = self.q, self.kind
        E = np.zeros((q, q))
        if kind == "us":
            a, b = self.pairs()[j]
            E[a, b] = E[b, a] = 1.0
        elif kind == "diag":
            E[j, j] = 1.0
        elif kind == "cs":
            s = np.sqrt(np.maximum(p[:q], 0.0))
            if j == q:
                E = np.outer(s, s)
                np.fill_diagonal(E, 0.0)
            else:
                E[j, :] = p[q] * s / (2.0 * max(s[j], 1e-300))
                E[:, j] = E[j, :]
                E[j, j] = 1.0
        else:
            lag = np.abs(np.subtract.outer(np.arange(q), np.arange(q)))
            if j == 0:
                E = _power(p[1], lag)
            else:
                E = p[0] * lag * _power(p[1], np.maximum(lag - 1, 0))
        return E

    def second_derivative(self, p: np.ndarray, i: int, j: int) -> np.ndarray:
        """d2 Sigma / dp_i dp_j at ``p`` (zero for the linear structures us and diag)."""
        q, kind = self.q, self.kind
        E = np.zeros((q, q))
        if kind in ("us", "diag"):
            return E
        if kind == "ar1":
            lag = np.abs(np.subtract.outer(np.arange(q), np.arange(q)))
            if i + j == 1:
                E = lag * _power(p[1], np.maximum(lag - 1, 0))
            elif i == j == 1:
                E = p[0] * lag * (lag - 1) * _power(p[1], np.maximum(lag - 2, 0))
            return E
        return self._cs_second(p, i, j)

    def _cs_second(self, p: np.ndarray, i: int, j: int) -> np.ndarray:
        """d2 Sigma / dp_i dp_j of cs: Sigma_ab = rho s_a s_b (a != b), s_a = sqrt(v_a); diagonal v_a."""
        q = self.q
        s = np.sqrt(np.maximum(p[:q], 1e-300))
        rho = p[q]
        E = np.zeros((q, q))
        for a in range(q):
            for b in range(q):
                if a == b:
                    continue
                if i == q and j == q:
                    continue
                if q in (i, j):                  # rho and v_c: d(s_a s_b)/dv_c
                    c = i if j == q else j
                    E[a, b] = (c == a) * s[b] / (2 * s[a]) + (c == b) * s[a] / (2 * s[b])
                elif i == j:                     # v_c twice
                    E[a, b] = rho * (-(i == a) * s[b] / (4 * s[a] ** 3) - (i == b) * s[a] / (4 * s[b] ** 3))
                elif {i, j} == {a, b}:           # v_a and v_b
                    E[a, b] = rho / (4 * s[a] * s[b])
        return E

    def linear(self) -> bool:
        """Whether Sigma is linear in the parameters (EM's M-step is then exact)."""
        return self.kind in ("us", "diag")

    # -- Sigma -> parameters ----------------------------------------------------------------------
    def project(self, S: np.ndarray) -> np.ndarray:
        """Parameters of a member of the family near the symmetric matrix S (exact when S is in it):
        variances from its diagonal; cs's rho the mean correlation, ar1's the mean lag-1 correlation
        and v the mean variance (clipped inside (-1, 1))."""
        S = np.atleast_2d(np.asarray(S, dtype=float))
        q, kind = self.q, self.kind
        if kind == "us":
            return np.array([S[a, b] for a, b in self.pairs()])
        d = np.diag(S).copy()
        if kind == "diag":
            return d
        sd = np.sqrt(np.maximum(d, 1e-300))
        R = S / np.outer(sd, sd)
        if kind == "cs":
            rho = float(R[np.tril_indices(q, -1)].mean())
            return np.r_[d, np.clip(rho, -0.99 / (q - 1), 0.99)]
        rho = float(np.mean(np.diag(R, -1)))
        return np.array([float(d.mean()), np.clip(rho, -0.99, 0.99)])

    # -- names ------------------------------------------------------------------------------------
    def labels(self, effects: tuple[str, ...]) -> list[tuple[str, str]]:
        """(term1, term2) of each parameter: a variance (effect, ""), a covariance (effect1, effect2);
        a structure's correlation ("rho", "")."""
        if self.kind == "us":
            return [(effects[a], "" if a == b else effects[b]) for a, b in self.pairs()]
        if self.kind == "diag":
            return [(e, "") for e in effects]
        if self.kind == "cs":
            return [(e, "") for e in effects] + [("rho", "")]
        return [("var", ""), ("rho", "")]

    def names(self, group: str, effects: tuple[str, ...]) -> list[str]:
        """Names of the parameters usable in derived(): ``group`` for a 1x1 term, ``group[effect]``,
        ``group[effect1,effect2]``, ``group[rho]``, ``group[var]``."""
        if self.kind == "us" and self.q == 1:
            return [group]
        return [f"{group}[{a}]" if not b else f"{group}[{a},{b}]" for a, b in self.labels(effects)]

    def variances(self) -> list[int]:
        """Parameters that are variances (positive scalars)."""
        if self.kind == "us":
            return [i for i, (a, b) in enumerate(self.pairs()) if a == b and self.q == 1]
        return list(range(self.q)) if self.kind in ("diag", "cs") else [0]

    def floor_variances(self) -> list[int]:
        """Parameters that may sit at zero alone (Sigma stays positive definite at a small floor):
        the variance of a 1x1 term and the variances of a diagonal structure."""
        if self.kind == "diag" or (self.kind == "us" and self.q == 1):
            return list(range(self.q))
        return []

    def involving(self, j: int) -> list[int]:
        """Parameters that involve effect j (its variance and its covariances)."""
        if self.kind == "us":
            return [i for i, (a, b) in enumerate(self.pairs()) if j in (a, b)]
        if self.kind == "diag":
            return [j]
        return [j, self.q] if self.kind == "cs" else [0, 1]

    def with_earlier(self, j: int) -> list[int]:
        """Parameters that tie effect j to the effects before it (covariances, correlations)."""
        if self.kind == "us":
            return [i for i, (a, b) in enumerate(self.pairs()) if a == j and b < j]
        if self.kind == "diag" or j == 0:
            return []
        return [self.q] if self.kind == "cs" else [1]

    def scales(self, S: np.ndarray) -> np.ndarray:
        """A scale per parameter (finite-difference steps): sqrt(S_aa S_bb) for a (co)variance, 1 for rho."""
        if self.kind == "us":
            return np.array([np.sqrt(abs(S[a, a] * S[b, b])) for a, b in self.pairs()])
        d = np.abs(np.diag(S))
        if self.kind == "diag":
            return d
        return np.r_[d, 1.0] if self.kind == "cs" else np.array([d.mean(), 1.0])

    # -- lme4's scale -------------------------------------------------------------------------------
    def sd_cor_layout(self, group: str, effects: tuple[str, ...]) -> list[tuple[str, str, int, int]]:
        """(kind, name, a, b) of each parameter on the sd/cor scale (names as lme4's confint)."""
        if self.kind == "us":
            return [(SD, f"sd_{effects[a]}|{group}", a, b) if a == b else
                    (COR, f"cor_{effects[a]}.{effects[b]}|{group}", a, b) for a, b in self.pairs()]
        out = [(SD, f"sd_{e}|{group}", a, a) for a, e in enumerate(effects)] if self.kind != "ar1" \
            else [(SD, f"sd|{group}", 0, 0)]
        return out if self.kind == "diag" else out + [(COR, f"rho|{group}", 1, 0)]

    def to_sd_cor(self, p: np.ndarray) -> np.ndarray:
        """Parameters -> standard deviations and correlations (sd_cor_layout order)."""
        if self.kind != "us":
            out = np.array(p, dtype=float)
            nv = self.q if self.kind in ("diag", "cs") else 1
            out[:nv] = np.sqrt(np.maximum(out[:nv], 0.0))
            return out
        S = self.sigma(p)
        return np.array([np.sqrt(max(S[a, a], 0)) if a == b else S[a, b] / np.sqrt(S[a, a] * S[b, b])
                         for a, b in self.pairs()])

    def from_sd_cor(self, phi: np.ndarray) -> np.ndarray:
        """Standard deviations and correlations -> parameters."""
        phi = np.asarray(phi, dtype=float)
        if self.kind != "us":
            out = phi.copy()
            nv = self.q if self.kind in ("diag", "cs") else 1
            out[:nv] = phi[:nv] ** 2
            return out
        sd = {a: phi[i] for i, (a, b) in enumerate(self.pairs()) if a == b}
        return np.array([phi[i] ** 2 if a == b else phi[i] * sd[a] * sd[b] for i, (a, b) in enumerate(self.pairs())])


def _power(rho: float, lag: np.ndarray) -> np.ndarray:
    """rho ** lag elementwise with 0 ** 0 = 1."""
    return np.where(lag == 0, 1.0, np.power(rho, np.maximum(lag, 0).astype(float)))
