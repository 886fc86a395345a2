"""Intervals and tests for proportions: Wilson interval, two-proportion z test, Cochran–Armitage trend."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from calibrate._stats._common import Alternative, TrendAlternative, ZTest, _pvalue, _vector, _z


# ----------------------------------------------------------------------------------------------
# Wilson interval
# ----------------------------------------------------------------------------------------------
def wilson_interval(k: ArrayLike, n: ArrayLike, *, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for binomial proportions, vectorised over ``k`` and ``n``.

    Parameters
    ----------
    k, n : array_like
        Successes and trials (broadcast together); ``0 <= k <= n``.
    confidence : float, default 0.95

    Returns
    -------
    low, high : ndarray
        Bounds clipped to [0, 1] and holding ``k / n`` (at 0 % or 100 % rounding could leave the
        bound a hair inside); ``nan`` where ``n == 0``.

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
    JASA 22(158), 209–212.
    """
    z = _z(confidence)
    k_arr, n_arr = np.broadcast_arrays(np.asarray(k, dtype=np.float64), np.asarray(n, dtype=np.float64))
    if np.any(k_arr < 0) or np.any(k_arr > n_arr):
        raise ValueError("wilson_interval needs 0 <= k <= n")
    z2 = z * z
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k_arr / n_arr
        denom = 1.0 + z2 / n_arr
        centre = (p + z2 / (2.0 * n_arr)) / denom
        half = z * np.sqrt(p * (1.0 - p) / n_arr + z2 / (4.0 * n_arr * n_arr)) / denom
    empty = ~(n_arr > 0)
    low = np.where(empty, np.nan, np.clip(np.minimum(centre - half, p), 0.0, 1.0))
    high = np.where(empty, np.nan, np.clip(np.maximum(centre + half, p), 0.0, 1.0))
    return low, high


# ----------------------------------------------------------------------------------------------
# tests of proportions
# ----------------------------------------------------------------------------------------------
def two_proportion_test(
    k1: ArrayLike, n1: ArrayLike, k2: ArrayLike, n2: ArrayLike, *, alternative: Alternative = "larger"
) -> ZTest:
    """Pooled two-proportion z test of p1 = p2 (matches statsmodels ``proportions_ztest``).

    ``alternative="larger"`` tests p1 > p2. Vectorised; ``nan`` where the pooled variance is 0.

    References
    ----------
    Agresti, A. (2013). Categorical Data Analysis, 3rd ed., §3.1; Fleiss, Levin & Paik (2003).
    """
    k1, n1, k2, n2 = (np.asarray(a, dtype=np.float64) for a in (k1, n1, k2, n2))
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = (k1 + k2) / (n1 + n2)
        se = np.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
        z = np.where(se > 0, (k1 / n1 - k2 / n2) / se, np.nan)
    p = _pvalue(z, alternative)
    if z.ndim == 0:
        return ZTest(float(z), float(p))
    return ZTest(z, p)


def cochran_armitage(
    k: ArrayLike, n: ArrayLike, *, scores: ArrayLike | None = None, alternative: TrendAlternative = "increasing"
) -> ZTest:
    """Cochran–Armitage test for a linear trend in proportions ``k/n`` across ordered groups.

    Returns the classical statistic with the binomial variance,
    ``z = Σ s_i (k_i − n_i p̄) / sqrt(p̄(1−p̄) [Σ n_i s_i² − (Σ n_i s_i)²/N])``.
    The linear-by-linear (permutation) version (statsmodels
    ``Table.test_ordinal_association``) divides by ``N−1`` instead of ``N`` in the variance, so
    ``z_LBL = z_CA · sqrt((N−1)/N)``.

    Parameters
    ----------
    k, n : array_like of int
        Successes and rows per group, groups in order.
    scores : array_like, optional
        Group scores (default ``0, 1, 2, …``).
    alternative : {"increasing", "decreasing", "two-sided"}

    Returns
    -------
    ZTest

    References
    ----------
    Cochran, W. G. (1954). Biometrics 10, 417–451. Armitage, P. (1955). Biometrics 11, 375–386.
    Agresti (2013), §3.4.6 (M² = (N−1) r²).
    """
    k_arr = _vector(k, "k")
    n_arr = _vector(n, "n", k_arr.shape[0])
    s = np.arange(k_arr.shape[0], dtype=np.float64) if scores is None else _vector(scores, "scores", k_arr.shape[0])
    if ((k_arr < 0) | (k_arr > n_arr)).any():
        raise ValueError("cochran_armitage needs 0 <= k <= n")
    big_n = n_arr.sum()
    pbar = k_arr.sum() / big_n if big_n > 0 else math.nan
    t = float(np.dot(s, k_arr - n_arr * pbar))
    sn = np.dot(n_arr, s)
    var = pbar * (1.0 - pbar) * (np.dot(n_arr, s * s) - sn * sn / big_n) if big_n > 0 else math.nan
    z = t / math.sqrt(var) if var > 0 else math.nan
    return ZTest(z, float(_pvalue(z, alternative, larger="increasing", smaller="decreasing")))
