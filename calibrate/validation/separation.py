"""Do the bands separate renewal rates? (contract.md §4, issue 4)

:func:`validate` scores the data with a config and returns a :class:`Validation`: per band the
renewal rate with a Wilson interval, the ARR-weighted rate and the shares of book and of ARR; the
spread (top band minus red) with an account-level bootstrap interval and a one-sided
two-proportion test; monotonicity (a violation counts only where the intervals separate); the
ordered trend test (Cochran–Armitage); AUC with a DeLong interval, Gini and KS; Brier, ECE,
calibration slope/intercept and the reliability curve; lift/gains by decile; the red book
(:mod:`calibrate.validation.redbook`); the CSM flag when a ``csm_red`` column exists; and, with ``by``, the
same per segment or snapshot period.

Renewal maturity: rows without an outcome, or (with ``as_of``) whose renewal date is after the
as-of date, are *pending*: excluded from every outcome statistic, counted in ``n_pending``, never
treated as renewed. They still count in the share of book in red.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd

from calibrate._params import Interval, Options, validate_params
from calibrate.config.model import WeightConfig
from calibrate.data.load import Accounts
from calibrate.validation.redbook import CsmJudgment, RedBook, _f, csm_judgment, red_book
from calibrate.validation.result import BandStat, Validation
from calibrate.score.scorer import score_frame

__all__ = ["BandStat", "Validation", "validate", "validate_classes", "validation_from_counts", "decided_mask"]

By = Literal["segment", "period"]
_PARAMS = {"by": [Options("segment", "period", None)], "n_boot": [Interval(int, 1, None)]}


class BandLike(Protocol):
    """What validation needs of a band or an outcome class: its name, code and colour."""

    name: str
    code: str
    color: str


def decided_mask(frame: pd.DataFrame, as_of: str | pd.Timestamp | None = None) -> np.ndarray:
    """Rows whose renewal is decided: an outcome, and (with ``as_of``) a renewal date on or before it."""
    y = pd.to_numeric(frame["renewed"], errors="coerce")
    mask = y.notna().to_numpy().copy()
    if as_of is not None and "renewal_date" in frame:
        mask &= ~(frame["renewal_date"] > pd.Timestamp(as_of)).to_numpy()
    return mask


def _violations(bands: Sequence[BandStat]) -> tuple[tuple[str, str], ...]:
    full = [b for b in bands if b.renewal_rate is not None]
    return tuple((lo.name, hi.name) for lo, hi in zip(full, full[1:]) if lo.ci_low > hi.ci_high)


def _group_labels(frame: pd.DataFrame, by: By) -> pd.Series:
    from calibrate.errors import DataError

    column = "segment" if by == "segment" else "snapshot_date"  # by is "segment" or "period" (validate_params)
    if column not in frame:
        raise DataError(f"validate by {by}: the data have no {column!r} column; map one or drop --by")
    return frame["segment"].astype(str) if by == "segment" else frame["snapshot_date"].dt.to_period("Q").astype(str)


@validate_params(_PARAMS)
def validate_classes(
    frame: pd.DataFrame,
    index: np.ndarray,
    classes: Sequence[BandLike],
    *,
    red_band: str,
    score: np.ndarray,
    p: np.ndarray | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    as_of: str | pd.Timestamp | None = None,
    by: By | None = None,
    red_metrics: bool = True,
    n_bins: int = 10,
    diagnostics: bool = True,
) -> Validation:
    """Validate any ordered classification (score bands, rule-tree outcomes, tiers) against renewals.

    Parameters
    ----------
    frame : DataFrame
        Loaded snapshots with ``account_id`` and ``renewed`` (NaN = not decided yet); ``arr``,
        ``segment``, ``snapshot_date``, ``renewal_date`` and ``csm_red`` are used when present.
    index : ndarray of int
        Each row's class, 0 = least healthy class; ``classes[index]`` is its class.
    classes : sequence of band-like
        Ordered least healthy first; the last is the top class of the spread.
    red_band : str
        Name of the class the spread is measured against.
    score : ndarray
        What the AUC ranks by (the health score, or the class index for a classifier).
    p : ndarray, optional
        Calibrated renewal probabilities, for the Brier score, ECE, slope and reliability curve.
    n_boot, seed : int
        Account-level bootstrap resamples and their seed.
    as_of : date, optional
        The data's as-of date: rows renewing after it are pending (see the module docstring).
    by : {"segment", "period"}, optional
        Also validate each segment / snapshot quarter (:attr:`Validation.groups`).
    red_metrics : bool, default True
        Compute the red book (:func:`calibrate.validation.redbook.red_book`).
    n_bins : int, default 10
        Bins of the ECE, reliability curve and lift table.
    diagnostics : bool, default True
        Compute the Brier score, ECE, calibration slope/intercept, reliability curve, KS, lift
        table and the CSM flag's judgment (with a ``csm_red`` column). ``False`` leaves them NaN / None — for callers that need only the band rates, the
        spread and the AUC (drift validates every period of a large book).

    Returns
    -------
    Validation
    """
    from calibrate import _stats  # scipy-backed; imported where used

    index = np.asarray(index)
    score = np.asarray(score, dtype=float)
    names = [b.name for b in classes]
    decided = decided_mask(frame, as_of)
    full, full_index = frame, index
    if not decided.all():
        frame = frame.loc[decided].reset_index(drop=True)
        index, score = index[decided], score[decided]
        p = None if p is None else np.asarray(p)[decided]
    y = frame["renewed"].to_numpy(dtype=int)
    n_classes = len(classes)
    n = np.bincount(index, minlength=n_classes)
    k = np.bincount(index, weights=y, minlength=n_classes).astype(int)
    arr_sums = None
    if "arr" in frame:
        arr = frame["arr"].to_numpy(dtype=float)
        arr_sums = (np.bincount(index, weights=arr, minlength=n_classes),
                    np.bincount(index, weights=arr * y, minlength=n_classes), arr.sum())
    top = n_classes - 1
    red = names.index(red_band)
    groups = _stats.account_codes(frame["account_id"])[0]  # sorted order, as the engines number accounts
    # the spread's and the trend's intervals resample the same accounts: one draw serves both
    spread, trend = _stats.spread_and_trend(groups, index, y, n_classes, top=top, red=red, n_boot=n_boot, seed=seed)
    auc = _stats.delong(y, score, groups=groups)  # clustered by account (Obuchowski)
    has_p = diagnostics and p is not None and len(y) > 0 and not np.isnan(p).all()
    cal = _stats.calibration_slope_intercept(y, p) if has_p else _stats.CalibrationFit(np.nan, np.nan)
    curve = _stats.reliability_curve(y, p, n_bins=n_bins) if has_p else None
    lift = _stats.lift_table(1 - y, score, n_bins=n_bins) if diagnostics and len(y) else None
    csm = None
    if diagnostics and "csm_red" in frame and len(y):  # the CSM flag's judgment: a diagnostic (two logistic fits)
        flag = pd.to_numeric(frame["csm_red"], errors="coerce").fillna(0).to_numpy(dtype=float) > 0
        csm = csm_judgment(y, score, flag.astype(float), index, names)
    red_result = None
    if red_metrics and len(full):
        full_groups = groups if decided.all() else _stats.account_codes(full["account_id"])[0]
        red_result = red_book(full, full_index, names, red_band=red_band, decided=decided, n_boot=n_boot,
                              seed=seed, groups=full_groups)
    sub = () if by is None else _groups(full, full_index, classes, red_band, by, decided, score, p,
                                        n_boot=n_boot, seed=seed, as_of=as_of, n_bins=n_bins)
    return validation_from_counts(
        n, k, classes, red_band=red_band, spread=spread, auc=auc,
        trend_accounts=trend,
        n_accounts=int(groups.max() + 1) if len(groups) else 0, n_boot=n_boot, seed=seed, arr_sums=arr_sums,
        ks=_stats.ks_statistic(y, score) if diagnostics and len(y) else float("nan"),
        brier=_stats.brier(y, p) if has_p else float("nan"), calibration=cal, reliability=curve, lift=lift,
        n_pending=int((~decided).sum()), as_of=as_of, red=red_result, csm=csm, by=by, groups=sub,
    )


@validate_params(_PARAMS)
def validation_from_counts(
    n: np.ndarray,
    k: np.ndarray,
    classes: Sequence[BandLike],
    *,
    red_band: str,
    spread: Any,
    auc: Any,
    trend_accounts: Any,
    n_accounts: int,
    n_boot: int,
    seed: int,
    arr_sums: tuple[np.ndarray, np.ndarray, float] | None = None,
    ks: float = float("nan"),
    brier: float = float("nan"),
    calibration: Any = None,
    reliability: Any = None,
    lift: dict[str, np.ndarray] | None = None,
    n_pending: int = 0,
    as_of: str | pd.Timestamp | None = None,
    red: RedBook | None = None,
    csm: CsmJudgment | None = None,
    by: By | None = None,
    groups: tuple[tuple[str, Validation], ...] = (),
) -> Validation:
    """A :class:`Validation` from per-class counts and the statistics computed from rows or aggregates.

    The arithmetic both the pandas rows (:func:`validate_classes`) and an engine's aggregates
    (:func:`calibrate.validation.engine.validate_on_engine`) share: Wilson intervals, rates and shares, the
    ARR-weighted rates, the spread's z test, the Cochran–Armitage trend and the separated violations.

    Parameters
    ----------
    n, k : ndarray of int
        Decided rows and renewals per class, least healthy class first.
    classes : sequence of band-like
    red_band : str
    spread : SpreadCI
        The spread and its account bootstrap interval.
    auc : AucCI
        AUC with its clustered DeLong interval.
    trend_accounts : ZTest
        The trend test with an account-level bootstrap variance.
    n_accounts, n_boot, seed : int
    arr_sums : (ndarray, ndarray, float), optional
        ARR per class, ARR of renewals per class, and total ARR (with an ``arr`` column).
    ks, brier : float
    calibration : CalibrationFit, optional
    reliability : ReliabilityCurve, optional
    lift : dict, optional
        :func:`calibrate._stats.lift_table`'s columns.
    n_pending, as_of, red, csm, by, groups
        As the :class:`Validation` attributes.

    Returns
    -------
    Validation
    """
    from calibrate import _stats  # scipy-backed; imported where used

    names = [b.name for b in classes]
    n_classes = len(classes)
    lo, hi = _stats.wilson_interval(k, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = k / n
        if arr_sums is not None:
            a_n, a_k, a_total = arr_sums
            arr_rate = a_k / a_n
            arr_share = a_n / a_total
        else:
            arr_rate = arr_share = np.full(n_classes, np.nan)
    n_rows = int(n.sum())
    bands = tuple(
        BandStat(
            name=b.name, code=b.code, color=b.color, n=int(n[j]), renewed=int(k[j]),
            renewal_rate=_f(rate[j]), ci_low=_f(lo[j]), ci_high=_f(hi[j]),
            share=float(n[j] / max(n_rows, 1)), arr_renewal_rate=_f(arr_rate[j]), arr_share=_f(arr_share[j]),
        )
        for j, b in enumerate(classes)
    )
    top = n_classes - 1
    low = names.index(red_band)
    z_spread = _stats.two_proportion_test(k[top], n[top], k[low], n[low], alternative="larger")
    trend = _stats.cochran_armitage(k[n > 0], n[n > 0], scores=np.flatnonzero(n > 0), alternative="increasing")
    cal = calibration if calibration is not None else _stats.CalibrationFit(np.nan, np.nan)
    return Validation(
        n=n_rows,
        n_accounts=n_accounts,
        bands=bands,
        top_band=classes[top].name,
        red_band=red_band,
        spread=float(spread.value),
        spread_ci=(float(spread.ci_low), float(spread.ci_high)),
        auc=float(auc.value),
        auc_ci=(float(auc.ci_low), float(auc.ci_high)),
        brier=brier,
        n_boot=n_boot,
        seed=seed,
        spread_z=float(z_spread.z),
        spread_p=float(z_spread.pvalue),
        trend_z=float(trend.z),
        trend_p=float(trend.pvalue),
        trend_p_accounts=float(trend_accounts.pvalue),
        violations=_violations(bands),
        auc_se=float(auc.se),
        ks=ks,
        ece=_stats.ece_from_curve(reliability) if reliability is not None else float("nan"),
        cal_intercept=float(cal.intercept),
        cal_slope=float(cal.slope),
        reliability=(pd.DataFrame(reliability._asdict()).rename(columns={"counts": "count"})
                     if reliability is not None else None),
        lift=pd.DataFrame(lift) if lift is not None else None,
        n_pending=n_pending,
        as_of=None if as_of is None else pd.Timestamp(as_of).date().isoformat(),
        red=red,
        csm=csm,
        by=by,
        groups=groups,
    )


def _groups(full: pd.DataFrame, full_index: np.ndarray, classes: Sequence[BandLike], red_band: str, by: By,
            decided: np.ndarray, score: np.ndarray, p: np.ndarray | None,
            **options: Any) -> tuple[tuple[str, Validation], ...]:
    """Each segment / quarter of ``full`` validated alone, in label order (``score``/``p``: the decided rows')."""
    labels = _group_labels(full, by).to_numpy()
    return tuple((str(g), _group(full, full_index, classes, red_band, labels == g, decided, score, p, **options))
                 for g in sorted(pd.unique(labels)))


def _group(full: pd.DataFrame, full_index: np.ndarray, classes: Sequence[BandLike], red_band: str,
           rows: np.ndarray, decided: np.ndarray, score: np.ndarray, p: np.ndarray | None,
           **options: Any) -> Validation:
    """Validate the rows of one group (scores and probabilities are those of the decided rows)."""
    sel = rows[decided]  # the group's rows among the decided ones
    frame = full.loc[rows & decided].reset_index(drop=True)
    return validate_classes(
        frame, full_index[rows & decided], classes, red_band=red_band, score=score[sel],
        p=None if p is None else p[sel], red_metrics=False, **options,
    )


@validate_params(_PARAMS)
def validate(
    data: Accounts,
    config: WeightConfig,
    *,
    n_boot: int = 2000,
    seed: int = 0,
    as_of: str | pd.Timestamp | None = None,
    by: By | None = None,
    red_metrics: bool = True,
) -> Validation:
    """Validate a config's bands and score against known renewal outcomes.

    Parameters
    ----------
    data : Accounts
        Loaded snapshots; load with ``allow_pending=True`` to keep undecided renewals (counted apart).
    config : WeightConfig
    n_boot : int, default 2000
        Account-level bootstrap resamples for the spread interval (contract: at least 1,000).
    seed : int, default 0
    as_of : date, optional
        The data's as-of date: renewals after it are pending, even when an outcome is filled in.
    by : {"segment", "period"}, optional
        Also validate each segment / snapshot quarter; read them with :meth:`Validation.group`.
    red_metrics : bool, default True
        Compute the red book.

    Returns
    -------
    Validation

    Examples
    --------
    >>> from calibrate.data.datasets import load_book
    >>> from calibrate import load_accounts, fit_weights
    >>> from calibrate.fit.draft import build_config
    >>> data = load_accounts(load_book())
    >>> v = validate(data, build_config(fit_weights(data), data), n_boot=1000)
    >>> v.monotone and v.spread_ci[0] > 0.3
    True
    """
    scored = score_frame(data.frame, config, contributions=False, by="name")
    return validate_classes(
        data.frame,
        scored["band_index"].to_numpy(),
        config.bands,
        red_band=config.red_band,
        score=scored["score"].to_numpy(),
        p=scored["p_renew"].to_numpy(),
        n_boot=n_boot,
        seed=seed,
        as_of=as_of,
        by=by,
        red_metrics=red_metrics,
    )

