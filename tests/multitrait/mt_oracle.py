"""Dense multi-trait mixed model equations at known covariances: the brute-force oracle of tests/multitrait.

Traits k = 1..t on n record rows (Y[i, k] NaN: trait k not recorded on row i). Observations are stacked
trait by trait; R of the stacked vector is R0[k, l] between traits k and l of the same row and 0 between
rows, built and inverted whole (no per-pattern algebra). The animal term: trait k in ``animal_traits``
has the columns Z (rows x animals) in block a = animal_traits.index(k) of u, with Var(u) = G0 (x) A,
trait-major (u = [u_1; u_2; ...]). Further random terms (``extra``): (Z_e, K_e, S_e, traits_e), Var = S_e (x) K_e
over the traits ``traits_e``, independent of the animal term. C = W'R^-1 W + diag(0, G^-1),
W = [blockdiag(X_k) | Z blocks | extra Z blocks].
"""
from dataclasses import dataclass

import numpy as np

from tests.oracles import reml_m2ll


@dataclass
class DenseMME:
    """The dense MME solved: BLUE per trait, BLUP and PEV (animals x traits with the term), C^-1, -2 l_REML
    and -2 l_ML."""

    b: list
    u: np.ndarray
    pev: np.ndarray
    vcov_b: np.ndarray
    Cinv: np.ndarray
    m2ll: float
    m2ll_ml: float
    u_extra: list
    pev_extra: list


def stacked(Y, X_list, terms):
    """(y, X, Z, trait, row) of the observed entries stacked trait by trait; ``terms``: (Z_e, traits_e)
    per random term, its columns trait-major in the order of traits_e."""
    n, t = Y.shape
    p = [X.shape[1] for X in X_list]
    widths = [Ze.shape[1] * len(te) for Ze, te in terms]
    ys, Xs, Zs, trait, row = [], [], [], [], []
    for k in range(t):
        rows = np.flatnonzero(~np.isnan(Y[:, k]))
        Xk = np.zeros((rows.size, sum(p)))
        Xk[:, sum(p[:k]):sum(p[:k + 1])] = X_list[k][rows]
        Zk = np.zeros((rows.size, sum(widths)))
        for e, (Ze, te) in enumerate(terms):
            if k in te:
                start = sum(widths[:e]) + te.index(k) * Ze.shape[1]
                Zk[:, start:start + Ze.shape[1]] = Ze[rows]
        ys.append(Y[rows, k])
        Xs.append(Xk)
        Zs.append(Zk)
        trait.append(np.full(rows.size, k))
        row.append(rows)
    return (np.concatenate(ys), np.vstack(Xs), np.vstack(Zs), np.concatenate(trait), np.concatenate(row))


def dense_mme(Y, X_list, Z, A, G0, R0, animal_traits=None, extra=()):
    """Solve the multi-trait MME densely (see the module docstring); X_k of full column rank."""
    Y = np.asarray(Y, dtype=float)
    t = Y.shape[1]
    animal_traits = list(range(t)) if animal_traits is None else list(animal_traits)
    terms = [(Z, animal_traits)] + [(Ze, list(te)) for Ze, _, _, te in extra]
    y, X, Zs, trait, row = stacked(Y, X_list, terms)
    R = np.asarray(R0, float)[np.ix_(trait, trait)] * (row[:, None] == row[None, :])
    Ri = np.linalg.inv(R)
    blocks = [np.kron(np.asarray(G0, float), A)] + [np.kron(np.asarray(Se, float), Ke) for _, Ke, Se, _ in extra]
    G = np.zeros((Zs.shape[1], Zs.shape[1]))
    cut = np.cumsum([0] + [B.shape[0] for B in blocks])
    for i, B in enumerate(blocks):
        G[cut[i]:cut[i + 1], cut[i]:cut[i + 1]] = B
    W = np.hstack([X, Zs])
    C = W.T @ Ri @ W
    p = X.shape[1]
    C[p:, p:] += np.linalg.inv(G)
    sol = np.linalg.solve(C, W.T @ Ri @ y)
    Cinv = np.linalg.inv(C)
    cuts = np.cumsum([0] + [Xk.shape[1] for Xk in X_list])
    b = [sol[cuts[k]:cuts[k + 1]] for k in range(t)]
    u_all, pev_all = sol[p:], np.diag(Cinv)[p:]
    us, pevs = [], []
    for i, (Ze, te) in enumerate(terms):
        us.append(u_all[cut[i]:cut[i + 1]].reshape(len(te), Ze.shape[1]).T)
        pevs.append(pev_all[cut[i]:cut[i + 1]].reshape(len(te), Ze.shape[1]).T)
    V = Zs @ G @ Zs.T + R
    return DenseMME(b=b, u=us[0], pev=pevs[0], vcov_b=Cinv[:p, :p], Cinv=Cinv, m2ll=reml_m2ll(y, X, V),
                    m2ll_ml=ml_m2ll(y, X, V), u_extra=us[1:], pev_extra=pevs[1:])


def ml_m2ll(y, X, V):
    """-2 ML log-likelihood with V dense: n log 2pi + log|V| + r'V^-1 r, r the GLS residual."""
    Vi = np.linalg.inv(V)
    r = y - X @ np.linalg.solve(X.T @ Vi @ X, X.T @ Vi @ y)
    return float(len(y) * np.log(2 * np.pi) + np.linalg.slogdet(V)[1] + r @ Vi @ r)


def incidence(codes, levels):
    """Rows x len(levels) 0/1 matrix of ``codes`` (each a member of ``levels``)."""
    index = {v: j for j, v in enumerate(levels)}
    M = np.zeros((len(codes), len(levels)))
    M[np.arange(len(codes)), [index[c] for c in codes]] = 1.0
    return M
