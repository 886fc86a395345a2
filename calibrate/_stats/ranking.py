"""Discrimination: AUC (weighted Mann–Whitney), DeLong interval and paired test, KS distance."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as _st

from calibrate._stats._common import (
    AucCI, PairedAucDiff, _binary, _groups, _midranks_sorted, _sorted_starts, _vector, _z,
)


# ----------------------------------------------------------------------------------------------
# AUC and DeLong
# ----------------------------------------------------------------------------------------------
def _class_weights_by_value(yb: np.ndarray, s: np.ndarray, w: np.ndarray | None):
    """One sort: per unique score (ascending) the total weight of positives and of negatives."""
    order = np.argsort(s, kind="stable")
    ss = s[order]
    starts = _sorted_starts(ss)
    yo = yb[order]
    if w is None:
        pos = yo.astype(np.float64)
        neg = 1.0 - pos
    else:
        wo = w[order]
        pos = np.where(yo, wo, 0.0)
        neg = np.where(yo, 0.0, wo)
    return ss[starts], np.add.reduceat(pos, starts), np.add.reduceat(neg, starts)


def auc(y: ArrayLike, score: ArrayLike, *, weights: ArrayLike | None = None) -> float:
    """Area under the ROC curve as the (weighted) Mann–Whitney statistic.

    One sort; tied scores count ½ (average ranks). With frequency weights ``w`` the AUC is
    ``Σ_{i∈pos, j∈neg} w_i w_j [s_i > s_j] + ½[s_i = s_j]`` over ``Σ_pos w · Σ_neg w``.

    Parameters
    ----------
    y : array_like of 0/1
    score : array_like of float
        Finite scores, higher predicts ``y = 1``.
    weights : array_like of float, optional
        Non-negative frequency weights (integer or float).

    Returns
    -------
    float
        ``nan`` when a class has no (positive-weight) rows.

    References
    ----------
    Mann, H. B. & Whitney, D. R. (1947). Ann. Math. Statist. 18, 50–60.
    Hanley, J. A. & McNeil, B. J. (1982). Radiology 143, 29–36.
    """
    yb = _binary(y)
    s = _vector(score, "score", yb.shape[0])
    w = None
    if weights is not None:
        w = _vector(weights, "weights", yb.shape[0])
        if (w < 0).any():
            raise ValueError("weights must be non-negative")
    if yb.shape[0] == 0:
        return math.nan
    _, wpos, wneg = _class_weights_by_value(yb, s, w)
    tp, tn = wpos.sum(), wneg.sum()
    if not (tp > 0 and tn > 0):
        return math.nan
    below = np.cumsum(wneg) - wneg
    return float(np.dot(wpos, below + 0.5 * wneg) / (tp * tn))


def _placements(yb: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong placement values V10 (per positive) and V01 (per negative), rows in input order.

    Fast midrank algorithm of Sun & Xu (2014) with a single sort: the midranks within each class
    are computed on the class's subsequence of the sorted scores (already sorted). A row's placement is its
    midranks', which tied rows share, so the order of ties is immaterial: no sort when the scores come sorted
    (drift's periods do), an unstable one otherwise.
    """
    order = np.arange(s.shape[0]) if (s[1:] >= s[:-1]).all() else np.argsort(s)
    ss, yo = s[order], yb[order]
    tz = _midranks_sorted(ss)
    tx = _midranks_sorted(ss[yo])
    ty = _midranks_sorted(ss[~yo])
    m, n = tx.shape[0], ty.shape[0]
    full = np.empty(s.shape[0])
    full[order[yo]] = (tz[yo] - tx) / n
    full[order[~yo]] = 1.0 - (tz[~yo] - ty) / m
    return full[yb], full[~yb]


