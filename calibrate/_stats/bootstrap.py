"""Pure, vectorised statistical primitives (numpy / scipy only).

Everything else in :mod:`calibrate` (band validation, the CI gate, drift detection) calls these.
Inputs are array-likes; outputs are floats, arrays, small frozen dataclasses or named tuples
(which unpack like plain tuples).

Conventions
-----------
* ``y`` / ``renewed`` are 0/1 (or boolean) outcomes; ``score`` is higher-is-healthier.
* AUC is P(score of a positive > score of a negative) + ½·P(tie); it is ``nan`` (never an
  exception) when one class is absent.
* Intervals are two-sided at ``confidence``.
* Account-level (cluster) bootstrap: a resample draws ``n_groups`` accounts with replacement, i.e.
  the vector of times each account is taken is Multinomial(n_groups, 1/n_groups each); every row of
  an account inherits its account's count. Draws are exact and reproducible for a given ``seed``.
  Where few distinct account profiles exist (band × outcome cells, integer scores with one row per
  account) the same multinomial is drawn over profiles instead — same law, much cheaper, but not the
  same draws as :func:`cluster_bootstrap_counts` for that seed (see :func:`bootstrap_cell_counts`).
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike
from scipy import stats as _st
from scipy.special import expit

try:  # scipy's own kernel for y += A·X (A in CSC), used to accumulate without allocating
    from scipy.sparse._sparsetools import csc_matvecs as _csc_matvecs
except ImportError:  # pragma: no cover - private module moved; fall back to public products
    _csc_matvecs = None

__all__ = [
    "AucCI",
    "SpreadCI",
    "PairedAucDiff",
    "ZTest",
    "ReliabilityCurve",
    "CalibrationFit",
    "Trend",
    "wilson_interval",
    "auc",
    "delong",
    "delong_paired",
    "cluster_bootstrap_counts",
    "cluster_bootstrap_weights",
    "bootstrap_cell_counts",
    "bootstrap_spread",
    "bootstrap_auc",
    "grouped_auc",
    "two_proportion_test",
    "cochran_armitage",
    "ks_statistic",
    "brier",
    "expected_calibration_error",
    "reliability_curve",
    "calibration_slope_intercept",
    "psi",
    "bin_proportions",
    "quantile_edges",
    "psi_noise_quantile",
    "wasserstein",
    "lift_table",
    "logistic_trend",
]

Alternative = Literal["two-sided", "larger", "smaller"]
TrendAlternative = Literal["increasing", "decreasing", "two-sided"]


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
    """Row → account index (0..n_groups-1, accounts in sorted label order) and n_groups."""
    g = np.asarray(groups)
    if g.ndim != 1:
        raise ValueError(f"groups must be one-dimensional, got shape {g.shape}")
    if n is not None and g.shape[0] != n:
        raise ValueError(f"groups has {g.shape[0]} rows, expected {n}")
    if g.shape[0] == 0:
        raise ValueError("groups is empty")
    if np.issubdtype(g.dtype, np.integer) and g.min() >= 0 and g.max() < 4 * g.shape[0]:
        present = np.bincount(g) > 0  # integer codes: compact them in O(n), same order as np.unique
        code = np.cumsum(present) - 1
        return code[g].astype(np.intp, copy=False), int(code[-1] + 1)
    labels, inverse = np.unique(g, return_inverse=True)
    return inverse.reshape(-1).astype(np.intp, copy=False), int(labels.shape[0])


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


# ----------------------------------------------------------------------------------------------
# 1. Wilson interval
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
        Bounds clipped to [0, 1]; ``nan`` where ``n == 0``.

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
    low = np.where(empty, np.nan, np.clip(centre - half, 0.0, 1.0))
    high = np.where(empty, np.nan, np.clip(centre + half, 0.0, 1.0))
    return low, high


# ----------------------------------------------------------------------------------------------
# 2-3. AUC and DeLong
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
    are computed on the class's subsequence of the sorted scores (already sorted).
    """
    order = np.argsort(s, kind="stable")
    ss, yo = s[order], yb[order]
    tz = _midranks_sorted(ss)
    tx = _midranks_sorted(ss[yo])
    ty = _midranks_sorted(ss[~yo])
    m, n = tx.shape[0], ty.shape[0]
    full = np.empty(s.shape[0])
    full[order[yo]] = (tz[yo] - tx) / n
    full[order[~yo]] = 1.0 - (tz[~yo] - ty) / m
    return full[yb], full[~yb]


