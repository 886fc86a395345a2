"""Activity tiers (Loud / Active / Lazarus, seed 004) and a direction check for every signal.

**The tiers.** Seed 004's CSM sorted the book by contact activity: *Loud* accounts constantly ask
for calls between the scheduled ones, *Active* accounts keep the recurring cadence, *Lazarus*
accounts never reach out; the CSM set "a threshold at 30 days so they got at least one valued
touch a month". From a contacts-per-month column ``c`` (calls and emails with the CSM):

- ``contacts per 30 days = c × 30 / 30.4375`` (a month is 365.25/12 days);
- **Lazarus**: fewer than one contact per 30 days — the account would go 30 days without a
  touch, so the 30-day touch rule is due;
- **Loud**: more than ``loud_per_month`` contacts a month (default 4: more than weekly, i.e.
  beyond a recurring fortnightly call plus its follow-up);
- **Active**: everything in between.

The tiers are validated in the order the CSM's forecast assumed (more attention = healthier:
Lazarus < Active < Loud) with :func:`calibrate.validation.separation.validate_classes`; the seed's finding
(loud accounts churned despite the attention) shows up as a negative spread Loud − Lazarus.

**Direction checks.** For every numeric signal, the AUC of the raw value for renewal (higher
value → renewal) with an account-level bootstrap interval and a two-sided p-value against 0.5:
AUC above 0.5 means higher is healthier in this book. A signal whose interval lies on the side
opposite to the expected direction is flagged *wrong way*.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from calibrate.errors import DataError
from calibrate.data.load import Accounts
from calibrate.systems.rules import Check, ClassResultMixin, check_lines, class_checks
from calibrate.validation.separation import Validation, validate_classes

__all__ = ["Tier", "TIERS", "assign_tiers", "TierResult", "activity_tiers", "DirectionReport", "direction_checks",
           "EXPECTED_DIRECTIONS", "DAYS_PER_MONTH"]

DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class Tier:
    """An activity tier (band-like: name, code, colour)."""

    name: str
    code: str
    color: str
    meaning: str


TIERS = (
    Tier("Lazarus", "CS_TIER_LAZARUS", "#94a3b8", "fewer than one contact per 30 days: a valued touch is due"),
    Tier("Active", "CS_TIER_ACTIVE", "#22c55e", "keeps the recurring cadence, reaches out when something breaks"),
    Tier("Loud", "CS_TIER_LOUD", "#f97316", "more contacts than the loud threshold: calls between the scheduled ones"),
)
"""The tiers in the order the seed's CSM believed (more attention = healthier), least healthy first."""

EXPECTED_DIRECTIONS: dict[str, str] = {
    "adoption_pct": "higher_is_healthier", "days_since_login": "lower_is_healthier", "nps": "higher_is_healthier",
    "open_tickets": "lower_is_healthier", "oldest_ticket_age_days": "lower_is_healthier",
    "days_to_renewal": "higher_is_healthier", "csm_contacts_per_month": "higher_is_healthier",
    "licensed_seats": "higher_is_healthier", "arr": "higher_is_healthier", "csm_red": "lower_is_healthier",
}
"""What a CS team usually assumes of each bundled signal; ``csm_contacts_per_month`` carries the seed CSM's belief
that more contact means a healthier relationship. Columns not listed are assumed higher-is-healthier."""


def assign_tiers(contacts_per_month: np.ndarray, *, touch_days: float = 30.0, loud_per_month: float = 4.0) -> np.ndarray:
    """Tier index per row: 0 Lazarus, 1 Active, 2 Loud (see the module docstring for the rule)."""
    c = np.asarray(contacts_per_month, dtype=float)
    if np.isnan(c).any():
        raise DataError("contact column has missing values; fill them (0 if no contact was logged) before tiering")
    per_window = c * touch_days / DAYS_PER_MONTH
    return np.where(per_window < 1.0, 0, np.where(c > loud_per_month, 2, 1))