# Hand-written on purpose: neither scikit-learn nor statsmodels has DeLong, let alone its clustered (Obuchowski) form.
def _clustered_variance(v10: np.ndarray, v01: np.ndarray, yb: np.ndarray, groups: ArrayLike, value: float) -> float:
    """Obuchowski's (1997) variance of the AUC when rows come in clusters (an account's snapshots).

    Per cluster i: ``V10_i`` = sum of its positives' placements, ``V01_i`` of its negatives';
    ``m_i``/``n_i`` its positives/negatives. With I clusters, M positives and N negatives::

        S10 = I/((I-1) M) Σ (V10_i − m_i A)²,  S01 = I/((I-1) N) Σ (V01_i − n_i A)²,
        S11 = I/(I-1) Σ (V10_i − m_i A)(V01_i − n_i A),
        var(A) = S10/M + S01/N + 2 S11/(M N).
    """
    codes, n_groups = _groups(groups)
    if n_groups < 2:
        return math.nan
    pos, neg = codes[yb], codes[~yb]
    m_i = np.bincount(pos, minlength=n_groups)
    n_i = np.bincount(neg, minlength=n_groups)
    v10_i = np.bincount(pos, weights=v10, minlength=n_groups)
    v01_i = np.bincount(neg, weights=v01, minlength=n_groups)
    return _variance_from_sums(v10_i, v01_i, m_i, n_i, value)


def _variance_from_sums(v10_i: np.ndarray, v01_i: np.ndarray, m_i: np.ndarray, n_i: np.ndarray, value: float) -> float:
    """Obuchowski's variance from per-cluster placement sums and class counts (:func:`_clustered_variance`)."""
    n_groups = v10_i.shape[0]
    if n_groups < 2:
        return math.nan
    d10 = v10_i - m_i * value
    d01 = v01_i - n_i * value
    m, n = int(m_i.sum()), int(n_i.sum())
    k = n_groups / (n_groups - 1)
    s10 = k * float(d10 @ d10) / m
    s01 = k * float(d01 @ d01) / n
    s11 = k * float(d10 @ d01)
    return s10 / m + s01 / n + 2.0 * s11 / (m * n)


def delong(y: ArrayLike, score: ArrayLike, *, confidence: float = 0.95, groups: ArrayLike | None = None) -> AucCI:
    """AUC with DeLong's standard error and a normal (Wald) interval.

    Parameters
    ----------
    y : array_like of 0/1
    score : array_like of float
    confidence : float, default 0.95
    groups : array_like, optional
        Cluster of each row (the account). Rows of one account are not independent; with
        ``groups`` the variance is Obuchowski's clustered form of DeLong's (one row per group
        gives DeLong's again, up to the factor I/(I−1) against 1/(m−1), 1/(n−1)).

    Returns
    -------
    AucCI
        ``value ± z·se`` clipped to [0, 1]; all ``nan`` when a class is absent (``se`` is ``nan``
        with fewer than two rows in a class).

    References
    ----------
    DeLong, E. R., DeLong, D. M. & Clarke-Pearson, D. L. (1988). Biometrics 44, 837–845.
    Sun, X. & Xu, W. (2014). Fast implementation of DeLong's algorithm. IEEE Signal Processing
    Letters 21(11), 1389–1393.
    Obuchowski, N. A. (1997). Nonparametric analysis of clustered ROC curve data. Biometrics 53, 567–578.
    """
    z = _z(confidence)
    yb = _binary(y)
    s = _vector(score, "score", yb.shape[0])
    m = int(yb.sum())
    n = yb.shape[0] - m
    if m == 0 or n == 0:
        return AucCI(math.nan, math.nan, math.nan, math.nan)
    v10, v01 = _placements(yb, s)
    value = float(v10.mean())
    if m < 2 or n < 2:
        return AucCI(value, math.nan, math.nan, math.nan)
    if groups is None:
        se = math.sqrt(v10.var(ddof=1) / m + v01.var(ddof=1) / n)
    else:
        se = math.sqrt(_clustered_variance(v10, v01, yb, groups, value))
    return AucCI(value, se, max(0.0, value - z * se), min(1.0, value + z * se))


