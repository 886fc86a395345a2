"""What the data can tell about the fitted weights: identifiability and a test for each weight at zero.

Both read the Fisher information of the logistic model ``logit P(renew) = a + x @ v`` (``x`` on 0–1) at
the fit, ``I = X₁ᵀ diag(sᵢ pᵢ(1 − pᵢ)) X₁`` with ``X₁ = [1, x]`` and ``s`` the row weights (statsmodels'
``-Logit.hessian``).

* **Identifiability.** The intercept is profiled out (Schur complement) and the slopes' block scaled to
  unit diagonal, so the number does not depend on the sub-scores' spread. Its condition number above
  :data:`COLLINEARITY_CONDITION` (a condition index, Belsley's √κ, of 1,000) means some combination of
  dimensions is (nearly) constant given the others: the data fix their *total* weight, not its split.
  The dimensions of each such direction (eigenvector entries ≥ 0.1 in size) form one group.
* **A weight at zero.** Rao's score test of ``vⱼ = 0`` given the dimensions with positive weight (the
  restricted fit is the simplex fit itself). ``z = gⱼ / √Vⱼ`` with ``gⱼ`` the score of ``vⱼ`` and ``Vⱼ`` the
  efficient information; at a fit that holds ``vⱼ`` at 0, ``z ≤ 0``: a small p-value is a significant
  *reverse* effect, a large one no detectable effect. With repeated accounts or row weights, ``Vⱼ`` is the
  account-clustered sandwich, per-account scores centred and scaled by C / (C − 1) as statsmodels'
  ``score_test(cov_type="HC0")`` does (its result when every account has one row).
"""

from __future__ import annotations

import numpy as np

__all__ = ["COLLINEARITY_CONDITION", "information_matrix", "collinear_groups", "score_tests", "zero_weight_tests"]

COLLINEARITY_CONDITION = 1e6
"""Condition number of the scaled slope information above which the weights' split is not identifiable."""

_MEMBER = 0.1
"""Least size of a dimension's entry in a near-null eigenvector for it to belong to the collinear group."""


def _probabilities(x: np.ndarray, v: np.ndarray, a: float) -> np.ndarray:
    from calibrate.fit.simplex import logistic_terms

    return logistic_terms(a + x @ v)[1]


def _information(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``X₁ᵀ diag(w) X₁`` with ``X₁ = [1, x]``, without building ``X₁``; the weighted copy of ``x`` a block at a time
    (the fit's row blocks: at 1e7 rows × 12 a 0.96 GB copy becomes 6 MB)."""
    from calibrate.fit.simplex import _ROW_BLOCK

    k = x.shape[1]
    info = np.empty((k + 1, k + 1))
    info[0, 0] = w.sum()
    info[0, 1:] = info[1:, 0] = x.T @ w
    info[1:, 1:] = sum(x[i:i + _ROW_BLOCK].T @ (x[i:i + _ROW_BLOCK] * w[i:i + _ROW_BLOCK, None])
                       for i in range(0, len(w), _ROW_BLOCK))
    return info


def information_matrix(x: np.ndarray, y: np.ndarray, v: np.ndarray, a: float,
                       sample_weight: np.ndarray | None = None) -> np.ndarray:
    """Fisher information of ``(a, v)`` at the fit, intercept first ((k + 1) × (k + 1))."""
    p = _probabilities(x, v, a)
    w = p * (1.0 - p)
    return _information(x, w if sample_weight is None else sample_weight * w)


def collinear_groups(info: np.ndarray, names: tuple[str, ...]) -> tuple[float, tuple[tuple[str, ...], ...]]:
    """Condition number of the scaled slope information and the groups of dimensions it cannot tell apart.

    Returns ``(condition, groups)``; ``condition`` is ``inf`` when the matrix is singular, ``groups``
    is empty when it is below :data:`COLLINEARITY_CONDITION`.
    """
    slopes = info[1:, 1:] - np.outer(info[1:, 0], info[0, 1:]) / info[0, 0]
    d = np.sqrt(np.clip(np.diag(slopes), np.finfo(float).tiny, None))
    lam, vec = np.linalg.eigh(slopes / np.outer(d, d))
    top = lam[-1]
    condition = float(top / lam[0]) if lam[0] > top * np.finfo(float).eps else float("inf")
    weak = lam <= top / COLLINEARITY_CONDITION
    groups: list[set[int]] = []
    for col in vec[:, weak].T:
        members = set(np.flatnonzero(np.abs(col) >= _MEMBER).tolist())
        for g in [g for g in groups if g & members]:
            members |= g
            groups.remove(g)
        groups.append(members)
    return condition, tuple(tuple(names[j] for j in sorted(g)) for g in sorted(groups, key=min))


def zero_weight_tests(x: np.ndarray, y: np.ndarray, v: np.ndarray, a: float, zero: np.ndarray, *,
                      sample_weight: np.ndarray | None = None, groups: np.ndarray | None = None,
                      robust: bool = False) -> dict[int, tuple[float, float]]:
    """Score test of each weight held at 0 (``zero`` a boolean mask) given the positive ones.

    Returns column index → ``(z, two-sided p)``; ``robust`` uses the sandwich variance clustered by
    ``groups`` (rows alone without them).
    """
    p = _probabilities(x, v, a)
    sw = np.ones(len(y)) if sample_weight is None else sample_weight
    resid = sw * (y - p)
    info = _information(x, sw * p * (1.0 - p))
    score = np.concatenate(([resid.sum()], resid @ x))
    per_group = None
    if robust:
        x1 = np.column_stack([np.ones(len(y)), x])
        if groups is None:
            per_group = resid[:, None] * x1
        else:
            cl = np.unique(np.asarray(groups), return_inverse=True)[1]
            per_group = np.column_stack([np.bincount(cl, weights=resid * x1[:, c]) for c in range(x1.shape[1])])
    return score_tests(info, score, zero, per_group=per_group)


def score_tests(info: np.ndarray, score: np.ndarray, zero: np.ndarray, *,
                per_group: np.ndarray | None = None) -> dict[int, tuple[float, float]]:
    """Rao's score tests of the weights held at 0, from aggregates (what :func:`zero_weight_tests` and the engine
    fit share).

    ``info`` is the information of ``(a, v)`` at the fit, ``score`` the gradient of the log-likelihood
    ``Σ sᵢ(yᵢ − pᵢ)·[1, xᵢ]`` and ``per_group`` (optional, groups × (k + 1)) its per-account sums: given, the
    variance is the account-clustered sandwich (module docstring), else the model-based one.
    """
    from scipy.stats import norm

    free = np.concatenate(([0], 1 + np.flatnonzero(~zero)))
    out = {}
    for j in np.flatnonzero(zero):
        c = 1 + j
        beta = np.linalg.lstsq(info[np.ix_(free, free)], info[free, c], rcond=None)[0]
        if per_group is not None:
            per = per_group[:, c] - per_group[:, free] @ beta  # the efficient score's per-account totals
            var = float(np.sum((per - per.mean()) ** 2) * len(per) / max(len(per) - 1, 1))
        else:
            var = float(info[c, c] - info[free, c] @ beta)
        z = float(score[c]) / np.sqrt(var) if var > 0 else float("nan")
        out[int(j)] = (z, float(2.0 * norm.sf(abs(z))))
    return out
