"""The result of a validation: :class:`Validation` (and its band rows, :class:`BandStat`).

Computed by :mod:`calibrate.validation.separation` (pandas rows) or :mod:`calibrate.validation.engine`
(an engine's aggregates); both through :func:`calibrate.validation.separation.validation_from_counts`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from calibrate.validation.redbook import CsmJudgment, RedBook, _f

__all__ = ["BandStat", "Validation"]


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
