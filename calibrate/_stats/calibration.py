"""Calibration of predicted probabilities (Brier, reliability, ECE, slope/intercept) and the lift table."""

from __future__ import annotations

import math
import warnings

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit

from calibrate._stats._common import (
    CalibrationFit,
    ReliabilityCurve,
    _binary,
    _midranks_sorted,
    _probabilities,
    _vector,
)


# ----------------------------------------------------------------------------------------------
# calibration
# ----------------------------------------------------------------------------------------------
def brier(y: ArrayLike, p: ArrayLike) -> float:
    """Brier score, mean squared difference between outcome and predicted probability.

    References
    ----------
    Brier, G. W. (1950). Monthly Weather Review 78, 1–3.
    """
    yb = _binary(y)
    pa = _probabilities(p, yb.shape[0])
    if yb.shape[0] == 0:
        return math.nan
    return float(np.mean((pa - yb) ** 2))


P_DECIMALS = 12
"""Decimals ``p`` is rounded to before it is binned: a probability computed by another engine's ``exp`` (or from a
score summed in another order) differs in the last bits, and a run of tied scores at a bin edge must fall on the
same side everywhere (the engines round the same way; :mod:`calibrate.validation.engine`)."""


def _quantile_bins(p: np.ndarray, n_bins: int) -> np.ndarray:
    if int(n_bins) < 1:
        raise ValueError("n_bins must be >= 1")
    p = np.round(p, P_DECIMALS)
    edges = np.percentile(p, np.linspace(0.0, 100.0, int(n_bins) + 1))
    return np.searchsorted(edges[1:-1], p)  # sklearn calibration_curve("quantile")'s binning, on p rounded


def reliability_curve(y: ArrayLike, p: ArrayLike, *, n_bins: int = 10) -> ReliabilityCurve:
    """Reliability diagram on equal-frequency (quantile) bins of ``p``; empty bins omitted.

    Bin edges are the ``p`` percentiles, bins right-closed — scikit-learn's
    ``calibration_curve(strategy="quantile")``, on ``p`` rounded to :data:`P_DECIMALS` decimals.

    References
    ----------
    Niculescu-Mizil, A. & Caruana, R. (2005). Predicting good probabilities with supervised
    learning. ICML.
    """
    yb = _binary(y)
    pa = _probabilities(p, yb.shape[0])
    if yb.shape[0] == 0:
        raise ValueError("reliability_curve needs at least one row")
    bins = _quantile_bins(pa, n_bins)
    counts = np.bincount(bins, minlength=n_bins)
    sums = np.bincount(bins, weights=pa, minlength=n_bins)
    pos = np.bincount(bins, weights=yb, minlength=n_bins)
    return reliability_from_sums(counts, sums, pos)


def reliability_from_sums(counts: ArrayLike, sums: ArrayLike, positives: ArrayLike) -> ReliabilityCurve:
    """The reliability curve from per-bin row counts, sums of ``p`` and of ``y`` (empty bins omitted): what an
    engine aggregates on the bins of :func:`reliability_curve` (edges: the ``p`` percentiles, bins right-closed)."""
    counts, sums, pos = np.asarray(counts), np.asarray(sums, dtype=float), np.asarray(positives, dtype=float)
    nz = counts > 0
    return ReliabilityCurve(sums[nz] / counts[nz], pos[nz] / counts[nz], counts[nz])


def ece_from_curve(curve: ReliabilityCurve) -> float:
    """``Σ_b (n_b/N) |ȳ_b − p̄_b|`` of a reliability curve (:func:`expected_calibration_error`)."""
    return float(np.dot(curve.counts, np.abs(curve.frac_pos - curve.mean_pred)) / curve.counts.sum())


def expected_calibration_error(y: ArrayLike, p: ArrayLike, *, n_bins: int = 10) -> float:
    """Expected calibration error on equal-frequency bins: ``Σ_b (n_b/N) |ȳ_b − p̄_b|``.

    References
    ----------
    Naeini, M. P., Cooper, G. & Hauskrecht, M. (2015). AAAI; Guo et al. (2017). ICML.
    """
    return ece_from_curve(reliability_curve(y, p, n_bins=n_bins))


