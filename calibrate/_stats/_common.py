"""Shared pieces of :mod:`calibrate._stats`: result types, input checks and rank helpers (private)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats as _st


Alternative = Literal["two-sided", "larger", "smaller"]
TrendAlternative = Literal["increasing", "decreasing", "two-sided"]


# ----------------------------------------------------------------------------------------------
# BLAS threads
# ----------------------------------------------------------------------------------------------
_BLAS = None


def one_blas_thread() -> Any:
    """``threadpool_limits(1, user_api="blas")`` from a controller built once (a scan of the loaded libraries
    costs ~2 ms; a bootstrap pays it per chunk or refit): the one place calibrate limits BLAS threads.

    Small products (the account sampler's (m × block) @ (block × k), a refit's Newton steps) only spin-wait on
    more BLAS threads on 2 shared cores: one thread took the held-out comparisons of a 1e5-row run from
    7.3–16.4 s to 5.7–6.4 s (bench/bench_run_scale.py's machine). The limit is process-wide: nested limits
    restore what they found, so two threads may each enter one only inside an outer limit
    (:func:`calibrate.drift.detect.detect_drift` holds one around its two threads).
    """
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


# ----------------------------------------------------------------------------------------------
# result types
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AucCI:
    """An AUC with its standard error and two-sided interval."""

    value: float
    se: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True, slots=True)
class SpreadCI:
    """Top-band minus red-band renewal rate with a percentile bootstrap interval.

    ``n_boot`` is the number of resamples drawn; ``n_dropped`` of them (a band empty in the
    resample) were discarded, so the interval rests on ``n_boot - n_dropped`` resamples.
    """

    value: float
    ci_low: float
    ci_high: float
    n_boot: int
    n_dropped: int = 0


class PairedAucDiff(NamedTuple):
    """AUC(score_a) − AUC(score_b) on the same rows (DeLong)."""

    diff: float
    se: float
    ci_low: float
    ci_high: float
    pvalue: float


class ZTest(NamedTuple):
    """A z statistic and its p-value."""

    z: float
    pvalue: float


class ReliabilityCurve(NamedTuple):
    """Per non-empty bin: mean prediction, observed fraction of positives, rows."""

    mean_pred: np.ndarray
    frac_pos: np.ndarray
    counts: np.ndarray


class CalibrationFit(NamedTuple):
    """Calibration-in-the-large (intercept with offset logit p) and calibration slope."""

    intercept: float
    slope: float


class Trend(NamedTuple):
    """Weighted least-squares slope per period with its standard error, interval and p-value."""

    slope: float
    se: float
    ci_low: float
    ci_high: float
    pvalue: float


# ----------------------------------------------------------------------------------------------
# input helpers
# ----------------------------------------------------------------------------------------------
def _binary(y: ArrayLike, name: str = "y") -> np.ndarray:
    a = np.asarray(y)
    if a.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {a.shape}")
    if a.dtype == bool:
        return a
    if a.size and not ((a == 0) | (a == 1)).all():
        raise ValueError(f"{name} must contain only 0/1 (or booleans)")
    return a.astype(bool)


def _vector(x: ArrayLike, name: str, n: int | None = None, *, finite: bool = True) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {a.shape}")
    if n is not None and a.shape[0] != n:
        raise ValueError(f"{name} has {a.shape[0]} rows, expected {n}")
    if finite and not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite (no NaN/inf)")
    return a


def _probabilities(p: ArrayLike, n: int) -> np.ndarray:
    a = _vector(p, "p", n)
    if ((a < 0) | (a > 1)).any():
        raise ValueError("p must lie in [0, 1]")
    return a


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return float(_st.norm.ppf(0.5 + confidence / 2.0))


def _pvalue(z: np.ndarray | float, alternative: str, *, larger: str = "larger", smaller: str = "smaller"):
    if alternative == larger:
        return _st.norm.sf(z)
    if alternative == smaller:
        return _st.norm.cdf(z)
    if alternative == "two-sided":
        return 2.0 * _st.norm.sf(np.abs(z))
    raise ValueError(f"alternative must be {larger!r}, {smaller!r} or 'two-sided', got {alternative!r}")


def _groups(groups: ArrayLike, n: int | None = None) -> tuple[np.ndarray, int]:
    """Row → account index (0..n_groups-1, accounts in sorted label order) and n_groups.

    Integer ids (already codes, as the fits and drift pass them) are compacted in O(n); other labels are
    factorised by pandas (hashing, then sorting only the distinct labels: faster than ``np.unique`` on strings).
    """
    g = groups if isinstance(groups, (pd.Series, pd.Index)) else np.asarray(groups)
    if isinstance(g.dtype, pd.CategoricalDtype):  # numbered by label, not by the categories' declared order
        g = np.asarray(g, dtype=object)
    if g.ndim != 1:
        raise ValueError(f"groups must be one-dimensional, got shape {g.shape}")
    if n is not None and g.shape[0] != n:
        raise ValueError(f"groups has {g.shape[0]} rows, expected {n}")
    if g.shape[0] == 0:
        raise ValueError("groups is empty")
    if pd.api.types.is_integer_dtype(g.dtype):
        g = np.asarray(g)
        if g.min() >= 0 and g.max() < 4 * g.shape[0]:
            present = np.bincount(g) > 0  # integer codes: compact them in O(n), same order as sorting
            code = np.cumsum(present) - 1
            return code[g].astype(np.intp, copy=False), int(code[-1] + 1)
    codes, labels = pd.factorize(g, sort=True)
    if codes.min() < 0:
        raise ValueError("groups has missing values")
    return codes.astype(np.intp, copy=False), int(labels.shape[0])


def _check_n_boot(n_boot: int) -> int:
    n_boot = int(n_boot)
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    return n_boot


def _percentile_ci(values: np.ndarray, confidence: float) -> tuple[float, float]:
    _z(confidence)
    if values.size == 0:
        return math.nan, math.nan
    a = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(values, [a, 1.0 - a])
    return float(lo), float(hi)


def _sorted_starts(s_sorted: np.ndarray) -> np.ndarray:
    """Start index of each run of equal values in a sorted array."""
    flags = np.empty(s_sorted.shape[0], dtype=bool)
    flags[:1] = True
    np.not_equal(s_sorted[1:], s_sorted[:-1], out=flags[1:])
    return np.flatnonzero(flags)


def _midranks_sorted(s_sorted: np.ndarray) -> np.ndarray:
    """1-based midranks (ties get the average rank) of an already sorted array, O(n)."""
    n = s_sorted.shape[0]
    if n == 0:
        return np.empty(0)
    starts = _sorted_starts(s_sorted)
    ends = np.append(starts[1:], n)
    return np.repeat((starts + ends + 1) / 2.0, ends - starts)
