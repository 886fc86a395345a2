"""Learned sub-scores: a shape-constrained, binned "points" map per raw signal, fitted from outcomes.

A credit-scorecard characteristic for a health score. :func:`fit_learned` turns one raw column (numbers, or
category labels) and the renewal outcome into a :class:`~calibrate.config.model.Transform` of kind ``"binned"``:
cut-points and the points (0–100, healthy-oriented: the bin that renews best scores 100, the worst 0) of each bin,
stored in the config as data and applied by :func:`calibrate.data.transforms.apply_transform` (and the SQL export's
``CASE``).

The rule, in order:

1. **Pre-bins.** A numeric column with at most ``max_bins`` distinct values gets one pre-bin per value; otherwise
   cuts at its quantiles (``max_bins`` of them, ties kept together). A categorical column gets one pre-bin per label,
   ordered by renewal rate. A pre-bin with fewer than ``min_bin_share`` of the accounts or ``min_event_share`` of the
   churn events is merged with the neighbour whose renewal rate is closer, until every pre-bin holds both; every
   final bin, a union of pre-bins, holds them too.
2. **Shapes.** The pre-bins' renewal rates are fitted (weighted by their counts, pool-adjacent-violators
   isotonic regression, :func:`pava`) as increasing, decreasing, single-peaked and single-troughed (the turning point chosen by
   likelihood); a categorical column, ordered by rate, as increasing only.
3. **Complexity.** Within each shape, adjacent bins are merged (pooling their counts) while that lowers the
   information criterion ``−2·loglik + penalty·(bins + turning point)``, by default the Hannan–Quinn penalty
   ``2·ln ln n`` (``n`` the rows; consistent like the BIC's ``ln n``, which merges real bins away on a few thousand
   accounts, and unlike the AIC's 2, which keeps noise bins on tens of thousands); the shape with the lowest
   criterion wins (ties: the simpler shape). One bin left is ``"flat"`` (the signal carries no detectable
   information), two is a ``"step"``.
4. **Points.** Each bin's smoothed renewal log-odds ``logit((renewed + ½) / (n + 1))``, scaled linearly so the worst
   bin scores 0 and the best 100 (rounded to 0.01): within a signal, points are proportional to the weight of
   evidence, so the simplex weight of the signal is its scorecard scale.
5. **Missing values** are their own bin (in the scaling, outside the shape) when they hold the minimum shares;
   otherwise they stay missing and the signal's declared ``missing`` rule applies. An unseen category is missing.

:func:`cross_fit` is the honest version for a fit: each account's sub-score comes from a transform learnt on the
other folds (grouped by account, :data:`N_FOLDS` folds assigned by a hash of the account id, so deterministic), and
the final transform is refitted on every training row. :func:`points_table` lays a fitted transform out as the
table a CS leader reads, with each bin's renewal rate and its Wilson interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from calibrate._params import Interval, Options, validate_params
from calibrate.config.model import Transform
from calibrate.data.transforms import apply_transform, category_key
from calibrate.errors import FitError
from calibrate.fit.points import bin_labels, points_table, points_text  # noqa: F401  (their home before)

__all__ = ["LearnOptions", "SHAPES", "fit_learned", "pava", "cross_fit", "points_table", "points_text",
           "bin_labels", "fold_of", "N_FOLDS"]

Shape = Literal["auto", "increasing", "decreasing", "peak", "trough", "step"]
SHAPES: tuple[str, ...] = ("auto", "increasing", "decreasing", "peak", "trough", "step")
"""Shapes a learned transform may be held to (``auto``: the data choose, by BIC)."""

N_FOLDS = 5
"""Folds of :func:`cross_fit`."""

Deviance = Callable[[list[int]], float]
"""A block partition's deviance (the block start indices in, ``−2·loglik`` or its quadratic approximation out)."""

_SIMPLER = ("flat", "step", "increasing", "decreasing", "peak", "trough")
"""Tie order of the shapes: the first with the lowest BIC wins."""


