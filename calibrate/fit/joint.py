"""Learned sub-scores fitted jointly: each signal's points are its *conditional* effect, all signals in one model.

:func:`calibrate.fit.learned.fit_learned` fits one signal at a time, from its marginal renewal rates. That is right
for a lone signal and wrong for correlated ones: on the Iranian export, `Customer Value` renews better marginally but
worse once SMS and call volume are known (it is nearly their sum), and `Call Failure` carries nothing marginally and
a clear churn signal once usage is known. A sum of marginal maps with non-negative weights cannot express either, and
lost 0.013 AUC to the additive ceiling (docs/learned-transforms.md). :func:`cross_fit_joint` fits the points of all
learned signals together:

1. **Pre-bins** per signal as :func:`~calibrate.fit.learned.prebin` (``max_bins`` quantile cuts, a minimum share of
   accounts and of churn events per bin, categories one bin per label, missing values a bin when they hold the
   shares); one indicator column per pre-bin.
2. **One ridge logistic regression** on all signals' indicators (scikit-learn ``LogisticRegression``, L2), its
   strength ``C`` chosen from :attr:`JointOptions.cs` by the out-of-fold deviance over the cross-fitting folds
   (on a grouped subsample of :data:`SELECT_ROWS` rows when there are more).
3. **Shape** per signal, on its pre-bins' coefficients: the same shapes as the marginal rule (pool-adjacent-violators
   increasing, decreasing, single-peaked, single-troughed; categories in the order of their coefficients), the one
   of least criterion winning, with the binomial deviance replaced by its quadratic (Wald) approximation
   ``Σ I_b·(β_b − fitted_b)²``, ``I_b`` the Fisher information of bin ``b`` (``Σ p(1 − p)`` over its rows). The
   blocks are then merged while that lowers ``deviance + cost·(blocks + turning point)``, the cost Hannan–Quinn's
   ``2·ln ln n`` or 0 — whichever gives the lower out-of-fold deviance (:attr:`JointOptions.penalty`). A signal
   merged down to one block is ``flat``.
4. **Points**: each block's information-weighted mean coefficient, scaled so the worst block is 0 and the best 100.
   The scale is dropped: the simplex weights fitted on the sub-scores restore it (a sum of per-signal step functions
   is exactly a simplex-weighted sum of 0–100 sub-scores through a logistic link), so the weights are identified.

Cross-fitting as :func:`~calibrate.fit.learned.cross_fit`: each training row's sub-scores come from the fit on the
other :data:`~calibrate.fit.learned.N_FOLDS` folds (pre-bins included), the final transforms from the fit on every
training row with the chosen ``C``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from calibrate.config.model import Transform
from calibrate.data.spec import Signal
from calibrate.data.transforms import apply_transform
from calibrate.errors import FitError
from calibrate.fit.learned import (N_FOLDS, Prebins, Shape, _encode, _pooled, _shape_fit, fold_of, hannan_quinn,
                                   prebin)

__all__ = ["JointOptions", "JointSignal", "cross_fit_joint", "spec_learner"]


SELECT_ROWS = 100_000
"""Training rows beyond which ``C`` and the block cost are chosen on a grouped subsample of about this many."""


@dataclass(frozen=True)
class JointOptions:
    """How the joint points are fitted (module docstring).

    Attributes
    ----------
    max_bins : int
        Quantile pre-bins of a numeric column: 10 (the inner-CV deviance of 20 and 40 was worse on both real exports:
        more indicators than a few hundred churn events support, even with the ridge).
    min_bin_share, min_event_share : float
        Least share of the accounts, and of the churn events, in a pre-bin: 1 % (2 % merged informative bins of
        loyal high-value accounts away: docs/learned-transforms.md).
    cs : tuple of float
        The ridge strengths tried (scikit-learn's ``C``, the inverse of the L2 penalty).
    penalty : float or None
        The cost of a block (and of a turning point) in step 3. ``None``: the Hannan–Quinn ``2·ln ln n`` or 0,
        whichever gives the shaped fits the lower out-of-fold deviance (ties: Hannan–Quinn, the simpler). Fixed at
        Hannan–Quinn, it merged real bins of coefficients the ridge had already shrunk (0.938 held-out AUC instead
        of 0.944 on the Iranian export's grouped folds); fixed at 0, it kept noise bins around a known step.
    """

    max_bins: int = 10
    min_bin_share: float = 0.01
    min_event_share: float = 0.01
    cs: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0, 100.0)
    penalty: float | None = None

    def penalties(self, n: int) -> tuple[float, ...]:
        """The block costs tried: the given one, or Hannan–Quinn's and 0."""
        return (hannan_quinn(n), 0.0) if self.penalty is None else (self.penalty,)


@dataclass(frozen=True)
class JointSignal:
    """One learned signal's raw values: numbers (NaN missing) or labels (``categorical``), and its shape option."""

    values: np.ndarray
    categorical: bool = False
    shape: Shape = "auto"
    column: str = "column"
    encoded: tuple[np.ndarray, np.ndarray] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=object if self.categorical else float)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "encoded", _encode(values, self.categorical))


