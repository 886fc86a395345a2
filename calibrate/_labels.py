"""Words and numbers for people: the one place for labels, glossary entries and number formats.

The report and the CLI show a result's fields through this module, never by their code names:
:data:`LABELS` maps a field (``auc_low``, ``noise_recalibrate``...) to its header in words,
:data:`GLOSSARY` says what each statistic means and how to read it, and the formatters turn
numbers into what a CS leader reads (``12.3 %``, ``$9,925,457``, ``15,520``; never ``nan``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "LABELS",
    "METHOD_LABELS",
    "GLOSSARY",
    "label",
    "glossary_key",
    "glossary_for",
    "is_missing",
    "pct",
    "points",
    "money",
    "count",
    "number",
    "interval",
    "pvalue",
    "value",
    "not_enough",
    "snake_case",
    "text_table",
]

CURRENCY = "$"
"""Prefix of ARR amounts (the bundled book is in US dollars)."""

MISSING = "n/a"
"""What a missing figure shows as when no reason is known."""

LABELS: dict[str, str] = {
    # bands and validation
    "name": "band", "band": "band", "n": "snapshots", "n_accounts": "accounts", "renewed": "renewed",
    "renewal_rate": "renewal rate", "ci_low": "95 % interval, low", "ci_high": "95 % interval, high",
    "share": "share of snapshots", "arr_renewal_rate": "ARR renewal rate", "arr_share": "share of ARR",
    "arr": "ARR", "lower": "from score", "upper": "to score", "color": "colour",
    # methods leaderboard
    "method": "method", "auc": "AUC", "auc_low": "AUC, 95 % interval low", "auc_high": "AUC, 95 % interval high",
    "log_loss": "log-loss per row", "log_loss_low": "log-loss, 95 % interval low",
    "log_loss_high": "log-loss, 95 % interval high", "brier": "Brier score", "brier_low": "Brier, 95 % interval low",
    "brier_high": "Brier, 95 % interval high", "spread": "spread", "spread_low": "spread, 95 % interval low",
    "spread_high": "spread, 95 % interval high", "spread_ci_low": "spread, 95 % interval low",
    "spread_ci_high": "spread, 95 % interval high", "auc_ci_low": "AUC, 95 % interval low",
    "auc_ci_high": "AUC, 95 % interval high",
    # drift
    "psi": "PSI / CSI", "threshold_watch": "watch above", "threshold_recalibrate": "recalibrate above",
    "noise_watch": "sampling noise (95 %)", "noise_recalibrate": "sampling noise (99 %)",
    "ks": "KS distance", "ks_pvalue": "KS p-value", "wasserstein": "average move (points)",
    "mean_ref": "mean then", "mean_new": "mean now", "period": "quarter", "expected_auc": "expected AUC (no outcomes)",
    # champion / challenger
    "figure": "figure", "value": "value",
    # red book
    "metric": "figure", "share_red_or_below": "red book (red or below), share of the latest book",
    "share_red": "red band, share of the latest book", "share_critical": "below red, share of the latest book",
    "arr_share_red_or_below": "red book, share of ARR", "red_churn_rate": "churn rate of red snapshots",
    "base_churn_rate": "churn rate of all snapshots", "red_multiple": "red churn as a multiple of the base",
    "save_rate": "save rate", "lead_time_median_days": "warning time before churn (median days)",
    "share_churners_below_green_60_90": "churners below green 60–90 days before renewal",
    "missed_churn_arr": "churned ARR that was green", "missed_churn_share": "share of churned ARR that was green",
    # logit coefficients
    "coef": "coefficient", "se": "standard error", "pvalue": "p-value", "odds_ratio_10": "odds ratio per 10 points",
    "dimension": "dimension", "weight": "weight",
}

METHOD_LABELS: dict[str, str] = {
    "current": "current weights",
    "equal": "equal weights",
    "logit": "logit-derived weights",
    "simplex": "simplex weights (fitted)",
    "ceiling": "gradient boosting (ceiling)",
    "logit_free": "logistic regression, free",
    "learned": "simplex, learned sub-scores",
    "additive": "gradient boosting, additive",
}
"""The fitting methods of the leaderboard, in words (row order)."""

# what each statistic means; key → (term, text). Labels link to these by :func:`glossary_key`.
GLOSSARY: dict[str, tuple[str, str]] = {
    "auc": ("AUC", "The chance that a randomly chosen renewing account scores higher than a randomly chosen "
            "churning one. 0.5 is a coin toss, 0.7 is useful, 0.8 and above is strong. The interval is a "
            "95 % DeLong interval."),
    "spread": ("Spread", "Renewal rate of the top band minus that of the red band, in percentage points. "
               "The larger, the better the bands tell renewals from churn; its interval resamples whole "
               "accounts (an account's snapshots are not independent)."),
    "renewal_rate": ("Renewal rate", "Share of decided snapshots in a band whose account renewed, with a "
                     "95 % Wilson interval."),
    "log_loss": ("Log-loss per row", "How surprised the calibrated renewal probability is by what happened, "
                 "averaged over snapshots; lower is better. A gain per row times the number of held-out "
                 "snapshots is the total gain in log-likelihood: a gain of 0.0008 per row over 2,000 snapshots "
                 "is 1.6 in all, about what calling three or four renewals at 80 % instead of 50 % adds "
                 "(ln(0.8 / 0.5) ≈ 0.47 each). Small gains change little in practice: read them with "
                 "the AUC and the spread, which say whether the ranking of accounts changes."),
    "brier": ("Brier score", "Mean squared gap between the predicted renewal probability and the outcome "
              "(0 perfect; a constant guess of the base rate scores about base × (1 − base)). Lower is better."),
    "ece": ("Calibration error (ECE)", "Average gap between predicted and observed renewal rates over ten "
            "equal-size groups of accounts: 0.01 means predictions are off by about one percentage point."),
    "psi": ("PSI / CSI", "Population stability index: how far the distribution of the score (PSI) or of one "
            "dimension (CSI) has moved from the reference. Below 0.10 stable, 0.10–0.25 watch, above 0.25 a "
            "real shift. A PSI of 1.75 means most accounts now sit in different parts of the range than "
            "before: the input changed, not just noise."),
    "ks": ("KS distance", "Largest gap between two cumulative distributions (0 identical, 1 disjoint)."),
    "wasserstein": ("Average move", "How many score points, on average, the distribution moved between the "
                    "reference and the new window."),
    "red_book": ("Red book", "The accounts in the red band or any band below it. Counted two ways, each "
                 "labelled: the share of accounts red at their latest snapshot (each account once), and the "
                 "share of snapshots red (an account counts once per quarter it was scored)."),
    "accounts": ("Accounts and snapshots", "An account is a customer; a snapshot is one quarterly score of "
                 "one account. Band tables count snapshots; the red book and the migration count accounts."),
    "save_rate": ("Save rate", "Of red snapshots followed by another look within 90 days, the share back "
                  "above red by then (guideline: above 50 %)."),
    "expected_churn": ("Expected churned ARR", "Sum over accounts of ARR × (1 − calibrated renewal probability) "
                       "at their latest snapshot; the interval adds the chance variation of which accounts "
                       "churn (each renewal an independent coin with its own probability)."),
    "odds_ratio": ("Odds ratio per 10 points", "How the odds of renewing multiply when a dimension rises by "
                   "10 points with the others held fixed (1.0 no effect, above 1 healthier)."),
    "drift_verdict": ("Drift verdict", "ok: nothing moved beyond sampling noise; watch: something moved, look "
                      "again next quarter; recalibrate: the inputs or the score's power changed enough to refit."),
}

_GLOSSARY_OF = {"auc": "auc", "spread": "spread", "renewal_rate": "renewal_rate", "log_loss": "log_loss",
                "brier": "brier", "psi": "psi", "ks": "ks", "wasserstein": "wasserstein", "save_rate": "save_rate",
                "ece": "ece", "odds_ratio_10": "odds_ratio"}

_SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def snake_case(text: str) -> list[str]:
    """The snake_case words (``auc_low``, ``missed_churn_arr``) in ``text``; what no header may show."""
    return _SNAKE.findall(text)


def label(field: str) -> str:
    """The header in words of a result field; unknown fields read with spaces for underscores."""
    if field in LABELS:
        return LABELS[field]
    for suffix, words in (("_ci_low", ", 95 % interval low"), ("_ci_high", ", 95 % interval high"),
                          ("_low", ", 95 % interval low"), ("_high", ", 95 % interval high")):
        if field.endswith(suffix) and field[: -len(suffix)] in LABELS:
            return LABELS[field[: -len(suffix)]] + words
    if field.startswith("rate_"):
        return f"{field[5:].replace('_ci_', ' interval ').replace('_', ' ')} renewal rate"
    return field.replace("_", " ")


def glossary_key(field: str) -> str | None:
    """The :data:`GLOSSARY` entry a field links to (``auc_low`` → ``auc``), or ``None``."""
    base = re.sub(r"_(ci_)?(low|high)$", "", field)
    return _GLOSSARY_OF.get(base)


def is_missing(x: Any) -> bool:
    """``None`` or a non-finite float."""
    if x is None:
        return True
    try:
        return not math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def pct(x: float | None, *, digits: int = 1, signed: bool = False) -> str:
    """A share as a percentage (``0.123`` → ``12.3 %``); missing → ``n/a``."""
    if is_missing(x):
        return MISSING
    return f"{100 * float(x):{'+' if signed else ''}.{digits}f} %"


def points(x: float | None, *, digits: int = 1) -> str:
    """A difference of two shares in percentage points, signed (``0.423`` → ``+42.3 pts``)."""
    return MISSING if is_missing(x) else f"{100 * float(x):+.{digits}f} pts"


def money(x: float | None) -> str:
    """An amount of ARR with thousands separators and no cents (``9925457.16`` → ``$9,925,457``)."""
    if is_missing(x):
        return MISSING
    v = float(x)
    return f"{'-' if v < 0 else ''}{CURRENCY}{abs(v):,.0f}"


def count(n: float | None) -> str:
    """A count with thousands separators."""
    return MISSING if is_missing(n) else f"{int(round(float(n))):,}"


def number(x: float | None, *, digits: int = 3, signed: bool = False) -> str:
    """A plain number with ``digits`` decimals; missing → ``n/a``."""
    return MISSING if is_missing(x) else f"{float(x):{'+' if signed else ''},.{digits}f}"


def pvalue(p: float | None) -> str:
    """A p-value for people: ``< 0.001`` below it, else 2 significant digits; missing → ``n/a``."""
    if is_missing(p):
        return MISSING
    return "< 0.001" if float(p) < 0.001 else f"{float(p):.2g}"


def interval(lo: float | None, hi: float | None, fmt: Any = number, **kw: Any) -> str:
    """Both ends in the same format, the unit said once: ``97.1–97.8 %``, ``+39.8 to +44.8 pts``,
    ``0.815–0.837``, ``$530,005 – $3,298,743``; missing when either end is."""
    if is_missing(lo) or is_missing(hi):
        return MISSING
    a, b = fmt(lo, **kw), fmt(hi, **kw)
    for unit in (" %", " pts"):
        if a.endswith(unit) and b.endswith(unit):
            a = a[: -len(unit)]
            break
    if a.startswith(("+", "-", "$")) or b.startswith("-"):
        return f"{a} to {b}" if not a.startswith("$") else f"{a} – {b}"
    return f"{a}–{b}"


def not_enough(*, needs: int, what: str = "churned accounts", have: int | None = None) -> str:
    """Why a figure is missing, in words: ``not enough data: needs 10 churned accounts (has 3)``."""
    return f"not enough data: needs {needs:,} {what}" + ("" if have is None else f" (has {have:,})")


_PERCENT_FIELDS = re.compile(r"(^|_)(rate|share|spread)(_|$)|^rate_|^save_rate")
_MONEY_FIELDS = re.compile(r"(^|_)arr($|_low|_high)")
_COUNT_FIELDS = {"n", "n_accounts", "renewed", "n_known", "rows", "accounts", "snapshots"}


def value(field: str, x: Any, *, formats: Mapping[str, Any] | None = None) -> str:
    """A cell of field ``field`` formatted for people: percentages, money, counts or 3 decimals.

    ``formats`` maps a field to a formatter that wins over the rules (for a table that knows better).
    """
    if formats and field in formats:
        return formats[field](x)
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, str):
        return x
    if is_missing(x):
        return MISSING
    if field in _COUNT_FIELDS or (isinstance(x, int) and not _PERCENT_FIELDS.search(field)):
        return count(x)
    if _MONEY_FIELDS.search(field) and "share" not in field and "rate" not in field:
        return money(x)
    if _PERCENT_FIELDS.search(field) and "multiple" not in field:
        return pct(x)
    if field.endswith("_days"):
        return f"{float(x):,.0f} days"
    return number(x)


def text_table(header: list[str], rows: list[list[str]], *, indent: str = "") -> str:
    """A plain-text table for the terminal: the first column left-aligned, the others right-aligned."""
    cells = [header, *rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = []
    for r in cells:
        parts = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]
        lines.append(indent + "  ".join(parts).rstrip())
    return "\n".join(lines)


def glossary_for(text: str) -> str | None:
    """The :data:`GLOSSARY` entry a header in words links to (``"AUC, 95 % interval"`` → ``auc``), or ``None``."""
    low = text.lower()
    for key, (term, _) in GLOSSARY.items():
        t = term.lower()
        if low == t or low.startswith(t + ",") or low.startswith(t + " ") or low.startswith(t + " ("):
            return key
    return None
