"""Do the bands separate renewal rates? (contract.md §4)

:func:`validate` scores the data with a config and returns a :class:`Validation`: per band the
renewal rate with a Wilson interval and share of book, the spread (top band minus red) with an
account-level bootstrap interval, and the AUC with a DeLong interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from calibrate.config import WeightConfig
from calibrate.load import Accounts
from calibrate.score import score_frame

__all__ = ["BandStat", "Validation", "validate", "validate_classes"]


@dataclass(frozen=True)
class BandStat:
    """Renewal figures of one band."""

    name: str
    code: str
    color: str
    n: int
    renewed: int
    renewal_rate: float | None
    ci_low: float | None
    ci_high: float | None
    share: float


@dataclass(frozen=True)
class Validation:
    """How well a config's bands and score separate renewals on some data.

    Attributes
    ----------
    bands : tuple of BandStat
        Lowest band first.
    spread, spread_ci : float, tuple
        Renewal rate of the top band minus the red band, with its percentile bootstrap interval
        (accounts resampled, ``n_boot`` times).
    auc, auc_ci : float, tuple
        Area under the ROC curve of score vs renewal, with a DeLong interval.
    brier : float
        Brier score of the config's calibrated renewal probability (NaN without calibration).
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

    @property
    def monotone(self) -> bool:
        """Renewal rates never fall from a lower band to a higher one (empty bands skipped)."""
        rates = [b.renewal_rate for b in self.bands if b.renewal_rate is not None]
        return all(lo <= hi for lo, hi in zip(rates, rates[1:]))

    def to_frame(self) -> pd.DataFrame:
        """The band table, lowest band first."""
        return pd.DataFrame([asdict(b) for b in self.bands])

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe figures with the keys of contract.md §3 (``calibrate validate --json``)."""
        return {
            "n": self.n,
            "n_accounts": self.n_accounts,
            "bands": [
                {k: v for k, v in asdict(b).items() if k not in {"color"}} for b in self.bands
            ],
            "spread": {"value": self.spread, "ci_low": self.spread_ci[0], "ci_high": self.spread_ci[1],
                       "top_band": self.top_band, "red_band": self.red_band, "n_boot": self.n_boot},
            "auc": {"value": self.auc, "ci_low": self.auc_ci[0], "ci_high": self.auc_ci[1], "method": "delong"},
            "brier": self.brier,
            "monotone": self.monotone,
            "interval_method": self.interval_method,
            "seed": self.seed,
        }

    def summary(self) -> str:
        """The band table and headline figures as text."""
        lines = [f"{'band':<10}{'accounts':>9}{'renewed':>9}{'rate':>8}  95% CI         share"]
        for b in reversed(self.bands):
            rate = "   n/a" if b.renewal_rate is None else f"{b.renewal_rate:7.1%}"
            ci = "" if b.ci_low is None else f"[{b.ci_low:.1%}, {b.ci_high:.1%}]"
            lines.append(f"{b.name:<10}{b.n:>9,}{b.renewed:>9,}{rate:>8}  {ci:<15}{b.share:5.1%}")
        lines.append(
            f"spread {self.top_band} - {self.red_band}: {self.spread:+.1%} "
            f"[{self.spread_ci[0]:+.1%}, {self.spread_ci[1]:+.1%}]   "
            f"AUC {self.auc:.3f} [{self.auc_ci[0]:.3f}, {self.auc_ci[1]:.3f}]   "
            f"monotone: {'yes' if self.monotone else 'NO'}"
        )
        return "\n".join(lines)

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


def _none_if_nan(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


class BandLike(Protocol):
    """What validation needs of a band or an outcome class: its name, code and colour."""

    name: str
    code: str
    color: str


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
) -> Validation:
    """Validate any ordered classification (score bands, rule-tree outcomes, tiers) against renewals.

    Parameters
    ----------
    frame : DataFrame
        Loaded snapshots with ``account_id`` and ``renewed``.
    index : ndarray of int
        Each row's class, 0 = least healthy class; ``classes[index]`` is its class.
    classes : sequence of band-like
        Ordered least healthy first; the last is the top class of the spread.
    red_band : str
        Name of the class the spread is measured against.
    score : ndarray
        What the AUC ranks by (the health score, or the class index for a classifier).
    p : ndarray, optional
        Calibrated renewal probabilities, for the Brier score.
    n_boot, seed : int
        Account-level bootstrap resamples and their seed.

    Returns
    -------
    Validation
    """
    from calibrate import _stats  # scipy-backed; imported where used

    y = frame["renewed"].to_numpy(dtype=int)
    n_classes = len(classes)
    n = np.bincount(index, minlength=n_classes)
    k = np.bincount(index, weights=y, minlength=n_classes).astype(int)
    lo, hi = _stats.wilson_interval(k, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = k / n
    bands = tuple(
        BandStat(
            name=b.name, code=b.code, color=b.color, n=int(n[j]), renewed=int(k[j]),
            renewal_rate=_none_if_nan(rate[j]), ci_low=_none_if_nan(lo[j]), ci_high=_none_if_nan(hi[j]),
            share=float(n[j] / len(frame)),
        )
        for j, b in enumerate(classes)
    )
    top = n_classes - 1
    red = [b.name for b in classes].index(red_band)
    groups = pd.factorize(frame["account_id"])[0]
    spread = _stats.bootstrap_spread(groups, index, y, top=top, red=red, n_boot=n_boot, seed=seed)
    auc = _stats.delong(y, np.asarray(score, dtype=float))
    brier = float("nan") if p is None or np.isnan(p).all() else _stats.brier(y, p)
    return Validation(
        n=len(frame),
        n_accounts=int(groups.max() + 1),
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
    )


def validate(
    data: Accounts,
    config: WeightConfig,
    *,
    n_boot: int = 2000,
    seed: int = 0,
) -> Validation:
    """Validate a config's bands and score against known renewal outcomes.

    Parameters
    ----------
    data : Accounts
    config : WeightConfig
    n_boot : int, default 2000
        Account-level bootstrap resamples for the spread interval (contract: at least 1,000).
    seed : int, default 0

    Returns
    -------
    Validation
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
    )