@dataclass
class _Side:
    """One fit of the joint model: each signal's pre-bins and the fitted model per ``C``."""

    bins: dict[str, Prebins]
    offsets: dict[str, int]
    rows: np.ndarray
    design: object
    models: list[object]


def _design(signals: Mapping[str, JointSignal], bins: Mapping[str, Prebins], rows: np.ndarray) -> object:
    """The sparse indicator matrix of ``rows``: one column per pre-bin (and missing bin) of each signal.

    Built as CSR directly (int32 column indices, at most one per signal and row, ascending because each
    signal's columns follow the previous one's): a COO triplet list converted to CSR cost ~9× the final
    matrix in temporaries (~0.9 GiB at 750,000 rows × 12 signals, the fit's peak in ``calibrate run``).
    """
    from scipy import sparse

    n = int(rows.sum())
    cols, offset = np.empty((n, len(signals)), dtype=np.int32), 0
    for j, (name, s) in enumerate(signals.items()):
        b = bins[name]
        k = b.of(s.encoded[0], s.encoded[1][rows])
        cols[:, j] = np.where(k >= 0, offset + k, -1)
        offset += len(b.pre) + b.own_missing
    keep = cols >= 0
    indptr = np.concatenate(([0], np.cumsum(keep.sum(axis=1)))).astype(np.int64)
    indices = cols[keep]
    return sparse.csr_matrix((np.ones(indices.size), indices, indptr), shape=(n, offset))


def _fit_side(signals: Mapping[str, JointSignal], y: np.ndarray, rows: np.ndarray, options: JointOptions,
              cs: Sequence[float], start: tuple[np.ndarray, float] | None = None) -> _Side:
    """The joint model fitted on ``rows`` for each ``C`` in ``cs``; ``start`` a first guess of its coefficients
    (used when it has as many as this side's pre-bins make)."""
    from sklearn.linear_model import LogisticRegression

    bins = {name: prebin(s.encoded[0], s.encoded[1][rows], y[rows], categorical=s.categorical,
                         max_bins=options.max_bins, min_bin_share=options.min_bin_share,
                         min_event_share=options.min_event_share, column=s.column) for name, s in signals.items()}
    offsets, at = {}, 0
    for name, b in bins.items():
        offsets[name], at = at, at + len(b.pre) + b.own_missing
    x = _design(signals, bins, rows)
    models, model = [], None
    for c in cs:  # ascending C, each warm-started from the last
        if model is None:
            model = LogisticRegression(C=c, max_iter=2000, tol=1e-6, warm_start=True)
            if start is not None and start[0].size == x.shape[1]:
                model.coef_, model.intercept_ = start[0][None, :].copy(), np.array([start[1]])
        model.set_params(C=c)
        model.fit(x, y[rows].astype(int))
        models.append((model.coef_[0].copy(), float(model.intercept_[0])))
    return _Side(bins=bins, offsets=offsets, rows=rows, design=x, models=models)