def delong(y: ArrayLike, score: ArrayLike, *, confidence: float = 0.95) -> AucCI:
    """AUC with DeLong's standard error and a normal (Wald) interval.

    Parameters
    ----------
    y : array_like of 0/1
    score : array_like of float
    confidence : float, default 0.95

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
    se = math.sqrt(v10.var(ddof=1) / m + v01.var(ddof=1) / n)
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
# 4. account-level bootstrap: exact fast multinomial counts
# ----------------------------------------------------------------------------------------------
_U16 = 1 << 16
_CHUNK_ELEMS = 20_000_000  # rows × resamples handled at once (bounds memory)


@functools.lru_cache(maxsize=32)
def _poisson4_table(lam: float) -> tuple[np.ndarray, int, np.ndarray, np.ndarray]:
    """Lookup table: a uniform 16-bit integer → four iid Poisson(lam) counts (float32 ×4 packed
    in one complex128).

    Each outcome gets ``floor(p·2¹⁶)`` table cells; a draw landing in the remaining cells is
    resolved from the residual distribution with a float64 uniform, so the mixture is exactly the
    4-fold Poisson law (support truncated at 24 per count, i.e. below double precision).
    """
    kmax = 24
    pmf = _st.poisson.pmf(np.arange(kmax + 1), lam) if lam > 0 else np.eye(1, kmax + 1)[0]
    p4 = (pmf[:, None, None, None] * pmf[None, :, None, None] * pmf[None, None, :, None] * pmf[None, None, None, :])
    p4 = p4.ravel()
    keep = np.flatnonzero(p4 > 0)
    p = p4[keep]
    grid = np.stack(np.unravel_index(keep, (kmax + 1,) * 4), axis=1).astype(np.float32)
    codes = np.ascontiguousarray(grid).view(np.complex128).reshape(-1)
    floors = np.floor(p * _U16).astype(np.int64)
    n_pure = int(floors.sum())
    table = np.zeros(_U16, dtype=np.complex128)
    table[:n_pure] = np.repeat(codes, floors)
    resid = p - floors / _U16
    sel = np.flatnonzero(resid > 0)
    sel = sel[np.argsort(-resid[sel], kind="stable")]  # likely outcomes first: searches stay in cache
    cdf = np.cumsum(resid[sel])
    if cdf.size:
        cdf /= cdf[-1]
    table.flags.writeable = False
    return table, n_pure, codes[sel], cdf


def _poisson_codes(rng: np.random.Generator, table_info, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``u`` that fell in the residual part of the table, and their resolved codes."""
    _, n_pure, rcodes, rcdf = table_info
    if n_pure >= _U16:
        return np.empty(0, dtype=np.intp), rcodes[:0]
    hit = np.flatnonzero(u.reshape(-1) >= n_pure)
    j = np.searchsorted(rcdf, rng.random(hit.size), side="right")
    return hit, rcodes[np.minimum(j, rcdf.size - 1)]