@dataclass(frozen=True)
class TierResult(ClassResultMixin):
    """Activity tiers validated against renewals, in the CSM's assumed order (Lazarus < Active < Loud).

    Attributes
    ----------
    validation : Validation
        Renewal rate per tier (Wilson), spread Loud − Lazarus (account bootstrap), AUC of the tier order.
    observed_order : tuple of str
        Tiers sorted by observed renewal rate, least healthy first.
    touch_due : int
        Accounts in Lazarus at the latest snapshot (due a valued touch under the 30-day rule).
    checks : tuple of Check
        Whether the assumed order holds (spread, monotone, trend): failing checks mean contact
        activity does not mean health in this book.
    """

    column: str
    touch_days: float
    loud_per_month: float
    validation: Validation
    observed_order: tuple[str, ...]
    touch_due: int
    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        """The CSM's order (more attention = healthier) holds."""
        return all(c.passed for c in self.checks)

    def to_frame(self) -> pd.DataFrame:
        """Renewal figures per tier, Lazarus first."""
        return self.validation.to_frame()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe figures."""
        d = self.validation.to_dict()
        d.update(column=self.column, touch_days=self.touch_days, loud_per_month=self.loud_per_month,
                 observed_order=list(self.observed_order), touch_due=self.touch_due, passed=self.passed,
                 checks=[c.__dict__ for c in self.checks])
        return d

    def summary(self) -> str:
        """Tier table, the order the outcomes support, and the checks."""
        lines = [f"activity tiers from {self.column} (Lazarus: < 1 contact per {self.touch_days:g} days; "
                 f"Loud: > {self.loud_per_month:g} a month)", self.validation.summary(classes="tier", red_book=False),
                 "order supported by renewals (least healthy first): " + " < ".join(self.observed_order),
                 f"{self.touch_due:,} accounts in Lazarus at the latest snapshot are due a valued touch"]
        lines += check_lines(self.checks)
        return "\n".join(lines)

    def __repr__(self) -> str:
        v = self.validation
        return f"<TierResult spread Loud - Lazarus {v.spread:+.1%} [{v.spread_ci[0]:+.1%}, {v.spread_ci[1]:+.1%}]>"


def activity_tiers(
    data: Accounts,
    *,
    column: str = "csm_contacts_per_month",
    touch_days: float = 30.0,
    loud_per_month: float = 4.0,
    n_boot: int = 2000,
    seed: int = 0,
) -> TierResult:
    """Put every snapshot in a tier by contact activity and validate the tiers against renewals.

    Parameters
    ----------
    data : Accounts
    column : str, default ``"csm_contacts_per_month"``
        Contacts with the CSM per month.
    touch_days : float, default 30
        The touch rule's window: fewer than one contact per window is Lazarus.
    loud_per_month : float, default 4
        More contacts a month than this is Loud.
    n_boot, seed : int

    Returns
    -------
    TierResult
    """
    frame = data.frame
    if column not in frame.columns:
        raise DataError(f"column {column!r} not in the data; activity tiers need contacts per month (--column)")
    idx = assign_tiers(frame[column].to_numpy(dtype=float, na_value=np.nan), touch_days=touch_days,
                       loud_per_month=loud_per_month)
    v = validate_classes(frame, idx, TIERS, red_band="Lazarus", score=idx.astype(float), n_boot=n_boot, seed=seed)
    rates = {b.name: (b.renewal_rate if b.renewal_rate is not None else np.inf) for b in v.bands}
    latest = (frame["snapshot_date"] == frame["snapshot_date"].max()).to_numpy() if "snapshot_date" in frame else True
    return TierResult(column=column, touch_days=touch_days, loud_per_month=loud_per_month, validation=v,
                      observed_order=tuple(sorted(rates, key=rates.get)),
                      touch_due=int(frame.loc[latest & (idx == 0), "account_id"].nunique()), checks=class_checks(v))


@dataclass(frozen=True)
class DirectionReport:
    """Does higher really mean healthier? One row per signal.

    ``table`` columns: signal, expected, auc (higher value → renewal), ci_low, ci_high, pvalue,
    observed (direction the interval supports, or ``"unclear"``), status (``agrees``,
    ``wrong way``, ``no evidence``), and the renewal rate of the bottom and top quartile of the
    signal with Wilson intervals.
    """

    table: pd.DataFrame
    n_boot: int
    seed: int

    @property
    def wrong_way(self) -> list[str]:
        """Signals whose evidence points opposite to the expected direction."""
        return self.table.loc[self.table["status"] == "wrong way", "signal"].tolist()

    @property
    def checks(self) -> tuple[Check, ...]:
        """One check per signal: it does not point the wrong way."""
        return tuple(Check(f"direction:{r.signal}", r.status != "wrong way", float(r.auc), 0.5,
                           f"{r.signal}: expected {r.expected}, AUC {r.auc:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}] "
                           f"-> {r.status}") for r in self.table.itertuples())

    @property
    def passed(self) -> bool:
        """No signal points the wrong way."""
        return not self.wrong_way

    def to_frame(self) -> pd.DataFrame:
        """The signal table."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe."""
        return {"signals": self.table.astype(object).where(self.table.notna(), None).to_dict(orient="records"),
                "wrong_way": self.wrong_way, "passed": self.passed, "n_boot": self.n_boot, "seed": self.seed,
                "checks": [c.__dict__ for c in self.checks]}

    def summary(self) -> str:
        """The table, wrong-way signals first."""
        t = self.table.sort_values("status", key=lambda s: s.map({"wrong way": 0, "no evidence": 1, "agrees": 2}),
                                   kind="stable")
        lines = [f"{'signal':<24}{'expected':<21}{'AUC':>6}  95% CI          p       bottom q  top q    status"]
        for r in t.itertuples():
            lines.append(f"{r.signal:<24}{r.expected:<21}{r.auc:6.3f}  [{r.ci_low:.3f}, {r.ci_high:.3f}]  "
                         f"{r.pvalue:<8.2g}{r.rate_bottom_q:7.1%}  {r.rate_top_q:7.1%}  {r.status}")
        lines.append("wrong way: " + (", ".join(self.wrong_way) or "none"))
        return "\n".join(lines)

    def plot(self, ax: Any = None) -> Any:
        """AUC per signal with its interval, 0.5 marked; wrong-way signals in red; returns the Axes."""
        from calibrate.plots import plot_directions

        return plot_directions(self.table, ax=ax)

    def _repr_html_(self) -> str:
        return self.table.to_html(index=False, float_format=lambda v: f"{v:.3f}")

    def __repr__(self) -> str:
        return f"<DirectionReport {len(self.table)} signals, wrong way: {self.wrong_way or 'none'}>"


