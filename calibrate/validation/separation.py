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
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd

from calibrate._params import Interval, Options, validate_params
from calibrate.config.model import WeightConfig
from calibrate.data.load import Accounts
from calibrate.validation.redbook import CsmJudgment, RedBook, _f, csm_judgment, red_book
from calibrate.score.scorer import score_frame

__all__ = ["BandStat", "Validation", "validate", "validate_classes", "decided_mask"]

By = Literal["segment", "period"]
_PARAMS = {"by": [Options("segment", "period", None)], "n_boot": [Interval(int, 1, None)]}


@dataclass(frozen=True)
class BandStat:
    """Renewal figures of one band (``arr_*`` are ``None`` without an ``arr`` column)."""

    name: str
    code: str
    color: str
    n: int
    renewed: int
    renewal_rate: float | None
    ci_low: float | None
    ci_high: float | None
    share: float
    arr_renewal_rate: float | None = None
    arr_share: float | None = None


@dataclass(frozen=True)
class Validation:
    """How well a config's bands and score separate renewals on some data.

    Attributes
    ----------
    bands : tuple of BandStat
        Lowest band first; decided rows only.
    spread, spread_ci : float, tuple
        Renewal rate of the top band minus the red band, with its percentile bootstrap interval
        (accounts resampled, ``n_boot`` times).
    spread_z, spread_p : float
        One-sided pooled two-proportion z test of top > red.
    trend_z, trend_p : float
        Cochran–Armitage test of a rising renewal rate across the ordered bands (one-sided,
        binomial variance: rows taken as independent).
    trend_p_accounts : float
        The same statistic with an account-level bootstrap variance
        (:func:`calibrate._stats.clustered_trend`): what the gate uses, since an account's snapshots
        are not independent evidence.
    violations : tuple of (str, str)
        Adjacent non-empty band pairs (lower, higher) whose rates fall *and* whose Wilson intervals
        do not overlap; :attr:`monotone` is true when there are none.
    auc, auc_ci, auc_se : float, tuple, float
        AUC of score vs renewal with a DeLong interval; :attr:`gini` = 2·AUC − 1; ``ks``.
    brier, ece, cal_intercept, cal_slope : float
        Calibration of the calibrated renewal probability (NaN without one); ECE on 10
        equal-frequency bins.
    reliability : DataFrame or None
        ``mean_pred``, ``frac_pos``, ``count`` per bin.
    lift : DataFrame or None
        Churn lift/gains by score decile, riskiest decile first (:func:`calibrate._stats.lift_table`).
    n_pending : int
        Rows left out as not yet decided (no outcome, or renewal after ``as_of``).
    red : RedBook or None
    csm : CsmJudgment or None
        When the data have a ``csm_red`` column.
    by, groups : str, tuple of (label, Validation)
        Per-group results when validated ``by`` segment or period.
    """

    n: int
    n_accounts: int
    bands: tuple[BandStat, ...]
    top_band: str
    red_band: str
    spread: float
    spread_ci: tuple[float, float]
    auc: float
    auc_ci: tuple[float, float]
    brier: float
    n_boot: int
    seed: int
    interval_method: str = "wilson"
    spread_z: float = float("nan")
    spread_p: float = float("nan")
    trend_z: float = float("nan")
    trend_p: float = float("nan")
    trend_p_accounts: float = float("nan")
    violations: tuple[tuple[str, str], ...] = ()
    auc_se: float = float("nan")
    ks: float = float("nan")
    ece: float = float("nan")
    cal_intercept: float = float("nan")
    cal_slope: float = float("nan")
    reliability: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    lift: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    n_pending: int = 0
    as_of: str | None = None
    red: RedBook | None = field(default=None, compare=False)
    csm: CsmJudgment | None = field(default=None, compare=False)
    by: str | None = None
    groups: tuple[tuple[str, Validation], ...] = field(default=(), compare=False)

    @property
    def monotone(self) -> bool:
        """No separated violation: renewal rates never fall where the intervals separate."""
        return not self.violations

    @property
    def strictly_monotone(self) -> bool:
        """Point rates never fall from a lower band to a higher one (empty bands skipped)."""
        rates = [b.renewal_rate for b in self.bands if b.renewal_rate is not None]
        return all(lo <= hi for lo, hi in zip(rates, rates[1:]))

    @property
    def gini(self) -> float:
        """2·AUC − 1."""
        return 2.0 * self.auc - 1.0

    def group(self, label: str) -> Validation:
        """The validation of one group (``by``)."""
        return dict(self.groups)[label]

    def to_frame(self) -> pd.DataFrame:
        """The band table, lowest band first (with ``by``: one block per group, column ``group``)."""
        frame = pd.DataFrame([asdict(b) for b in self.bands])
        if not self.groups:
            return frame
        return pd.concat(
            [frame.assign(group="(all)")] + [v.to_frame().assign(group=g) for g, v in self.groups], ignore_index=True
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe figures with the keys of contract.md §3 (``calibrate validate --json``)."""
        out: dict[str, Any] = {
            "n": self.n,
            "n_accounts": self.n_accounts,
            "n_pending": self.n_pending,
            "as_of": self.as_of,
            "bands": [{k: (_f(v) if isinstance(v, float) else v) for k, v in asdict(b).items() if k != "color"}
                      for b in self.bands],
            "spread": {"value": _f(self.spread), "ci_low": _f(self.spread_ci[0]), "ci_high": _f(self.spread_ci[1]),
                       "top_band": self.top_band, "red_band": self.red_band, "n_boot": self.n_boot,
                       "z": _f(self.spread_z), "pvalue": _f(self.spread_p)},
            "auc": {"value": _f(self.auc), "ci_low": _f(self.auc_ci[0]), "ci_high": _f(self.auc_ci[1]),
                    "se": _f(self.auc_se), "method": "delong"},
            "gini": _f(self.gini),
            "ks": _f(self.ks),
            "brier": _f(self.brier),
            "calibration": {"ece": _f(self.ece), "intercept": _f(self.cal_intercept), "slope": _f(self.cal_slope),
                            "reliability": _records(self.reliability)},
            "trend": {"z": _f(self.trend_z), "pvalue": _f(self.trend_p), "method": "cochran-armitage",
                      "pvalue_accounts": _f(self.trend_p_accounts)},
            "monotone": self.monotone,
            "strictly_monotone": self.strictly_monotone,
            "violations": [list(v) for v in self.violations],
            "lift": _records(self.lift),
            "interval_method": self.interval_method,
            "seed": self.seed,
        }
        if self.red is not None:
            out["red"] = self.red.to_dict()
        if self.csm is not None:
            out["csm"] = self.csm.to_dict()
        if self.by is not None:
            out["by"] = self.by
            out["groups"] = [{"group": g, **v.to_dict()} for g, v in self.groups]
        return out

    def summary(self, *, classes: str = "band", red_book: bool = True) -> str:
        """The band table (counts are snapshots) and headline figures as text.

        ``classes`` names what the rows are (``"tier"``, ``"outcome"``); ``red_book=False`` leaves out the
        red book, for systems whose classes are not score bands.
        """
        from calibrate.validation.text import validation_text

        return validation_text(self, classes=classes, red_book=red_book)

    def plot(self, ax: Any = None) -> Any:
        """Band renewal rates with their intervals; returns the Axes."""
        from calibrate.plots import plot_band_rates

        return plot_band_rates(self, ax=ax)

    def _repr_html_(self) -> str:
        return self.to_frame().drop(columns=["color"]).to_html(index=False, float_format=lambda v: f"{v:.3f}")

    def __repr__(self) -> str:
        return (
            f"<Validation {self.n:,} rows: spread {self.spread:+.1%} [{self.spread_ci[0]:+.1%}, "
            f"{self.spread_ci[1]:+.1%}], AUC {self.auc:.3f}>"
        )


def _records(frame: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    if frame is None:
        return None
    return [{k: (_f(v) if isinstance(v, float) else v) for k, v in r.items()} for r in frame.to_dict(orient="records")]


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
        Compute the Brier score, ECE, calibration slope/intercept, reliability curve, KS and lift
        table. ``False`` leaves them NaN / None — for callers that need only the band rates, the
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
    lo, hi = _stats.wilson_interval(k, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = k / n
        if "arr" in frame:
            arr = frame["arr"].to_numpy(dtype=float)
            a_n = np.bincount(index, weights=arr, minlength=n_classes)
            arr_rate = np.bincount(index, weights=arr * y, minlength=n_classes) / a_n
            arr_share = a_n / arr.sum()
        else:
            arr_rate = arr_share = np.full(n_classes, np.nan)
    bands = tuple(
        BandStat(
            name=b.name, code=b.code, color=b.color, n=int(n[j]), renewed=int(k[j]),
            renewal_rate=_f(rate[j]), ci_low=_f(lo[j]), ci_high=_f(hi[j]),
            share=float(n[j] / max(len(frame), 1)), arr_renewal_rate=_f(arr_rate[j]), arr_share=_f(arr_share[j]),
        )
        for j, b in enumerate(classes)
    )
    top = n_classes - 1
    red = names.index(red_band)
    groups = pd.factorize(frame["account_id"])[0]
    spread = _stats.bootstrap_spread(groups, index, y, top=top, red=red, n_boot=n_boot, seed=seed)
    z_spread = _stats.two_proportion_test(k[top], n[top], k[red], n[red], alternative="larger")
    trend = _stats.cochran_armitage(k[n > 0], n[n > 0], scores=np.flatnonzero(n > 0), alternative="increasing")
    auc = _stats.delong(y, score, groups=groups)  # clustered by account (Obuchowski)
    has_p = diagnostics and p is not None and len(y) > 0 and not np.isnan(p).all()
    cal = _stats.calibration_slope_intercept(y, p) if has_p else _stats.CalibrationFit(np.nan, np.nan)
    reliability = (pd.DataFrame(_stats.reliability_curve(y, p, n_bins=n_bins)._asdict()).rename(columns={"counts": "count"})
                   if has_p else None)
    lift = pd.DataFrame(_stats.lift_table(1 - y, score, n_bins=n_bins)) if diagnostics and len(y) else None
    csm = None
    if "csm_red" in frame and len(y):
        flag = pd.to_numeric(frame["csm_red"], errors="coerce").fillna(0).to_numpy(dtype=float) > 0
        csm = csm_judgment(y, score, flag.astype(float), index, names)
    red_result = None
    if red_metrics and len(full):
        full_groups = groups if decided.all() else pd.factorize(full["account_id"])[0]
        red_result = red_book(full, full_index, names, red_band=red_band, decided=decided, n_boot=n_boot,
                              seed=seed, groups=full_groups)
    sub = () if by is None else _groups(full, full_index, classes, red_band, by, decided, score, p,
                                        n_boot=n_boot, seed=seed, as_of=as_of, n_bins=n_bins)
    return Validation(
        n=len(frame),
        n_accounts=int(groups.max() + 1) if len(groups) else 0,
        bands=bands,
        top_band=classes[top].name,
        red_band=red_band,
        spread=float(spread.value),
        spread_ci=(float(spread.ci_low), float(spread.ci_high)),
        auc=float(auc.value),
        auc_ci=(float(auc.ci_low), float(auc.ci_high)),
        brier=_stats.brier(y, p) if has_p else float("nan"),
        n_boot=n_boot,
        seed=seed,
        spread_z=float(z_spread.z),
        spread_p=float(z_spread.pvalue),
        trend_z=float(trend.z),
        trend_p=float(trend.pvalue),
        trend_p_accounts=float(_stats.clustered_trend(groups, index, y, n_classes, n_boot=n_boot, seed=seed).pvalue),
        violations=_violations(bands),
        auc_se=float(auc.se),
        ks=_stats.ks_statistic(y, score) if diagnostics and len(y) else float("nan"),
        ece=_stats.expected_calibration_error(y, p, n_bins=n_bins) if has_p else float("nan"),
        cal_intercept=float(cal.intercept),
        cal_slope=float(cal.slope),
        reliability=reliability,
        lift=lift,
        n_pending=int((~decided).sum()),
        as_of=None if as_of is None else pd.Timestamp(as_of).date().isoformat(),
        red=red_result,
        csm=csm,
        by=by,
        groups=sub,
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