def _newton_logistic(x: np.ndarray, y: np.ndarray, offset: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Maximum-likelihood logistic regression by Newton–Raphson with step halving."""

    def loglik(b: np.ndarray) -> float:
        eta = offset + x @ b
        return float(np.dot(y, eta) - np.logaddexp(0.0, eta).sum())

    ll = loglik(beta)
    for _ in range(100):
        mu = expit(offset + x @ beta)
        grad = x.T @ (y - mu)
        hess = (x * (mu * (1.0 - mu))[:, None]).T @ x
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            return np.full(beta.shape, np.nan)
        if not np.isfinite(step).all():
            return np.full(beta.shape, np.nan)
        t = 1.0
        while True:
            new = beta + t * step
            new_ll = loglik(new)
            if new_ll >= ll - 1e-12 * abs(ll) or t < 1e-8:
                break
            t /= 2.0
        beta, ll = new, new_ll
        if np.max(np.abs(t * step)) < 1e-10:
            return beta
    warnings.warn("calibration logistic fit did not converge (separation?)", RuntimeWarning, stacklevel=3)
    return beta


def calibration_slope_intercept(y: ArrayLike, p: ArrayLike) -> CalibrationFit:
    """Calibration intercept (in-the-large) and slope of predicted probabilities.

    * slope: coefficient of ``logit(p)`` in the logistic regression ``y ~ 1 + logit(p)``;
    * intercept: ``α`` in ``logit P(y=1) = α + logit(p)`` (``logit(p)`` as an offset).

    Both fitted by Newton iterations; ``p`` is clipped to ``[1e-12, 1 − 1e-12]`` before the logit.
    Perfect calibration gives (0, 1). ``nan`` when ``y`` has a single class.

    References
    ----------
    Cox, D. R. (1958). Biometrika 45, 562–565. Van Calster, B. et al. (2016). A calibration
    hierarchy for risk models. J. Clin. Epidemiol. 74, 167–176.
    """
    yb = _binary(y)
    pa = _probabilities(p, yb.shape[0])
    if yb.shape[0] == 0 or yb.all() or not yb.any():
        return CalibrationFit(math.nan, math.nan)
    eps = 1e-12
    q = np.clip(pa, eps, 1.0 - eps)
    lp = np.log(q) - np.log1p(-q)
    yf = yb.astype(np.float64)
    ones = np.ones((yf.shape[0], 1))
    (intercept,) = _newton_logistic(ones, yf, lp, np.zeros(1))
    _, slope = _newton_logistic(np.column_stack([ones[:, 0], lp]), yf, np.zeros_like(lp), np.array([0.0, 1.0]))
    return CalibrationFit(float(intercept), float(slope))


# ----------------------------------------------------------------------------------------------
# lift table
# ----------------------------------------------------------------------------------------------
def lift_table(y_event: ArrayLike, score: ArrayLike, *, n_bins: int = 10) -> dict[str, np.ndarray]:
    """Gains / lift table on score quantile bins, riskiest (lowest score) first.

    A row with midrank ``r`` (ties share a rank, hence a bin) goes to bin
    ``floor((r − 1) · n_bins / n)``; bin 1 holds the lowest scores.

    Returns
    -------
    dict of ndarray
        ``bin`` (1-based), ``score_min``, ``score_max``, ``count``, ``events``, ``event_rate``,
        ``cum_count``, ``cum_events``, ``gain`` (cumulative share of all events captured),
        ``lift`` (event_rate / overall rate) and ``cum_lift``. Empty bins (heavy ties) have
        count 0 and ``nan`` rates.

    References
    ----------
    Berry, M. & Linoff, G. (2004). Data Mining Techniques, 2nd ed. (cumulative gains and lift).
    """
    ev = _binary(y_event, "y_event")
    s = _vector(score, "score", ev.shape[0])
    n = ev.shape[0]
    if n == 0:
        raise ValueError("lift_table needs at least one row")
    n_bins = int(n_bins)
    if n_bins < 1:
        raise ValueError("n_bins must be >= 1")
    order = np.argsort(s, kind="stable")
    ss = s[order]
    rank = _midranks_sorted(ss)
    b_sorted = np.minimum(np.floor((rank - 1.0) * n_bins / n).astype(np.intp), n_bins - 1)
    ev_sorted = ev[order]
    count = np.bincount(b_sorted, minlength=n_bins)
    events = np.bincount(b_sorted, weights=ev_sorted, minlength=n_bins)
    first = np.searchsorted(b_sorted, np.arange(n_bins), side="left")
    last = np.searchsorted(b_sorted, np.arange(n_bins), side="right") - 1
    has = count > 0
    score_min = np.where(has, ss[np.minimum(first, n - 1)], np.nan)
    score_max = np.where(has, ss[np.maximum(last, 0)], np.nan)
    return lift_from_bins(count, events, score_min, score_max)


def lift_from_bins(count: ArrayLike, events: ArrayLike, score_min: ArrayLike, score_max: ArrayLike) -> dict[str, np.ndarray]:
    """The lift table of :func:`lift_table` from its bins' row counts, events and score range (empty bins: count 0,
    NaN range) — what an engine aggregates on the same midrank bins."""
    count, events = np.asarray(count), np.asarray(events, dtype=float)
    n_bins, n = count.shape[0], int(count.sum())
    cum_count = np.cumsum(count)
    cum_events = np.cumsum(events)
    total = events.sum()
    overall = total / n
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = events / count
        gain = cum_events / total
        lift = rate / overall
        cum_lift = (cum_events / cum_count) / overall
    return {
        "bin": np.arange(1, n_bins + 1),
        "score_min": score_min,
        "score_max": score_max,
        "count": count,
        "events": events,
        "event_rate": rate,
        "cum_count": cum_count,
        "cum_events": cum_events,
        "gain": gain,
        "lift": lift,
        "cum_lift": cum_lift,
    }