@dataclass(frozen=True)
class LearnOptions:
    """How a learned transform is fitted (module docstring).

    Attributes
    ----------
    shape : {"auto", "increasing", "decreasing", "peak", "trough", "step"}
        ``auto`` lets the BIC choose among all; ``step`` is an increasing or decreasing map with two bins.
    max_bins : int
        Pre-bins of a numeric column (quantile cuts).
    min_bin_share : float
        Least share of the (non-missing) accounts in a bin.
    min_event_share : float
        Least share of the churn events in a bin (at least one event).
    penalty : float or None
        Information-criterion cost of each bin (and of a turning point); ``None``: the Hannan–Quinn
        ``2·ln ln n`` (2 would be the AIC, ``ln n`` the BIC).
    """

    shape: Shape = "auto"
    max_bins: int = 40
    min_bin_share: float = 0.02
    min_event_share: float = 0.02
    penalty: float | None = None


def _loglik(r: np.ndarray, n: np.ndarray) -> float:
    p = np.clip(r / n, 1e-12, 1 - 1e-12)
    return float(np.sum(r * np.log(p) + (n - r) * np.log1p(-p)))


def _blocks(fitted: np.ndarray) -> list[int]:
    """Start index of each run of equal fitted values (the isotonic fit's pooled blocks)."""
    return [0] + [i for i in range(1, len(fitted)) if not math.isclose(fitted[i], fitted[i - 1], rel_tol=1e-12,
                                                                            abs_tol=1e-15)]


def pava(values: np.ndarray, weights: np.ndarray, *, increasing: bool = True) -> np.ndarray:
    """Weighted isotonic regression by pool-adjacent-violators (the pre-bins are few; checked against
    scikit-learn's ``IsotonicRegression`` in the tests)."""
    sign = 1.0 if increasing else -1.0
    means, sizes, counts = [], [], []
    for v, w in zip(sign * np.asarray(values, dtype=float), np.asarray(weights, dtype=float)):
        means.append(v), sizes.append(w), counts.append(1)
        while len(means) > 1 and means[-2] >= means[-1]:
            w2, c2, m2 = sizes.pop(), counts.pop(), means.pop()
            total = sizes[-1] + w2
            means[-1] = (means[-1] * sizes[-1] + m2 * w2) / total
            sizes[-1], counts[-1] = total, counts[-1] + c2
    return sign * np.repeat(means, counts)


def _iso(r: np.ndarray, n: np.ndarray, increasing: bool) -> list[int]:
    return [0] if len(r) == 1 else _blocks(pava(r / n, n, increasing=increasing))


