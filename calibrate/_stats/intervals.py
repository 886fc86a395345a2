"""Intervals and tests for proportions: Wilson interval, two-proportion z test, Cochran–Armitage trend.

Thin wrappers over statsmodels (imported when called, so ``import calibrate`` stays light) that keep
this package's conventions: ``confidence`` rather than ``alpha``, ``nan`` rather than warnings for
empty groups, one-sided trend p-values.
"""

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

    statsmodels ``proportion_confint(k, n, alpha=1 - confidence, method="wilson")``.

    Parameters
    ----------
    k, n : array_like
        Successes and trials (broadcast together); ``0 <= k <= n``.
    confidence : float, default 0.95

    Returns
    -------
    low, high : ndarray
        Bounds clipped to [0, 1]; ``nan`` where ``n == 0``.

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
    JASA 22(158), 209–212.

    Examples
    --------
    >>> low, high = wilson_interval([8, 0], [10, 0])
    >>> print(f"{low[0]:.3f} {high[0]:.3f}", bool(np.isnan(low[1])))
    0.490 0.943 True
    """
    from statsmodels.stats.proportion import proportion_confint

    _z(confidence)
    k_arr, n_arr = np.broadcast_arrays(np.asarray(k, dtype=np.float64), np.asarray(n, dtype=np.float64))
    if np.any(k_arr < 0) or np.any(k_arr > n_arr):
        raise ValueError("wilson_interval needs 0 <= k <= n")
    with np.errstate(invalid="ignore", divide="ignore"):  # n == 0 gives nan bounds
        low, high = proportion_confint(k_arr, n_arr, alpha=1.0 - confidence, method="wilson")
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)


# ----------------------------------------------------------------------------------------------
# tests of proportions
# ----------------------------------------------------------------------------------------------
def two_proportion_test(k1: float, n1: float, k2: float, n2: float, *, alternative: Alternative = "larger") -> ZTest:
    """Pooled two-proportion z test of p1 = p2: statsmodels ``proportions_ztest([k1, k2], [n1, n2])``.

    ``alternative="larger"`` tests p1 > p2; ``nan`` when the pooled variance is 0 (both groups all
    successes or all failures) or a group is empty.

    References
    ----------
    Agresti, A. (2013). Categorical Data Analysis, 3rd ed., §3.1; Fleiss, Levin & Paik (2003).

    Examples
    --------
    >>> z, p = two_proportion_test(83, 120, 61, 110)
    >>> print(f"z = {z:.3f}, p = {p:.4f}")
    z = 2.147, p = 0.0159
    """
    from statsmodels.stats.proportion import proportions_ztest

    if alternative not in ("two-sided", "larger", "smaller"):
        raise ValueError(f"alternative must be 'larger', 'smaller' or 'two-sided', got {alternative!r}")
    with np.errstate(invalid="ignore", divide="ignore"):
        z, p = proportions_ztest(np.array([k1, k2], dtype=np.float64), np.array([n1, n2], dtype=np.float64),
                                 alternative=alternative)
    z, p = float(z), float(p)
    return ZTest(z, p) if math.isfinite(z) else ZTest(math.nan, math.nan)


def cochran_armitage(
    k: ArrayLike, n: ArrayLike, *, scores: ArrayLike | None = None, alternative: TrendAlternative = "increasing"
) -> ZTest:
    """Cochran–Armitage test for a linear trend in proportions ``k/n`` across ordered groups.

    Returns the classical statistic with the binomial variance,
    ``z = Σ s_i (k_i − n_i p̄) / sqrt(p̄(1−p̄) [Σ n_i s_i² − (Σ n_i s_i)²/N])``, computed from
    statsmodels ``Table(...).test_ordinal_association``: that linear-by-linear (permutation)
    version divides by ``N−1`` instead of ``N`` in the variance, ``z_LBL = z_CA · sqrt((N−1)/N)``,
    so its z is rescaled by ``sqrt(N/(N−1))``.

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
        ``nan`` when the variance is 0 (one group, or all successes or all failures).

    References
    ----------
    Cochran, W. G. (1954). Biometrics 10, 417–451. Armitage, P. (1955). Biometrics 11, 375–386.
    Agresti (2013), §3.4.6 (M² = (N−1) r²).

    Examples
    --------
    >>> z, p = cochran_armitage([2, 5, 9], [10, 10, 10])
    >>> print(f"z = {z:.3f}, one-sided p = {p:.4f}")
    z = 3.137, one-sided p = 0.0009
    """
    from statsmodels.stats.contingency_tables import Table

    k_arr = _vector(k, "k")
    n_arr = _vector(n, "n", k_arr.shape[0])
    s = np.arange(k_arr.shape[0], dtype=np.float64) if scores is None else _vector(scores, "scores", k_arr.shape[0])
    if ((k_arr < 0) | (k_arr > n_arr)).any():
        raise ValueError("cochran_armitage needs 0 <= k <= n")
    big_n = float(n_arr.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        table = Table(np.column_stack([n_arr - k_arr, k_arr]), shift_zeros=False)  # no 0.5 added to empty cells
        z = float(table.test_ordinal_association(row_scores=s, col_scores=np.array([0.0, 1.0])).zscore)
    z = z * math.sqrt(big_n / (big_n - 1.0)) if big_n > 1 and math.isfinite(z) else math.nan
    return ZTest(z, float(_pvalue(z, alternative, larger="increasing", smaller="decreasing")))