def _chunk_width(n_rows: int) -> int:
    """Resamples per full chunk: a multiple of 4 with chunk × n_rows ≤ 2·10⁷ (4 ≤ k ≤ 256)."""
    return int(min(256, max(4, (_CHUNK_ELEMS // max(n_rows, 1)) // 4 * 4)))


def _chunk_sizes(n_boot: int, n_rows: int) -> list[int]:
    """Resamples per chunk (multiples of 4; depends only on n_boot and n_rows)."""
    k = _chunk_width(n_rows)
    n_pad = -(-n_boot // 4) * 4
    sizes = [k] * (n_pad // k)
    if n_pad % k:
        sizes.append(n_pad % k)
    return sizes


class _AccountSampler:
    """Exact Multinomial(n_groups, 1/n_groups) account counts, in chunks of resamples.

    Poissonisation: iid Poisson(λ) counts conditioned on their total ``S`` are
    Multinomial(S, uniform); for ``S <= n_groups`` adding ``n_groups − S`` further uniform draws
    gives Multinomial(n_groups, uniform) exactly. Resamples with ``S > n_groups`` (probability
    ≈ 0.1 % at λ = 1 − 3/√n_groups) are redrawn. Four Poisson counts come from one 16-bit draw
    and a table lookup (:func:`_poisson4_table`), so a count costs about a quarter of a random
    16-bit integer (Devroye 1986, ch. X–XI: Poisson and multinomial generation).

    With a ``profile`` (cells × accounts, CSC), each block of counts is multiplied into the cell
    totals while still in cache; otherwise the counts themselves are returned. Both modes consume
    the random stream identically. ``vectors`` (accounts × m) are per-account quantities whose
    count-weighted totals are returned as well (row 0: number of accounts drawn).
    """

    def __init__(self, n_groups: int, n_rows: int, *, profile: sp.csc_array | None = None,
                 vectors: np.ndarray | None = None, dtype: type = np.float32):
        self.n_groups = n_groups
        self.n_rows = n_rows
        self.table = _poisson4_table(max(0.0, 1.0 - 3.0 / math.sqrt(n_groups)))
        k = _chunk_width(n_rows)
        self.block = max(64, (1 << 18) // k)  # accounts per block: ~1 MB of float32 counts
        ones = np.ones((n_groups, 1), dtype=dtype)
        self.vectors = ones if vectors is None else np.ascontiguousarray(
            np.column_stack([ones, vectors]), dtype=dtype)
        self.profile = profile
        self.bounds = [(s, min(s + self.block, n_groups)) for s in range(0, n_groups, self.block)]
        if profile is not None:
            self.rows = profile.T.tocsr()  # accounts × cells, for the completion draws
            ip = profile.indptr
            self.parts = [
                (ip[s : e + 1] - ip[s], profile.indices[ip[s] : ip[e]], profile.data[ip[s] : ip[e]],
                 None if _csc_matvecs is not None else profile[:, s:e])
                for s, e in self.bounds
            ]

    def _pass(self, rng: np.random.Generator, kk: int) -> tuple[np.ndarray, np.ndarray]:
        """Poisson counts for ``kk`` (multiple of 4) resamples → (result, vector totals)."""
        table = self.table[0]
        q = kk // 4
        u = rng.integers(0, _U16, size=(self.n_groups, q), dtype=np.uint16)
        hit, codes = _poisson_codes(rng, self.table, u)
        cut = np.searchsorted(hit, np.array([s for s, _ in self.bounds] + [self.n_groups]) * q)
        sums = np.zeros((self.vectors.shape[1], kk))
        if self.profile is None:
            res = np.empty((self.n_groups, kk), dtype=np.float32)
        else:
            res = np.zeros((self.profile.shape[0], kk), dtype=self.profile.dtype)
        for i, (s, e) in enumerate(self.bounds):
            packed = table[u[s:e]]
            if cut[i + 1] > cut[i]:
                packed.reshape(-1)[hit[cut[i] : cut[i + 1]] - s * q] = codes[cut[i] : cut[i + 1]]
            c = packed.view(np.float32)  # (e - s, kk) counts, exact small integers
            sums += self.vectors[s:e].T @ c
            if self.profile is None:
                res[s:e] = c
                continue
            ap, ai, ax, sub = self.parts[i]
            c = c if c.dtype == res.dtype else c.astype(res.dtype)
            if sub is None:
                _csc_matvecs(res.shape[0], e - s, kk, ap, ai, ax, c.reshape(-1), res.reshape(-1))
            else:  # pragma: no cover - fallback if scipy's kernel is not importable
                res += sub @ c
        return res, sums

    def _chunk(self, rng: np.random.Generator, k: int) -> tuple[np.ndarray, np.ndarray]:
        g = self.n_groups
        res, sums = self._pass(rng, k)
        bad = np.flatnonzero(sums[0] > g)
        while bad.size:
            r2, s2 = self._pass(rng, -(-bad.size // 4) * 4)
            ok = s2[0, : bad.size] <= g
            res[:, bad[ok]] = r2[:, : bad.size][:, ok]
            sums[:, bad[ok]] = s2[:, : bad.size][:, ok]
            bad = bad[~ok]
        deficit = np.rint(g - sums[0]).astype(np.int64)
        n_extra = int(deficit.sum())
        if n_extra:
            acc = rng.integers(0, g, size=n_extra)
            col = np.repeat(np.arange(k), deficit)
            np.add.at(sums.T, col, self.vectors[acc])
            if self.profile is None:
                np.add.at(res.reshape(-1), acc * k + col, np.float32(1.0))
            else:
                ip = self.rows.indptr
                length = np.diff(ip)[acc]
                owner = np.repeat(np.arange(n_extra), length)
                ent = np.repeat(ip[acc] - (np.cumsum(length) - length), length) + np.arange(int(length.sum()))
                np.add.at(res.reshape(-1), self.rows.indices[ent].astype(np.int64) * k + col[owner],
                          self.rows.data[ent])
        return res, sums

    def chunks(self, n_boot: int, seed) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(result, totals)`` per chunk, ``n_boot`` resamples (columns) in all."""
        rng = np.random.default_rng(seed)
        left = n_boot
        for k in _chunk_sizes(n_boot, self.n_rows):
            res, sums = self._chunk(rng, k)
            take = min(k, left)
            left -= take
            if take < k:
                res, sums = np.ascontiguousarray(res[:, :take]), np.ascontiguousarray(sums[:, :take])
            yield res, sums


def cluster_bootstrap_counts(groups: ArrayLike, *, n_boot: int, seed) -> tuple[np.ndarray, np.ndarray]:
    """Account-level bootstrap: how many times each account is drawn, per resample.

    Parameters
    ----------
    groups : array_like, shape (n_rows,)
        Account id of each row (any sortable labels).
    n_boot : int
    seed : int, SeedSequence or Generator
        Passed to ``np.random.default_rng``.

    Returns
    -------
    counts : ndarray of int32, shape (n_boot, n_groups)
        Row ``b`` ~ Multinomial(n_groups, 1/n_groups each); accounts in sorted label order.
    row_group : ndarray of intp, shape (n_rows,)
        Account index of each row, so ``counts[:, row_group]`` are per-row weights.

    Notes
    -----
    Exact multinomial draws generated by Poissonisation with completion (``_AccountSampler``);
    for equal ``groups``, ``n_boot`` and ``seed`` the draws are those used by
    :func:`bootstrap_cell_counts` and :func:`bootstrap_auc` whenever they take the account path.

    References
    ----------
    Davison, A. C. & Hinkley, D. V. (1997). Bootstrap Methods and their Application, §3.8
    (multistage / cluster resampling). Devroye, L. (1986). Non-Uniform Random Variate Generation.
    """
    n_boot = _check_n_boot(n_boot)
    row_group, n_groups = _groups(groups)
    out = np.empty((n_boot, n_groups), dtype=np.int32)
    b = 0
    for chunk, _ in _AccountSampler(n_groups, row_group.shape[0]).chunks(n_boot, seed):
        out[b : b + chunk.shape[1]] = chunk.T
        b += chunk.shape[1]
    return out, row_group


def cluster_bootstrap_weights(groups: ArrayLike, *, n_boot: int, seed) -> np.ndarray:
    """Per-row account-bootstrap weights, shape (n_boot, n_rows), int32.

    ``cluster_bootstrap_counts(...)[0][:, row_group]``: each row inherits its account's count.
    Memory is ``4·n_boot·n_rows`` bytes — for large data prefer :func:`cluster_bootstrap_counts`
    or :func:`bootstrap_cell_counts`.

    References
    ----------
    Davison & Hinkley (1997), §3.8.
    """
    counts, row_group = cluster_bootstrap_counts(groups, n_boot=n_boot, seed=seed)
    return counts[:, row_group]


class _CellDesign:
    """Accounts × cells count matrix and a generator of bootstrap cell totals.

    ``types=True`` merges accounts with identical profiles when few distinct profiles exist and
    draws the multinomial over profiles (same law, different stream); otherwise the account-level
    :class:`_AccountSampler` stream is used.
    """

    def __init__(self, row_group: np.ndarray, n_groups: int, cells: np.ndarray, n_cells: int, *,
                 types: bool, vectors: np.ndarray | None = None):
        self.n_rows = row_group.shape[0]
        self.n_groups = n_groups
        # float32 sums are exact while every total stays below 2**24 (largest resample: the
        # biggest account drawn n_groups times)
        biggest = int(np.bincount(row_group).max()) if self.n_rows else 0
        self.dtype = np.float32 if n_groups * biggest < (1 << 24) else np.float64
        use = cells >= 0
        acc = sp.coo_array(
            (np.ones(int(use.sum()), dtype=self.dtype), (row_group[use], cells[use])), shape=(n_groups, n_cells)
        ).tocsr()
        acc.sum_duplicates()
        self.account_by_cell = acc
        self.vectors = vectors
        found = _profile_types(acc, n_groups) if types else None
        if found is None:
            self.sampler: _AccountSampler | None = _AccountSampler(
                n_groups, self.n_rows, profile=acc.T.tocsc(), vectors=vectors, dtype=self.dtype)
        else:
            first, self.multiplicity = found
            self.sampler = None
            self.type_profile = acc[first].T.tocsc()
            ones = np.ones((first.shape[0], 1))
            self.type_vectors = ones if vectors is None else np.column_stack([ones, vectors[first]])

    def draws(self, n_boot: int, seed) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(cell totals (n_cells, k), vector totals (1 + m, k))``, n_boot columns in all."""
        if self.sampler is not None:
            yield from self.sampler.chunks(n_boot, seed)
            return
        rng = np.random.default_rng(seed)
        pvals = self.multiplicity / self.multiplicity.sum()
        left = n_boot
        while left:
            k = min(left, 4096)
            left -= k
            counts = np.ascontiguousarray(rng.multinomial(self.n_groups, pvals, size=k).T, dtype=self.dtype)
            yield self.type_profile @ counts, self.type_vectors.T @ counts


def _profile_types(acc: sp.csr_array, n_groups: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Group accounts with identical cell profiles; None when that would not pay off.

    Accounts with equal profiles are exchangeable, so Multinomial over accounts aggregated to
    profiles is Multinomial(n_groups, multiplicity / n_groups) over profiles (same law).
    """
    nnz_row = np.diff(acc.indptr)
    width = int(nnz_row.max()) if nnz_row.size else 0
    limit = max(64, n_groups // 20)  # a multinomial category costs ~20 accounts of the sampler
    if width == 0 or np.count_nonzero(np.bincount(acc.indices, minlength=acc.shape[1])) / width > limit:
        return None
    max_count = int(acc.data.max())
    base = acc.shape[1] * (max_count + 1) + 1
    if width * math.log2(base) >= 62:
        return None
    rows = np.repeat(np.arange(n_groups), nnz_row)
    pos = np.arange(acc.indices.shape[0]) - np.repeat(acc.indptr[:-1], nnz_row)
    code = acc.indices.astype(np.int64) * (max_count + 1) + acc.data.astype(np.int64) + 1
    key = np.zeros(n_groups, dtype=np.int64)
    np.add.at(key, rows, code * base ** pos.astype(np.int64))
    _, first, mult = np.unique(key, return_index=True, return_counts=True)
    if first.shape[0] > limit:
        return None
    return first, mult.astype(np.float64)


def bootstrap_cell_counts(
    groups: ArrayLike, cells: ArrayLike, n_cells: int, *, n_boot: int, seed
) -> np.ndarray:
    """Account-level bootstrap counts of rows per cell (e.g. band × outcome), one matrix product.

    ``counts @ account_by_cell``, where ``account_by_cell[g, c]`` is the number of rows of account
    ``g`` in cell ``c``; rows with a negative cell index are not counted.

    Parameters
    ----------
    groups : array_like, shape (n_rows,)
    cells : array_like of int, shape (n_rows,)
        Cell of each row in ``0..n_cells-1`` (or negative to leave the row out).
    n_cells : int
    n_boot : int
    seed : int, SeedSequence or Generator

    Returns
    -------
    ndarray of int64, shape (n_boot, n_cells)

    Notes
    -----
    When few distinct account profiles exist (e.g. band × outcome cells), accounts with identical
    rows-per-cell profiles are merged and the multinomial is drawn over profiles with probability
    ∝ their number of accounts — the same distribution, far cheaper, but then not the same
    random stream as :func:`cluster_bootstrap_counts`. Otherwise the result equals
    ``cluster_bootstrap_counts(groups, n_boot=n_boot, seed=seed)[0] @ account_by_cell``.

    References
    ----------
    Davison & Hinkley (1997), §3.8.
    """
    n_boot = _check_n_boot(n_boot)
    row_group, n_groups = _groups(groups)
    c = np.asarray(cells)
    if c.shape != row_group.shape or not np.issubdtype(c.dtype, np.integer):
        raise ValueError("cells must be an integer array with one entry per row")
    n_cells = int(n_cells)
    if (c >= n_cells).any():
        raise ValueError("cells must be < n_cells")
    design = _CellDesign(row_group, n_groups, c.astype(np.intp), n_cells, types=True)
    out = np.empty((n_boot, n_cells), dtype=np.int64)
    b = 0
    for chunk, _ in design.draws(n_boot, seed):
        out[b : b + chunk.shape[1]] = np.rint(chunk.T)
        b += chunk.shape[1]
    return out


# ----------------------------------------------------------------------------------------------
# 5. bootstrap spread
# ----------------------------------------------------------------------------------------------
def bootstrap_spread(
    groups: ArrayLike,
    band_index: ArrayLike,
    renewed: ArrayLike,
    *,
    top: int,
    red: int,
    n_boot: int = 2000,
    seed=0,
    confidence: float = 0.95,
) -> SpreadCI:
    """Renewal rate of band ``top`` minus that of band ``red``, account-level percentile interval.

    Parameters
    ----------
    groups : array_like, shape (n_rows,)
        Account id per row; accounts are resampled whole.
    band_index : array_like of int, shape (n_rows,)
    renewed : array_like of 0/1, shape (n_rows,)
    top, red : int
        Band indices compared.
    n_boot : int, default 2000
    seed : default 0
    confidence : float, default 0.95

    Returns
    -------
    SpreadCI
        Resamples where either band is empty are dropped (``n_dropped``). All ``nan`` when a band
        is empty in the data.

    References
    ----------
    Efron, B. & Tibshirani, R. (1993). An Introduction to the Bootstrap, ch. 13 (percentile
    interval); Davison & Hinkley (1997), §3.8 (cluster resampling).
    """
    n_boot = _check_n_boot(n_boot)
    _z(confidence)
    y = _binary(renewed, "renewed")
    band = np.asarray(band_index)
    if band.shape != y.shape:
        raise ValueError("band_index and renewed must have the same length")
    if int(top) == int(red):
        raise ValueError("top and red must be different bands")
    in_top, in_red = band == top, band == red
    n_top, n_red = int(in_top.sum()), int(in_red.sum())
    if n_top == 0 or n_red == 0:
        return SpreadCI(math.nan, math.nan, math.nan, n_boot, n_boot)
    value = float(y[in_top].mean() - y[in_red].mean())
    cells = np.where(in_top, y.astype(np.intp), np.where(in_red, 2 + y.astype(np.intp), -1))
    counts = bootstrap_cell_counts(groups, cells, 4, n_boot=n_boot, seed=seed).astype(np.float64)
    nt = counts[:, 0] + counts[:, 1]
    nr = counts[:, 2] + counts[:, 3]
    ok = (nt > 0) & (nr > 0)
    spreads = counts[ok, 1] / nt[ok] - counts[ok, 3] / nr[ok]
    lo, hi = _percentile_ci(spreads, confidence)
    return SpreadCI(value, lo, hi, n_boot, int(n_boot - ok.sum()))


# ----------------------------------------------------------------------------------------------
# 6. bootstrap AUC (no AUC call per resample)
# ----------------------------------------------------------------------------------------------
def _cumsum_rows(x: np.ndarray) -> np.ndarray:
    """Cumulative sum down axis 0 of a C-ordered 2-D array, in cache-sized row blocks."""
    n, k = x.shape
    out = np.empty_like(x)
    m = max(256, (1 << 16) // max(k, 1))
    for s in range(0, n, m):
        blk = out[s : s + m]
        np.cumsum(x[s : s + m], axis=0, out=blk)
        if s:
            blk += out[s - 1]
    return out


class _AucCells:
    """Cells for a weighted Mann–Whitney statistic computed from per-cell weight totals.

    One sort of the scores. Unique scores are grouped into segments: consecutive unique scores
    holding only positives (or only negatives) merge into one segment — their pairs with the other
    class compare identically — while a score holding both classes is its own segment. Segment
    ``j`` has a positive cell ``j`` and a negative cell ``n_seg + j``; with ``P``/``N`` the cell
    totals and ``CN`` the cumulative sum of ``N``, ``U = Σ_j P_j·CN_j − ½ Σ_j P_j·N_j`` (ties
    count ½) — one cumulative sum and two dot products per resample, no gathers.
    """

    def __init__(self, yb: np.ndarray, s: np.ndarray):
        order = np.argsort(s, kind="stable")
        ss, yo = s[order], yb[order]
        starts = _sorted_starts(ss)
        n_u = starts.shape[0]
        uid = np.repeat(np.arange(n_u), np.diff(np.append(starts, ss.shape[0])))
        has_pos = np.zeros(n_u, dtype=bool)
        has_pos[uid[yo]] = True
        has_neg = np.zeros(n_u, dtype=bool)
        has_neg[uid[~yo]] = True
        kind = has_pos.astype(np.int8) + 2 * has_neg.astype(np.int8)
        seg_start = np.empty(n_u, dtype=bool)
        seg_start[:1] = True
        seg_start[1:] = (kind[1:] != kind[:-1]) | (kind[1:] == 3)
        seg_of_u = np.cumsum(seg_start) - 1
        self.n_seg = int(seg_start.sum())
        self.any_tie = bool((kind == 3).any())
        row_seg = seg_of_u[uid]
        self.cells = np.empty(s.shape[0], dtype=np.intp)
        self.cells[order] = np.where(yo, row_seg, self.n_seg + row_seg)

    @property
    def n_cells(self) -> int:
        return 2 * self.n_seg

    def auc(self, w: np.ndarray, total_pos: np.ndarray | None = None) -> np.ndarray:
        """AUC per column of cell totals ``w`` (n_cells, k); nan where a class has zero weight.

        ``total_pos`` (k,), the positive weight per column, is recomputed from ``w`` if omitted.
        """
        P, N = w[: self.n_seg], w[self.n_seg :]
        cn = _cumsum_rows(N)
        u = np.einsum("jk,jk->k", P, cn, dtype=np.float64)
        if self.any_tie:
            u -= 0.5 * np.einsum("jk,jk->k", P, N, dtype=np.float64)
        tp = P.sum(axis=0, dtype=np.float64) if total_pos is None else total_pos
        tn = cn[-1].astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where((tp > 0) & (tn > 0), u / (tp * tn), np.nan)


def grouped_auc(y: ArrayLike, score: ArrayLike, row_group: ArrayLike, counts: ArrayLike) -> np.ndarray:
    """AUC for each row of an account-count matrix, without an AUC call per resample.

    Equals ``[auc(y, score, weights=counts[b, row_group]) for b ...]``.

    Parameters
    ----------
    y, score : array_like, shape (n_rows,)
    row_group : array_like of int, shape (n_rows,)
        Account index ``0..n_groups-1`` of each row (as from :func:`cluster_bootstrap_counts`).
    counts : array_like, shape (n_boot, n_groups)
        Non-negative account weights per resample.

    Returns
    -------
    ndarray, shape (n_boot,)

    References
    ----------
    Mann & Whitney (1947); weighted Mann–Whitney via per-cell aggregation and cumulative sums.
    """
    yb = _binary(y)
    s = _vector(score, "score", yb.shape[0])
    rg = np.asarray(row_group, dtype=np.intp)
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 2 or rg.shape != yb.shape or (rg.size and (rg.min() < 0 or rg.max() >= c.shape[1])):
        raise ValueError("counts must be (n_boot, n_groups) and row_group index its columns")
    if yb.shape[0] == 0:
        return np.full(c.shape[0], np.nan)
    cells = _AucCells(yb, s)
    profile = sp.coo_array(
        (np.ones(yb.shape[0]), (cells.cells, rg)), shape=(cells.n_cells, c.shape[1])
    ).tocsc()
    step = max(1, _CHUNK_ELEMS // max(yb.shape[0], 1))
    out = [cells.auc(profile @ np.ascontiguousarray(c[b : b + step].T)) for b in range(0, c.shape[0], step)]
    return np.concatenate(out) if out else np.empty(0)


def bootstrap_auc(
    groups: ArrayLike, y: ArrayLike, score: ArrayLike, *, n_boot: int, seed, confidence: float = 0.95
) -> AucCI:
    """Account-level bootstrap of the AUC: bootstrap standard error and percentile interval.

    Sorts once. Per resample the weighted Mann–Whitney statistic comes from cell totals — one
    sparse product of the account counts with an account × cell matrix, then a cumulative sum —
    never from an AUC call; resamples are processed in chunks (chunk × n_rows ≤ 2·10⁷). Ties
    count ½.

    Parameters
    ----------
    groups : array_like, shape (n_rows,)
    y : array_like of 0/1
    score : array_like of float
    n_boot : int
    seed : int, SeedSequence or Generator
    confidence : float, default 0.95

    Returns
    -------
    AucCI
        ``value`` is the AUC of the data, ``se`` the standard deviation of the bootstrap AUCs,
        the interval their percentiles. Resamples missing a class are ignored. All ``nan`` when
        a class is absent.

    References
    ----------
    Efron & Tibshirani (1993), ch. 6 and 13; Davison & Hinkley (1997), §3.8.
    """
    n_boot = _check_n_boot(n_boot)
    _z(confidence)
    yb = _binary(y)
    s = _vector(score, "score", yb.shape[0])
    row_group, n_groups = _groups(groups, yb.shape[0])
    if yb.all() or not yb.any():
        return AucCI(math.nan, math.nan, math.nan, math.nan)
    cells = _AucCells(yb, s)
    totals = np.bincount(cells.cells, minlength=cells.n_cells).astype(np.float64)[:, None]
    value = float(cells.auc(totals)[0])
    n_pos = np.bincount(row_group, weights=yb, minlength=n_groups)[:, None]
    design = _CellDesign(row_group, n_groups, cells.cells, cells.n_cells, types=True, vectors=n_pos)
    boot = np.concatenate([cells.auc(w, tot[1]) for w, tot in design.draws(n_boot, seed)])
    boot = boot[np.isfinite(boot)]
    se = float(boot.std(ddof=1)) if boot.size > 1 else math.nan
    lo, hi = _percentile_ci(boot, confidence)
    return AucCI(value, se, lo, hi)


# ----------------------------------------------------------------------------------------------
# 7-8. tests of proportions
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


# ----------------------------------------------------------------------------------------------
# 9-10. discrimination / calibration
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


def _quantile_bins(p: np.ndarray, n_bins: int) -> np.ndarray:
    if int(n_bins) < 1:
        raise ValueError("n_bins must be >= 1")
    edges = np.percentile(p, np.linspace(0.0, 100.0, int(n_bins) + 1))
    return np.searchsorted(edges[1:-1], p)  # same binning as sklearn calibration_curve("quantile")


def reliability_curve(y: ArrayLike, p: ArrayLike, *, n_bins: int = 10) -> ReliabilityCurve:
    """Reliability diagram on equal-frequency (quantile) bins of ``p``; empty bins omitted.

    Bin edges are the ``p`` percentiles, bins right-closed — identical to scikit-learn's
    ``calibration_curve(strategy="quantile")``.

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
    nz = counts > 0
    return ReliabilityCurve(sums[nz] / counts[nz], pos[nz] / counts[nz], counts[nz])


def expected_calibration_error(y: ArrayLike, p: ArrayLike, *, n_bins: int = 10) -> float:
    """Expected calibration error on equal-frequency bins: ``Σ_b (n_b/N) |ȳ_b − p̄_b|``.

    References
    ----------
    Naeini, M. P., Cooper, G. & Hauskrecht, M. (2015). AAAI; Guo et al. (2017). ICML.
    """
    curve = reliability_curve(y, p, n_bins=n_bins)
    return float(np.dot(curve.counts, np.abs(curve.frac_pos - curve.mean_pred)) / curve.counts.sum())


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
# 11-12. drift
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


def bin_proportions(x: ArrayLike, edges: ArrayLike) -> np.ndarray:
    """Share of ``x`` in each bin defined by fixed interior ``edges`` (outer bins open to ±inf).

    Bins are right-closed: ``(-inf, e₀], (e₀, e₁], …, (e_last, +inf)`` — ``len(edges) + 1`` bins.

    References
    ----------
    Siddiqi (2006), ch. 11 (characteristic / stability reports).
    """
    xa = _vector(x, "x")
    e = _vector(edges, "edges")
    if xa.shape[0] == 0:
        raise ValueError("bin_proportions needs a non-empty sample")
    if (np.diff(e) <= 0).any():
        raise ValueError("edges must be strictly increasing")
    return np.bincount(np.searchsorted(e, xa, side="left"), minlength=e.shape[0] + 1) / xa.shape[0]


def psi_noise_quantile(
    expected_props: ArrayLike,
    n_ref: int,
    n_new: int,
    *,
    q: float = 0.95,
    n_sim: int = 2000,
    seed=0,
    floor: float = 1e-4,
) -> float:
    """``q``-quantile of the PSI produced by sampling noise alone.

    A reference sample of ``n_ref`` and a new sample of ``n_new`` are both drawn multinomially
    from ``expected_props``; their PSI (same ``floor`` rule as :func:`psi`) is simulated
    ``n_sim`` times, vectorised.

    References
    ----------
    Yurdakul (2018) — the null distribution of PSI depends on the sample sizes.
    """
    p = _vector(expected_props, "expected_props")
    if p.shape[0] == 0 or (p < 0).any() or p.sum() <= 0:
        raise ValueError("expected_props must be non-negative with a positive sum")
    if int(n_ref) < 1 or int(n_new) < 1 or int(n_sim) < 1 or not 0.0 < q < 1.0:
        raise ValueError("need n_ref, n_new, n_sim >= 1 and 0 < q < 1")
    p = p / p.sum()
    rng = np.random.default_rng(seed)
    ref = rng.multinomial(int(n_ref), p, size=int(n_sim)).astype(np.float64)
    new = rng.multinomial(int(n_new), p, size=int(n_sim)).astype(np.float64)
    return float(np.quantile(_psi_rows(ref, new, floor), q))


def wasserstein(x: ArrayLike, y: ArrayLike) -> float:
    """First Wasserstein (earth mover's) distance between two samples.

    References
    ----------
    Villani, C. (2009). Optimal Transport; ``scipy.stats.wasserstein_distance``.
    """
    return float(_st.wasserstein_distance(_vector(x, "x"), _vector(y, "y")))


# ----------------------------------------------------------------------------------------------
# 13. lift table
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


# ----------------------------------------------------------------------------------------------
# 14. trend of a per-period statistic
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