def _deviance(side: _Side, signals: Mapping[str, JointSignal], y: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Each ``C``'s deviance of ``side``'s fits on ``rows``."""
    x = _design(signals, side.bins, rows)
    yy = y[rows]
    out = []
    for coef, icpt in side.models:
        eta = x @ coef + icpt
        out.append(float(2.0 * np.sum(np.logaddexp(0.0, eta) - yy * eta)))
    return np.array(out)


def _transforms(side: _Side, signals: Mapping[str, JointSignal], j: int,
                penalty: float) -> dict[str, tuple[Transform, float, float]]:
    """Each signal's transform from fit ``j`` of ``side`` (steps 3 and 4), its scale (log-odds per point) and the
    log-odds of its 0 points."""
    coef, icpt = side.models[j]
    eta = side.design @ coef + icpt
    p = 1.0 / (1.0 + np.exp(-eta))
    info = np.asarray(side.design.T @ (p * (1.0 - p))).ravel()
    out = {}
    for name, s in signals.items():
        b, at = side.bins[name], side.offsets[name]
        k = len(b.pre)
        beta, weight = coef[at:at + k], np.maximum(info[at:at + k], 1e-12)
        if s.categorical:  # the labels in the order of their conditional effect
            b = _reordered(b, np.lexsort((np.arange(k), beta)))
            beta, weight = beta[b.order], weight[b.order]
        dev = _wald(beta, weight)
        starts, label = _shape_fit(weight * beta, weight, s.shape, not s.categorical, penalty, dev)
        a_b, w_b = _pooled(starts, weight * beta, weight)
        miss = float(coef[at + k]) if b.own_missing else None
        values = np.append(a_b / w_b, [] if miss is None else [miss])
        out[name] = (b.transform(starts, label, a_b / w_b, miss), float(values.max() - values.min()) / 100.0,
                     float(values.min()))
    return out


def _wald(beta: np.ndarray, weight: np.ndarray):
    """The quadratic approximation of a block partition's deviance: ``Σ I·β² − Σ_blocks (Σ I·β)² / Σ I``."""
    total = float(np.sum(weight * beta ** 2))

    def dev(starts: list[int]) -> float:
        a, w = _pooled(starts, weight * beta, weight)
        return total - float(np.sum(a ** 2 / w))

    return dev


@dataclass(frozen=True)
class _Ordered(Prebins):
    order: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))


def _reordered(b: Prebins, order: np.ndarray) -> _Ordered:
    """``b`` with its pre-bins in ``order`` (units, counts and starts moved with them)."""
    ends = b.pre[1:] + [len(b.units)]
    idx = np.concatenate([np.arange(b.pre[i], ends[i]) for i in order])
    sizes = np.array([ends[i] - b.pre[i] for i in order])
    pre = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int).tolist()
    return _Ordered(units=b.units[idx], pre=pre, n=b.n[idx], r=b.r[idx], n_missing=b.n_missing,
                    r_missing=b.r_missing, own_missing=b.own_missing, categorical=b.categorical, order=order)


