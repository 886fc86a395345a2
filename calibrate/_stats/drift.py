"""Drift: PSI with its sampling-noise quantile, quantile bins, Wasserstein distance, trend of a statistic."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as _st

from calibrate._stats._common import Trend, TrendAlternative, _pvalue, _vector, _z


# ----------------------------------------------------------------------------------------------
# drift
# ----------------------------------------------------------------------------------------------
def _psi_rows(expected: np.ndarray, actual: np.ndarray, floor: float) -> np.ndarray:
    e = expected / expected.sum(axis=-1, keepdims=True)
    a = actual / actual.sum(axis=-1, keepdims=True)
    e = np.maximum(e, floor)
    a = np.maximum(a, floor)
    e = e / e.sum(axis=-1, keepdims=True)
    a = a / a.sum(axis=-1, keepdims=True)
    return np.sum((a - e) * np.log(a / e), axis=-1)


def psi(expected: ArrayLike, actual: ArrayLike, *, floor: float = 1e-4) -> float:
    """Population stability index ``Σ (a − e) · ln(a / e)`` between two bin-proportion vectors.

    Each vector is normalised to sum to 1 (so counts also work), every bin below ``floor`` is
    raised to ``floor`` (an empty bin would make the index infinite), and the vector is
    renormalised. ``psi(p, p) == 0`` and ``psi >= 0`` always.

    References
    ----------
    Siddiqi, N. (2006). Credit Risk Scorecards, Wiley; Yurdakul, B. (2018). Statistical properties
    of population stability index. PhD thesis, Western Michigan University.
    """
    e = _vector(expected, "expected")
    a = _vector(actual, "actual", e.shape[0])
    if e.shape[0] == 0 or (e < 0).any() or (a < 0).any() or e.sum() <= 0 or a.sum() <= 0:
        raise ValueError("psi needs non-empty, non-negative vectors with a positive sum")
    if not 0.0 < floor < 1.0 / e.shape[0]:
        raise ValueError("floor must be in (0, 1/n_bins)")
    return float(_psi_rows(e, a, floor))


def quantile_edges(x: ArrayLike, n_bins: int = 10) -> np.ndarray:
    """Unique interior bin edges at the ``1/n_bins … (n_bins−1)/n_bins`` quantiles of ``x``.

    Use with :func:`bin_proportions`; ties can merge edges, giving fewer bins.

    References
    ----------
    Hyndman, R. J. & Fan, Y. (1996). Sample quantiles in statistical packages (type 7).
    """
    xa = _vector(x, "x")
    if xa.shape[0] == 0:
        raise ValueError("quantile_edges needs a non-empty sample")
    if int(n_bins) < 1:
        raise ValueError("n_bins must be >= 1")
    return np.unique(np.quantile(xa, np.linspace(0.0, 1.0, int(n_bins) + 1)[1:-1]))


def bin_counts(x: ArrayLike, edges: ArrayLike) -> np.ndarray:
    """Count of ``x`` in each bin defined by fixed interior ``edges`` (outer bins open to ±inf).

    Bins are right-closed: ``(-inf, e₀], (e₀, e₁], …, (e_last, +inf)`` — ``len(edges) + 1`` bins. A value's bin
    is the number of edges below it (``searchsorted(edges, x, side="left")``), counted by one comparison pass per
    edge when there are few (the decile bins: 3–5× faster than the binary search's unpredictable branches).
    """
    xa = _vector(x, "x")
    e = _vector(edges, "edges")
    if (np.diff(e) <= 0).any():
        raise ValueError("edges must be strictly increasing")
    if e.shape[0] <= _FEW_EDGES:
        index = np.zeros(xa.shape[0], dtype=np.intp)
        for edge in e:
            index += xa > edge
    else:
        index = np.searchsorted(e, xa, side="left")
    return np.bincount(index, minlength=e.shape[0] + 1)


_FEW_EDGES = 16
"""Up to this many edges :func:`bin_counts` compares instead of searching."""


def bin_proportions(x: ArrayLike, edges: ArrayLike) -> np.ndarray:
    """Share of ``x`` in each bin of :func:`bin_counts` (same bins).

    References
    ----------
    Siddiqi (2006), ch. 11 (characteristic / stability reports).
    """
    xa = _vector(x, "x")
    if xa.shape[0] == 0:
        raise ValueError("bin_proportions needs a non-empty sample")
    return bin_counts(xa, edges) / xa.shape[0]


# Hand-written on purpose: no library has PSI's sampling-noise null; it is simulated here, vectorised over n_sim.
def psi_noise_quantile(
    expected_props: ArrayLike,
    n_ref: int,
    n_new: int,
    *,
    q: float | Sequence[float] = 0.95,
    n_sim: int = 2000,
    seed=0,
    floor: float = 1e-4,
) -> float | np.ndarray:
    """``q``-quantile of the PSI produced by sampling noise alone.

    A reference sample of ``n_ref`` and a new sample of ``n_new`` are both drawn multinomially
    from ``expected_props``; their PSI (same ``floor`` rule as :func:`psi`) is simulated
    ``n_sim`` times, vectorised. ``q`` may be a sequence: the quantiles of one simulation are
    returned as an array, each equal to the float a call with that ``q`` alone returns.

    References
    ----------
    Yurdakul (2018) — the null distribution of PSI depends on the sample sizes.
    """
    p = _vector(expected_props, "expected_props")
    if p.shape[0] == 0 or (p < 0).any() or p.sum() <= 0:
        raise ValueError("expected_props must be non-negative with a positive sum")
    qs = np.asarray(q, dtype=float)
    if int(n_ref) < 1 or int(n_new) < 1 or int(n_sim) < 1 or not ((qs > 0.0) & (qs < 1.0)).all():
        raise ValueError("need n_ref, n_new, n_sim >= 1 and 0 < q < 1")
    p = p / p.sum()
    rng = np.random.default_rng(seed)
    ref = rng.multinomial(int(n_ref), p, size=int(n_sim)).astype(np.float64)
    new = rng.multinomial(int(n_new), p, size=int(n_sim)).astype(np.float64)
    out = np.quantile(_psi_rows(ref, new, floor), qs)
    return float(out) if qs.ndim == 0 else out


def wasserstein(x: ArrayLike, y: ArrayLike) -> float:
    """First Wasserstein (earth mover's) distance between two samples.

    References
    ----------
    Villani, C. (2009). Optimal Transport; ``scipy.stats.wasserstein_distance``.
    """
    return float(_st.wasserstein_distance(_vector(x, "x"), _vector(y, "y")))


# ----------------------------------------------------------------------------------------------
# trend of a per-period statistic
# ----------------------------------------------------------------------------------------------
def logistic_trend(
    values: ArrayLike,
    se: ArrayLike,
    *,
    confidence: float = 0.95,
    alternative: TrendAlternative = "two-sided",
    known_scale: bool = False,
) -> Trend:
    """Slope of a per-period statistic (e.g. quarterly AUC) on the period index, WLS with 1/se².

    Periods are ``0, 1, …, n−1``. By default — as statsmodels ``WLS(...).fit()`` — the residual
    scale is estimated and the t distribution with ``n − 2`` df is used; with
    ``known_scale=True`` the ``se`` are taken as exact (scale 1, normal reference; statsmodels
    ``fit(cov_type="fixed scale")``), i.e. a fixed-effect meta-regression.

    Parameters
    ----------
    values, se : array_like, shape (n_periods,)
    confidence : float, default 0.95
    alternative : {"two-sided", "increasing", "decreasing"}
        ``"decreasing"`` asks "is the statistic declining?".
    known_scale : bool, default False

    Returns
    -------
    Trend
        ``(slope, se, ci_low, ci_high, pvalue)``; ``nan`` se/interval/p with too few periods.

    References
    ----------
    Weisberg, S. (2005). Applied Linear Regression, 3rd ed., §5.1 (weighted least squares);
    Thompson, S. G. & Higgins, J. P. T. (2002). Stat. Med. 21, 1559–1573 (meta-regression).
    """
    v = _vector(values, "values")
    s = _vector(se, "se", v.shape[0])
    if (s <= 0).any():
        raise ValueError("se must be positive")
    z = _z(confidence)
    n = v.shape[0]
    if n < 2:
        raise ValueError("logistic_trend needs at least two periods")
    w = 1.0 / (s * s)
    t = np.arange(n, dtype=np.float64)
    x = np.column_stack([np.ones(n), t])
    xtwx = (x * w[:, None]).T @ x
    beta = np.linalg.solve(xtwx, (x * w[:, None]).T @ v)
    slope = float(beta[1])
    df = n - 2
    if known_scale:
        scale = 1.0
    elif df > 0:
        resid = v - x @ beta
        scale = float(np.dot(w, resid * resid) / df)
    else:
        return Trend(slope, math.nan, math.nan, math.nan, math.nan)
    se_slope = math.sqrt(scale * np.linalg.inv(xtwx)[1, 1])
    if known_scale:
        crit = z
        stat = slope / se_slope
        p = float(_pvalue(stat, alternative, larger="increasing", smaller="decreasing"))
    else:
        crit = float(_st.t.ppf(0.5 + confidence / 2.0, df))
        stat = slope / se_slope if se_slope > 0 else math.nan
        if alternative == "increasing":
            p = float(_st.t.sf(stat, df))
        elif alternative == "decreasing":
            p = float(_st.t.cdf(stat, df))
        elif alternative == "two-sided":
            p = float(2.0 * _st.t.sf(abs(stat), df))
        else:
            raise ValueError(f"unknown alternative {alternative!r}")
    return Trend(slope, se_slope, slope - crit * se_slope, slope + crit * se_slope, p)