def direction_checks(
    data: Accounts,
    *,
    columns: Sequence[str] | None = None,
    expected: Mapping[str, Literal["higher_is_healthier", "lower_is_healthier"]] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> DirectionReport:
    """Check, for every signal, which direction the renewals support.

    Parameters
    ----------
    data : Accounts
    columns : sequence of str, optional
        Signals to check (default: every numeric column but ``renewed``).
    expected : mapping, optional
        Signal → expected direction, over :data:`EXPECTED_DIRECTIONS` (others: higher is healthier).
    n_boot, seed : int
        Account-level bootstrap of the AUC.

    Returns
    -------
    DirectionReport
    """
    from calibrate import _stats

    frame = data.frame
    if columns is None:
        columns = [c for c in frame.columns if c != "renewed" and pd.api.types.is_numeric_dtype(frame[c])
                   and not pd.api.types.is_bool_dtype(frame[c])]
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise DataError(f"column(s) {absent} not in the data; name existing signal columns")
    exp = {**EXPECTED_DIRECTIONS, **(expected or {})}
    y = frame["renewed"].to_numpy(dtype=int)
    groups = frame["account_id"].to_numpy()
    rows = []
    for c in columns:
        x = frame[c].to_numpy(dtype=float, na_value=np.nan)
        ok = ~np.isnan(x)
        a = _stats.bootstrap_auc(groups[ok], y[ok], x[ok], n_boot=n_boot, seed=seed)
        p = float(2 * _norm_sf(abs(a.value - 0.5) / a.se)) if a.se > 0 else float("nan")
        observed = ("higher_is_healthier" if a.ci_low > 0.5 else "lower_is_healthier" if a.ci_high < 0.5
                    else "unclear")
        want = exp.get(c, "higher_is_healthier")
        status = "no evidence" if observed == "unclear" else "agrees" if observed == want else "wrong way"
        q1, q3 = np.quantile(x[ok], [0.25, 0.75])
        lo_q, hi_q = ok & (x <= q1), ok & (x >= q3)
        k = np.array([y[lo_q].sum(), y[hi_q].sum()])
        n = np.array([lo_q.sum(), hi_q.sum()])
        wl, wh = _stats.wilson_interval(k, n)
        rows.append({"signal": c, "expected": want, "auc": a.value, "ci_low": a.ci_low, "ci_high": a.ci_high,
                     "pvalue": p, "observed": observed, "status": status, "rate_bottom_q": k[0] / n[0],
                     "bottom_q_ci": (float(wl[0]), float(wh[0])), "rate_top_q": k[1] / n[1],
                     "top_q_ci": (float(wl[1]), float(wh[1])), "n": int(ok.sum())})
    return DirectionReport(table=pd.DataFrame(rows), n_boot=n_boot, seed=seed)


def _norm_sf(z: float) -> float:
    from scipy.stats import norm

    return float(norm.sf(z))