def cross_fit_joint(
    signals: Mapping[str, JointSignal],
    renewed: np.ndarray,
    *,
    groups: np.ndarray,
    train: np.ndarray | None = None,
    options: JointOptions = JointOptions(),
) -> dict[str, tuple[Transform, np.ndarray]]:
    """Each signal's final transform (fitted on every training row) and each row's out-of-fold sub-score.

    Parameters
    ----------
    signals : mapping of str to JointSignal
    renewed : ndarray
        1 renewed, 0 churned, NaN unknown (not fitted on).
    groups : ndarray
        Account ids: an account's rows share a fold (:func:`~calibrate.fit.learned.fold_of`).
    train : ndarray of bool, optional
        The training rows (default: all); any other row is scored by the final transforms.
    options : JointOptions

    Returns
    -------
    dict
        Signal name → ``(Transform, sub-scores)``.

    Raises
    ------
    FitError
        A signal has no value, churn event or renewal on a fold's training rows.
    """
    if not signals:
        return {}
    y = np.asarray(renewed, dtype=float)
    train = np.ones(y.size, dtype=bool) if train is None else np.asarray(train, dtype=bool)
    fit_rows = train & ~np.isnan(y)
    if fit_rows.sum() == 0 or np.nanmin(y[fit_rows]) == np.nanmax(y[fit_rows]):
        raise FitError("learned transforms need training rows with churn events and renewals; this sample has "
                       f"{int(fit_rows.sum())} rows with an outcome and {int((y[fit_rows] == 0).sum())} churn events")
    fold = fold_of(groups)
    cs = sorted(options.cs)
    # C and the block cost are chosen on at most SELECT_ROWS training rows (whole accounts, by a second hash)
    share = max(1, int(np.ceil(fit_rows.sum() / SELECT_ROWS)))
    select = fit_rows & (fold_of(np.char.add(np.asarray(groups, dtype=str), "/select"), share) == 0)
    sides, dev = [], np.zeros(len(cs))
    for f in range(N_FOLDS):
        inner, held = select & (fold != f), select & (fold == f)
        if held.any():
            side = _fit_side(signals, y, inner, options, cs)
            dev += _deviance(side, signals, y, held)
            sides.append((f, side))
    best = int(np.argmin(dev)) if sides else len(cs) - 1  # ties: the strongest penalty (smallest C)
    costs = options.penalties(int(select.sum()))
    cost = min(costs, key=lambda c: (sum(_shaped_deviance(_transforms(side, signals, best, c), side.models[best][1],
                                                          signals, y, select & (fold == f)) for f, side in sides), -c))
    final = _fit_side(signals, y, fit_rows, options, cs[best:best + 1])
    if share > 1:  # the cross-fitting sides, on every training row, at the chosen C (started from the final fit)
        sides = [(f, _fit_side(signals, y, fit_rows & (fold != f), options, cs[best:best + 1], final.models[0]))
                 for f in range(N_FOLDS) if (fit_rows & (fold == f)).any()]
    j = best if share == 1 else 0
    finals = _transforms(final, signals, 0, cost)
    out = {name: apply_transform(s.values, finals[name][0]) for name, s in signals.items()}
    for f, side, fitted in ((f, side, _transforms(side, signals, j, cost)) for f, side in sides):
        held = train & (fold == f)
        for name, s in signals.items():
            out[name][held] = _on_final_scale(apply_transform(s.values[held], fitted[name][0]), fitted[name][1],
                                              finals[name][1], out[name][held])
    return {name: (finals[name][0], out[name]) for name in signals}


def _shaped_deviance(fitted: Mapping[str, tuple[Transform, float, float]], intercept: float,
                     signals: Mapping[str, JointSignal], y: np.ndarray, rows: np.ndarray) -> float:
    """The deviance on ``rows`` of the shaped fit: the intercept plus each signal's block log-odds."""
    eta = np.full(int(rows.sum()), intercept)
    for name, s in signals.items():
        t, scale, low = fitted[name]
        eta += np.nan_to_num(low + apply_transform(s.values[rows], t) * scale)  # a gap without a bin: 0, as fitted
    return float(2.0 * np.sum(np.logaddexp(0.0, eta) - y[rows] * eta))


def _on_final_scale(points: np.ndarray, scale: float, final_scale: float, final_points: np.ndarray) -> np.ndarray:
    """A fold fit's points in the final transform's points (the same log-odds per point), so the weights fitted on
    the out-of-fold sub-scores are those of the final ones: a fold's min–max scaling hangs on its most extreme,
    noisiest bins, and its sub-scores would otherwise be on another scale in every fold. The level (irrelevant to
    the weights: the intercept absorbs it) matches the final points' mean on the same rows; clipped to 0–100."""
    if final_scale <= 0 or scale <= 0:
        return points
    s = points * (scale / final_scale)
    return np.clip(s - np.nanmean(s) + np.nanmean(final_points), 0.0, 100.0)


def spec_learner(values: Mapping[str, np.ndarray], renewed: np.ndarray, train: np.ndarray, groups: np.ndarray,
                 signals: Sequence[Signal]) -> dict[str, tuple[Transform, np.ndarray]]:
    """:func:`cross_fit_joint` for a spec's ``learned`` signals (a :data:`calibrate.data.spec_load.Learner`).

    Raises
    ------
    FitError
        A signal's learned transform is flat: no bin renews detectably differently (by the criterion).
    """
    fitted = cross_fit_joint({s.name: JointSignal(values[s.name], categorical=s.kind == "categorical", shape=s.shape,
                                                  column=s.column) for s in signals}, renewed, groups=groups,
                             train=train)
    for s in signals:
        if fitted[s.name][0].shape == "flat":
            raise FitError(f"signal {s.name!r} (column {s.column!r}): its learned transform is flat — no bin renews "
                           "detectably differently; set `use: false` for it in the spec, or give it a fixed "
                           "transform")
    return fitted