def _pooled(starts: list[int], r: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ends = starts[1:] + [len(r)]
    return (np.array([r[a:b].sum() for a, b in zip(starts, ends)]), np.array([n[a:b].sum() for a, b in zip(starts, ends)]))


def _monotone(rates: np.ndarray) -> bool:
    d = np.diff(rates)
    return bool((d >= -1e-15).all() or (d <= 1e-15).all())


def _unimodal(r: np.ndarray, n: np.ndarray, peak: bool, dev: Deviance) -> list[int]:
    """The best single-peaked (or -troughed) block partition: increasing up to a turning point, decreasing after."""
    best, best_dev = [0], np.inf
    for p in range(1, len(r)):
        left, right = _iso(r[:p], n[:p], peak), _iso(r[p:], n[p:], not peak)
        cand = left + [p + s for s in right]
        d = dev(cand)
        if d < best_dev - 1e-12:
            best, best_dev = cand, d
    return best


def _simplify(starts: list[int], dev: Deviance, extra: int, penalty: float,
              keep: int | None = None) -> tuple[list[int], float]:
    """Merge adjacent blocks while that lowers ``dev + penalty·(blocks + extra)`` (or down to ``keep`` blocks); the
    blocks and criterion."""
    starts = list(starts)

    def criterion(s: list[int]) -> float:
        return dev(s) + (len(s) + (extra if len(s) > 2 else 0)) * penalty

    current = criterion(starts)
    while len(starts) > 1:
        options = [starts[:i] + starts[i + 1:] for i in range(1, len(starts))]
        scores = [criterion(o) for o in options]
        i = int(np.argmin(scores))
        if scores[i] >= current and (keep is None or len(starts) <= keep):
            break
        starts, current = options[i], scores[i]
    return starts, current


def binomial_deviance(r: np.ndarray, n: np.ndarray) -> Deviance:
    """``−2·loglik`` of a block partition of binomial units (``r`` renewed of ``n``)."""
    return lambda starts: -2.0 * _loglik(*_pooled(starts, r, n))


def _prebins(n: np.ndarray, r: np.ndarray, n_min: float, e_min: float) -> list[int]:
    """Start index of each pre-bin over ordered units, merged until each holds ``n_min`` accounts and ``e_min`` events."""
    starts = list(range(len(n)))
    while len(starts) > 1:
        rr, nn = _pooled(starts, r, n)
        weak = (nn < n_min) | (nn - rr < e_min)
        if not weak.any():
            break
        j = int(np.flatnonzero(weak)[np.argmin(nn[weak])])
        rate = rr / nn
        if j == 0:
            k = 1
        elif j == len(starts) - 1:
            k = j - 1
        else:
            k = j - 1 if abs(rate[j - 1] - rate[j]) <= abs(rate[j + 1] - rate[j]) else j + 1
        del starts[max(j, k)]
    return starts


def _scale(log_odds: np.ndarray) -> np.ndarray:
    lo, hi = float(log_odds.min()), float(log_odds.max())
    if hi - lo <= 1e-12:
        return np.full(log_odds.shape, 50.0)
    return np.round(100.0 * (log_odds - lo) / (hi - lo), 2)


def _logit(r: np.ndarray, n: np.ndarray) -> np.ndarray:
    p = (r + 0.5) / (n + 1.0)
    return np.log(p / (1.0 - p))


def _shape_fit(r: np.ndarray, n: np.ndarray, shape: str, ordered: bool, penalty: float,
               dev: Deviance | None = None) -> tuple[list[int], str]:
    """The block partition of the units and the shape it has, under the requested ``shape``: ``r / n`` are the units'
    values (renewal rates, weighted by ``n``), ``dev`` a block partition's deviance (default: binomial)."""
    dev = binomial_deviance(r, n) if dev is None else dev
    if not ordered:  # categories, ordered by value: increasing
        starts, _ = _simplify(_iso(r, n, True), dev, 0, penalty)
        return starts, "flat" if len(starts) == 1 else "step" if len(starts) == 2 else "categories"
    candidates: dict[str, tuple[list[int], float]] = {}
    wanted = ("increasing", "decreasing", "peak", "trough") if shape == "auto" else \
        ("increasing", "decreasing") if shape == "step" else (shape,)
    for name in wanted:
        raw = _iso(r, n, name == "increasing") if name in ("increasing", "decreasing") else \
            _unimodal(r, n, name == "peak", dev)
        candidates[name] = _simplify(raw, dev, 1 if name in ("peak", "trough") else 0, penalty,
                                     keep=2 if shape == "step" else None)
    best = min(candidates, key=lambda k: candidates[k][1])
    starts = candidates[best][0]
    label = best
    rates = np.divide(*_pooled(starts, r, n))
    if len(starts) == 1:
        label = "flat"
    elif len(starts) == 2 or (shape == "step"):
        label = "step"
    elif best in ("peak", "trough") and _monotone(rates):
        label = "increasing" if np.diff(rates)[0] > 0 else "decreasing"
    return starts, label


def hannan_quinn(n: int) -> float:
    """The Hannan–Quinn cost of a parameter, ``2·ln ln n``."""
    return 2.0 * math.log(math.log(max(n, 3)))


@validate_params({"shape": [Options(*SHAPES)], "max_bins": [Interval(int, 2, None)],
                  "min_bin_share": [Interval(float, 0, 0.5, closed="right")],
                  "min_event_share": [Interval(float, 0, 0.5, closed="right")],
                  "penalty": [Interval(float, 0, None), None]})
def fit_learned(
    raw: np.ndarray | pd.Series,
    renewed: np.ndarray | pd.Series,
    *,
    categorical: bool = False,
    shape: Shape = "auto",
    max_bins: int = 40,
    min_bin_share: float = 0.02,
    min_event_share: float = 0.02,
    penalty: float | None = None,
    column: str = "column",
) -> Transform:
    """Learn a shape-constrained binned raw → 0–100 points map from outcomes (module docstring).

    Parameters
    ----------
    raw : array_like
        The raw values: numbers (NaN missing), or labels when ``categorical`` (None/NaN/blank missing).
    renewed : array_like
        1 renewed, 0 churned; rows with a missing outcome are ignored.
    categorical : bool, default False
    shape, max_bins, min_bin_share, min_event_share, penalty
        See :class:`LearnOptions`.
    column : str
        Named in error messages.

    Returns
    -------
    Transform
        ``kind="binned"``: ``knots`` the cut-points (a value ``x`` is in bin ``j`` when
        ``knots[j-1] <= x < knots[j]``), ``values`` the points of each bin, ``missing`` the points of a missing value
        (``None``: the declared rule applies); for a categorical column ``categories`` (label → points) instead of
        knots. ``shape`` names the shape chosen.

    Raises
    ------
    FitError
        No row with both a value and an outcome, or no churn event (or no renewal) among them.
    """
    labels, code = _encode(raw, categorical)
    return _fit_codes(labels, code, np.asarray(renewed, dtype=float), categorical=categorical, shape=shape,
                      max_bins=max_bins, min_bin_share=min_bin_share, min_event_share=min_event_share,
                      penalty=penalty, column=column)


def _encode(raw: np.ndarray | pd.Series, categorical: bool) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values (sorted numbers, or label texts) and each row's index into them (−1: missing)."""
    if categorical:
        keys = np.array([category_key(v) for v in np.asarray(raw, dtype=object)], dtype=object)
        present = np.array([k is not None for k in keys], dtype=bool)
        values = keys[present].astype(str)
    else:
        x = np.asarray(raw, dtype=float)
        present = ~np.isnan(x)
        values = x[present]
    labels, inverse = np.unique(values, return_inverse=True)
    code = np.full(present.size, -1, dtype=np.int64)
    code[present] = inverse
    return labels, code


@dataclass(frozen=True)
class Prebins:
    """A column's pre-bins on one sample (step 1 of the rule): ``units`` the distinct values (numeric: each
    quantile group's first value; categorical: the labels) in bin order, ``pre`` the start index of each pre-bin in
    it, ``n`` and ``r`` each unit's accounts and renewals; ``n_missing``, ``r_missing`` those of a missing value and
    ``own_missing`` whether it is a bin of its own."""

    units: np.ndarray
    pre: list[int]
    n: np.ndarray
    r: np.ndarray
    n_missing: float
    r_missing: float
    own_missing: bool
    categorical: bool

    def of(self, labels: np.ndarray, code: np.ndarray) -> np.ndarray:
        """Each row's pre-bin (``len(pre)``: the missing bin; −1: missing without a bin of its own, or unseen)."""
        out = np.full(code.size, len(self.pre) if self.own_missing else -1, dtype=np.int64)
        present = code >= 0
        if self.categorical:
            block = np.searchsorted(self.pre, np.arange(len(self.units)), side="right") - 1
            lookup = dict(zip(self.units.tolist(), block.tolist()))
            unseen = len(self.pre) if self.own_missing else -1
            per_label = np.array([lookup.get(v, unseen) for v in labels.tolist()], dtype=np.int64)
        else:
            per_label = np.searchsorted(self.units[self.pre[1:]], labels, side="right")
        out[present] = per_label[code[present]] if labels.size else out[present]
        return out

    def transform(self, starts: list[int], label: str, values: np.ndarray, missing: float | None) -> Transform:
        """The binned transform of blocks ``starts`` (of pre-bins) with ``values`` per block, scaled to 0–100 points,
        and a missing bin worth ``missing`` (its value, when it is a bin of its own)."""
        r_p, n_p = _pooled(self.pre, self.r, self.n)
        r_b, n_b = _pooled(starts, r_p, n_p)
        own = self.own_missing and missing is not None
        points = _scale(np.append(values, missing) if own else np.asarray(values, dtype=float))
        missing_points = float(points[-1]) if own else None
        points = points[:-1] if own else points
        bins = {"n": [*map(int, n_b)] + ([int(self.n_missing)] if own else []),
                "renewed": [*map(int, r_b)] + ([int(self.r_missing)] if own else [])}
        if self.categorical:
            block_of = np.searchsorted(starts, np.arange(len(self.pre)), side="right") - 1  # pre-bin -> block
            pre_of = np.searchsorted(self.pre, np.arange(len(self.units)), side="right") - 1  # label -> pre-bin
            cats = {str(self.units[i]): float(points[block_of[pre_of[i]]]) for i in range(len(self.units))}
            return Transform(kind="binned", knots=[], values=[float(v) for v in points], shape=label,
                             categories=dict(sorted(cats.items())), missing=missing_points, bins=bins)
        edges = [float(self.units[self.pre[s]]) for s in starts[1:]]
        return Transform(kind="binned", knots=edges, values=[float(v) for v in points], shape=label,
                         missing=missing_points, bins=bins)


def prebin(labels: np.ndarray, code: np.ndarray, y: np.ndarray, *, categorical: bool, max_bins: int,
           min_bin_share: float, min_event_share: float, column: str) -> Prebins:
    """Step 1 of the rule on encoded values (:func:`_encode`) and outcomes without gaps.

    Raises
    ------
    FitError
        No row with a value, or no churn event (or no renewal) among them.
    """
    missing = code < 0
    n_all, present = y.size, ~missing
    if present.sum() == 0 or y[present].min() == y[present].max():
        raise FitError(f"column {column!r}: a learned transform needs rows with a value, churn events and renewals; "
                       "this sample has "
                       f"{int(present.sum())} rows with a value and {int((y[present] == 0).sum())} churn events")
    n_min = min_bin_share * present.sum()
    e_min = max(1.0, min_event_share * float((y == 0).sum()))
    n_u = np.bincount(code[present], minlength=len(labels)).astype(float)
    r_u = np.bincount(code[present], weights=y[present], minlength=len(labels)).astype(float)
    seen = n_u > 0  # a fold's sample holds some of the values
    labels, n_u, r_u = labels[seen], n_u[seen], r_u[seen]
    if categorical:
        order = np.lexsort((labels, _logit(r_u, n_u)))  # by rate, ties by label
        labels, n_u, r_u = labels[order], n_u[order], r_u[order]
    elif len(labels) > max_bins:  # quantile pre-bins: a cut where the cumulative share passes j / max_bins
        cum = np.cumsum(n_u) / n_u.sum()
        group = np.minimum(np.floor(np.concatenate([[0.0], cum[:-1]]) * max_bins + 1e-9), max_bins - 1).astype(int)
        first = np.flatnonzero(np.diff(group, prepend=-1) > 0)
        n_u, r_u, labels = np.add.reduceat(n_u, first), np.add.reduceat(r_u, first), labels[first]
    n_miss, r_miss = float(missing.sum()), float(y[missing].sum())
    return Prebins(units=labels, pre=_prebins(n_u, r_u, n_min, e_min), n=n_u, r=r_u, n_missing=n_miss,
                   r_missing=r_miss, own_missing=n_miss >= min_bin_share * n_all and n_miss - r_miss >= e_min,
                   categorical=categorical)


def _fit_codes(labels: np.ndarray, code: np.ndarray, y: np.ndarray, *, categorical: bool, shape: str, max_bins: int,
               min_bin_share: float, min_event_share: float, penalty: float | None, column: str) -> Transform:
    """:func:`fit_learned` on encoded values (:func:`_encode`), so the cross-fitting folds sort a column once."""
    keep = ~np.isnan(y)
    code, y = code[keep], y[keep]
    bins = prebin(labels, code, y, categorical=categorical, max_bins=max_bins, min_bin_share=min_bin_share,
                  min_event_share=min_event_share, column=column)
    r_p, n_p = _pooled(bins.pre, bins.r, bins.n)
    starts, label = _shape_fit(r_p, n_p, shape, not categorical, hannan_quinn(y.size) if penalty is None else penalty)
    miss = float(_logit(np.array([bins.r_missing]), np.array([bins.n_missing]))[0]) if bins.own_missing else None
    return bins.transform(starts, label, _logit(*_pooled(starts, r_p, n_p)), miss)


def fold_of(ids: Sequence[object] | np.ndarray | pd.Series, k: int = N_FOLDS) -> np.ndarray:
    """Each row's cross-fitting fold: the 64-bit FNV-1a hash of its account id's UTF-8 text, modulo ``k`` — grouped
    (an account's rows share a fold), deterministic and seed-free (vectorised over the bytes)."""
    raw = np.array([str(i).encode() for i in np.asarray(ids, dtype=object)], dtype=bytes)
    if raw.size == 0:
        return np.zeros(0, dtype=int)
    octets = raw.view(np.uint8).reshape(raw.size, -1)
    h = np.full(raw.size, 0xCBF29CE484222325, dtype=np.uint64)
    prime = np.uint64(0x100000001B3)
    with np.errstate(over="ignore"):
        for j in range(octets.shape[1]):
            byte = octets[:, j].astype(np.uint64)
            h = np.where(byte > 0, (h ^ byte) * prime, h)  # the zero padding after a shorter id is not hashed
    return (h % np.uint64(k)).astype(int)


def cross_fit(
    raw: np.ndarray | pd.Series,
    renewed: np.ndarray | pd.Series,
    *,
    groups: np.ndarray | pd.Series,
    train: np.ndarray | None = None,
    categorical: bool = False,
    options: LearnOptions = LearnOptions(),
    column: str = "column",
) -> tuple[Transform, np.ndarray]:
    """The final transform (learnt on every training row) and each row's out-of-fold sub-score.

    Parameters
    ----------
    raw, renewed : array_like
        As :func:`fit_learned`.
    groups : array_like
        Account ids: an account's rows share a fold.
    train : ndarray of bool, optional
        The training rows (default: all). A training row's sub-score comes from the transform learnt on the other
        folds' training rows; any other row's from the final transform.
    categorical : bool, default False
    options : LearnOptions
    column : str

    Returns
    -------
    (Transform, ndarray)
    """
    values = np.asarray(raw, dtype=object if categorical else float)
    y = np.asarray(renewed, dtype=float)
    train = np.ones(len(y), dtype=bool) if train is None else np.asarray(train, dtype=bool)
    kw = dict(categorical=categorical, shape=options.shape, max_bins=options.max_bins,
              min_bin_share=options.min_bin_share, min_event_share=options.min_event_share, penalty=options.penalty,
              column=column)
    labels, code = _encode(values, categorical)
    final = _fit_codes(labels, code[train], y[train], **kw)
    out = apply_transform(values, final)
    fold = fold_of(groups)
    for f in range(N_FOLDS):
        held = train & (fold == f)
        if held.any():
            fitted = _fit_codes(labels, code[train & (fold != f)], y[train & (fold != f)], **kw)
            out[held] = apply_transform(values[held], fitted)
    return final, out