def delong_from_sums(v10_i: ArrayLike, v01_i: ArrayLike, m_i: ArrayLike, n_i: ArrayLike, *,
                     confidence: float = 0.95) -> AucCI:
    """:func:`delong` with ``groups`` from per-account aggregates (what an engine computes).

    Parameters
    ----------
    v10_i, v01_i : array_like, shape (n_groups,)
        Per account, the sum of its positives' placements ``(#negatives below + ½ #tied)/N`` and of its
        negatives' placements ``(#positives above + ½ #tied)/M``.
    m_i, n_i : array_like of int, shape (n_groups,)
        Positives and negatives per account.
    confidence : float, default 0.95

    Returns
    -------
    AucCI
        The AUC ``Σ v10_i / M`` with Obuchowski's clustered DeLong interval, as :func:`delong`.
    """
    z = _z(confidence)
    v10_i, v01_i = np.asarray(v10_i, dtype=float), np.asarray(v01_i, dtype=float)
    m_i, n_i = np.asarray(m_i, dtype=np.int64), np.asarray(n_i, dtype=np.int64)
    m, n = int(m_i.sum()), int(n_i.sum())
    if m == 0 or n == 0:
        return AucCI(math.nan, math.nan, math.nan, math.nan)
    value = float(v10_i.sum() / m)
    if m < 2 or n < 2:
        return AucCI(value, math.nan, math.nan, math.nan)
    se = math.sqrt(_variance_from_sums(v10_i, v01_i, m_i, n_i, value))
    return AucCI(value, se, max(0.0, value - z * se), min(1.0, value + z * se))


def delong_paired(
    y: ArrayLike, score_a: ArrayLike, score_b: ArrayLike, *, confidence: float = 0.95
) -> PairedAucDiff:
    """DeLong test of AUC(score_a) − AUC(score_b) on the same rows (champion vs challenger).

    Returns
    -------
    PairedAucDiff
        ``(diff, se, ci_low, ci_high, pvalue)``; two-sided p-value of H0: equal AUCs. When
        ``se == 0`` the p-value is 1 if ``diff == 0`` else 0. All ``nan`` if a class is absent.

    References
    ----------
    DeLong, DeLong & Clarke-Pearson (1988), Biometrics 44, 837–845; Sun & Xu (2014), IEEE SPL 21.
    """
    z = _z(confidence)
    yb = _binary(y)
    a = _vector(score_a, "score_a", yb.shape[0])
    b = _vector(score_b, "score_b", yb.shape[0])
    m = int(yb.sum())
    n = yb.shape[0] - m
    if m < 2 or n < 2:
        nan = math.nan
        if m == 0 or n == 0:
            return PairedAucDiff(nan, nan, nan, nan, nan)
        return PairedAucDiff(auc(yb, a) - auc(yb, b), nan, nan, nan, nan)
    v10a, v01a = _placements(yb, a)
    v10b, v01b = _placements(yb, b)
    diff = float(v10a.mean() - v10b.mean())
    d10 = v10a - v10b
    d01 = v01a - v01b
    se = math.sqrt(max(d10.var(ddof=1) / m + d01.var(ddof=1) / n, 0.0))
    if se > 0:
        p = float(2.0 * _st.norm.sf(abs(diff) / se))
    else:
        p = 1.0 if diff == 0 else 0.0
    return PairedAucDiff(diff, se, diff - z * se, diff + z * se, p)


# ----------------------------------------------------------------------------------------------
# KS distance
# ----------------------------------------------------------------------------------------------
def ks_statistic(y: ArrayLike, score: ArrayLike) -> float:
    """Kolmogorov–Smirnov distance between the score distributions of renewed and churned rows.

    ``max |F₁(s) − F₀(s)|`` over the unique scores (one sort); ``nan`` when a class is absent.

    References
    ----------
    Smirnov, N. (1939); Hand, D. J. (2005) on KS in credit scoring.
    """
    yb = _binary(y)
    s = _vector(score, "score", yb.shape[0])
    if yb.shape[0] == 0:
        return math.nan
    _, wpos, wneg = _class_weights_by_value(yb, s, None)
    tp, tn = wpos.sum(), wneg.sum()
    if tp == 0 or tn == 0:
        return math.nan
    return float(np.max(np.abs(np.cumsum(wpos) / tp - np.cumsum(wneg) / tn)))
