"""The sections a CS meeting asks for, in words: the quarter-by-quarter trend, the churned ARR to expect,
the red accounts to act on (row-level, off by default), drift, the adopt-or-keep test, the leaderboard
and the red book.

:mod:`calibrate.report.html` registers these builders into :data:`calibrate.report.base.SECTIONS`, in order.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from calibrate import _labels as L
from calibrate.report.base import Section, img_tag, scored, table_html

if TYPE_CHECKING:
    from calibrate.data.load import Accounts
    from calibrate.pipeline import RunResult

__all__ = ["expected_churned_arr", "red_accounts", "OWNER_COLUMNS", "MAX_ACCOUNTS", "quarters_section",
           "expected_churn_section", "red_accounts_section", "drift_section", "champion_section", "leaderboard_section",
           "red_metrics_section"]

OWNER_COLUMNS = ("owner", "account_owner", "csm", "csm_name", "csm_owner")
"""Columns read as an account's owner, first found wins."""

MAX_ACCOUNTS = 25
"""Rows of the red-accounts table (largest ARR first); the rest are counted."""

Z95 = 1.959963984540054


def _in(text: str) -> str:
    return f"<p>{text}</p>"


def _latest(frame: pd.DataFrame) -> np.ndarray:
    """Rows of the book at its latest snapshot date (all rows without dates)."""
    if "snapshot_date" not in frame:
        return np.ones(len(frame), dtype=bool)
    dates = frame["snapshot_date"]
    return (dates == dates.max()).to_numpy()


def _rate_cell(band: Any) -> str:
    """A renewal rate and its interval in a narrow cell: ``97 % (96–98)``."""
    if band.renewal_rate is None:
        return "no snapshots"
    ends = L.interval(None if band.ci_low is None else 100 * band.ci_low,
                      None if band.ci_high is None else 100 * band.ci_high, L.number, digits=0)
    return f"{L.pct(band.renewal_rate, digits=0)} ({ends})"


# -- per-quarter trend ------------------------------------------------------------------------------
def quarters_section(result: RunResult, data: Accounts) -> Section | None:
    """AUC, spread and each band's renewal rate per snapshot quarter, with their intervals (plot and table)."""
    if "snapshot_date" not in data.frame:
        return None
    from calibrate.plots import new_axes, plot_validation_trend
    from calibrate.validation.groups import validate_groups

    v = result.validation  # the book-wide figures are the run's; only the quarters are validated here
    groups = dict(validate_groups(data, result.config, by="period", n_boot=min(v.n_boot, 500), seed=v.seed))
    if len(groups) < 2:
        return None
    names = [b.name for b in reversed(result.config.bands)]
    header = ["quarter", "snapshots", "accounts", "AUC (95 % interval)", "spread (95 % interval)",
              *(f"{n}: renewal rate (95 % interval)" for n in names)]
    rows = []
    for q, g in groups.items():
        rates = {b.name: b for b in g.bands}
        cells = [_rate_cell(rates[n]) for n in names]
        auc = (f"{L.number(g.auc, digits=3)} ({L.interval(*g.auc_ci)})" if not L.is_missing(g.auc)
               else L.not_enough(needs=1, what="churned and 1 renewed snapshot"))
        rows.append([q, L.count(g.n), L.count(g.n_accounts), auc,
                     f"{L.points(g.spread)} ({L.interval(*g.spread_ci, L.points)})", *cells])
    ax = plot_validation_trend(groups, ax=new_axes((7.0, 3.6)))
    return Section("Quarter by quarter: does the score keep separating renewals?",
                   _in("Each quarter's snapshots scored with the new config: AUC with its 95 % DeLong interval, spread "
                       "and band renewal rates with 95 % intervals (spread: whole accounts resampled; rates: Wilson).")
                   + img_tag(ax, "AUC and spread per quarter") + table_html(header, rows))


# -- expected churned ARR ---------------------------------------------------------------------------
def expected_churned_arr(frame: pd.DataFrame, p_renew: np.ndarray, band_index: np.ndarray,
                         band_names: list[str], *, confidence: float = 0.95) -> pd.DataFrame:
    """Churned ARR to expect per band from calibrated renewal probabilities, with an interval.

    Each account renews independently with its own probability ``p``: the expected churned ARR is
    ``Σ arr·(1 − p)`` and its variance ``Σ arr²·p·(1 − p)`` (a sum of independent scaled Bernoullis);
    the interval is the normal one, clipped at 0.

    Parameters
    ----------
    frame : DataFrame
        One row per account of the cohort, with ``arr`` (missing ARR counts 0).
    p_renew, band_index : ndarray
        Calibrated renewal probability and band (0 = lowest) of each row.
    band_names : list of str
        Lowest band first.
    confidence : float, default 0.95
        Only 0.95 is supported (the report's intervals are all 95 %).

    Returns
    -------
    DataFrame
        One row per band (top band first) and a ``total`` row: ``band``, ``accounts``, ``arr``,
        ``expected_churned_arr``, ``ci_low``, ``ci_high``.
    """
    if confidence != 0.95:
        raise ValueError(f"confidence must be 0.95; got {confidence!r}.")
    arr = np.nan_to_num(frame["arr"].to_numpy(dtype=float)) if "arr" in frame else np.ones(len(frame))
    p = np.asarray(p_renew, dtype=float)
    idx = np.asarray(band_index)
    rows = []
    for k in [*reversed(range(len(band_names))), None]:
        m = (idx >= 0) if k is None else (idx == k)
        m = m & np.isfinite(p)
        mean = float((arr[m] * (1 - p[m])).sum())
        sd = float(np.sqrt((arr[m] ** 2 * p[m] * (1 - p[m])).sum()))
        rows.append({"band": "total" if k is None else band_names[k], "accounts": int(m.sum()),
                     "arr": float(arr[m].sum()), "expected_churned_arr": mean,
                     "ci_low": max(mean - Z95 * sd, 0.0), "ci_high": mean + Z95 * sd})
    return pd.DataFrame(rows)


def expected_churn_section(result: RunResult, data: Accounts) -> Section | None:
    """Churned ARR to expect by band for the accounts of the latest snapshot (their next renewal)."""
    s = scored(data, result.config)
    if s["p_renew"].isna().all():
        return None
    book = _latest(data.frame)
    cohort = data.frame.loc[book]
    t = expected_churned_arr(cohort, s["p_renew"].to_numpy()[book], s["band_index"].to_numpy()[book],
                             [b.name for b in result.config.bands])
    when = (f" on {pd.Timestamp(cohort['snapshot_date'].max()).date()}" if "snapshot_date" in cohort else "")
    total = t.iloc[-1]
    how = ", from the new config's calibrated renewal probabilities (<a href=\"#g-expected_churn\">how</a>)."
    if "arr" not in cohort:  # without ARR every account weighs 1: expected churns are accounts, never dollars
        def churns(v: float) -> str:
            return f"{v:,.0f}"

        rows = [[r.band, L.count(r.accounts), churns(r.expected_churned_arr), L.interval(r.ci_low, r.ci_high, churns)]
                for r in t.itertuples()]
        return Section(
            "Expected churns at the next renewal",
            _in(f"The {L.count(total['accounts'])} accounts in the book{html.escape(when)}, each at its next renewal: "
                f"<b>{churns(total['expected_churned_arr'])}</b> are expected to churn (95 % interval "
                f"{L.interval(total['ci_low'], total['ci_high'], churns)}){how} The data have no <code>arr</code> "
                "column: add one to see the churned ARR.")
            + table_html(["band", "accounts", "expected churns", "95 % interval"], rows))
    rows = [[r.band, L.count(r.accounts), L.money(r.arr), L.money(r.expected_churned_arr),
             L.interval(r.ci_low, r.ci_high, L.money)] for r in t.itertuples()]
    return Section(
        "Expected churned ARR at the next renewal",
        _in(f"The {L.count(total['accounts'])} accounts in the book{html.escape(when)}, each at its next renewal: "
            f"<b>{L.money(total['expected_churned_arr'])}</b> of {L.money(total['arr'])} ARR is expected to churn "
            f"(95 % interval {L.interval(total['ci_low'], total['ci_high'], L.money)}){how}")
        + table_html(["band", "accounts", "ARR", "expected churned ARR", "95 % interval"], rows))


# -- red accounts to act on (row-level) -------------------------------------------------------------
def red_accounts(data: Accounts, result: RunResult) -> tuple[pd.DataFrame, int]:
    """The accounts red (or below) at the latest snapshot, largest ARR first, with owner and top reason.

    The top reason is the dimension that costs the account the most score points against the book's
    average contribution of that dimension (``weight × healthy sub-score``).

    Returns
    -------
    (DataFrame, int)
        At most :data:`MAX_ACCOUNTS` rows (``account``, ``segment``, ``owner`` — empty without an owner
        column, :data:`OWNER_COLUMNS` —, ``band``, ``score``, ``arr``, ``top_reason``) and how many red
        accounts there are in all.
    """
    cfg = result.config
    latest = data.subset(_latest(data.frame))  # the book today: only its rows are scored with contributions
    s = scored(latest, cfg, contributions=True)
    frame = latest.frame
    red = [b.name for b in cfg.bands].index(cfg.red_band)
    contrib = s[[c for c in s.columns if c.startswith("contribution_")]]
    gap = contrib.mean() - contrib  # score points below the book's average, per dimension
    pick = (s["band_index"].to_numpy() <= red) & (s["band_index"].to_numpy() >= 0)
    owner_col = next((c for c in OWNER_COLUMNS if c in frame), None)
    out = pd.DataFrame({
        "account": frame.loc[pick, "account_id"].astype(str),
        "segment": frame.loc[pick, "segment"].astype(str) if "segment" in frame else "",
        "owner": frame.loc[pick, owner_col].astype(str) if owner_col else None,
        "band": [cfg.bands[i].name for i in s.loc[pick, "band_index"]],
        "score": s.loc[pick, "score"].to_numpy(),
        "arr": frame.loc[pick, "arr"].to_numpy(dtype=float) if "arr" in frame else np.nan,
        "top_reason": [f"{c.removeprefix('contribution_')} ({-g:+.0f})"
                       for c, g in zip(gap.loc[pick].idxmax(axis=1), gap.loc[pick].max(axis=1))],
    })
    out = out.sort_values(["arr", "account"], ascending=[False, True], na_position="last")
    return out.head(MAX_ACCOUNTS).reset_index(drop=True), len(out)


def red_accounts_section(result: RunResult, data: Accounts) -> Section | None:
    """The red accounts to act on: owner and top reason (only with ``include_accounts``)."""
    rows, n = red_accounts(data, result)
    if not n:
        return Section("Red accounts to act on", _in("No account is red at the latest snapshot."))
    owned = rows["owner"].notna().any()
    cells = [[r.account, r.segment, *([r.owner] if owned else []), r.band, L.number(r.score, digits=0), L.money(r.arr),
              r.top_reason] for r in rows.itertuples()]
    more = f" The {L.count(len(rows))} largest by ARR are listed; {L.count(n - len(rows))} more." if n > len(rows) else ""
    no_owner = "" if owned else f" The data have no owner column ({', '.join(OWNER_COLUMNS)}): add one to see who acts."
    header = ["account", "segment", *(["owner"] if owned else []), "band", "score", "ARR",
              "top reason (score points against the book average)"]
    return Section("Red accounts to act on",
                   _in(f"{L.count(n)} accounts are red or below at the latest snapshot.{more}{no_owner}")
                   + table_html(header, cells))


# -- drift ------------------------------------------------------------------------------------------
def drift_section(result: RunResult, data: Accounts) -> Section | None:
    """What moved since the reference, in words, with the PSI per variable."""
    d = result.drift
    if d is None:
        return None
    from calibrate.drift.words import finding_in_words
    from calibrate.plots import new_axes

    reasons = [f for f in d.findings if not f.passed]
    items = "".join(f"<li><b>{html.escape(f.level)}</b>: {html.escape(finding_in_words(f, d.population))}</li>"
                    for f in reasons) or "<li>nothing moved beyond sampling noise</li>"
    rows = []
    for r in d.population.itertuples():
        move = r.mean_new - r.mean_ref
        rows.append([r.name, L.number(r.psi, digits=2), L.number(r.threshold_watch, digits=2),
                     L.number(r.threshold_recalibrate, digits=2), L.number(r.mean_ref, digits=1),
                     L.number(r.mean_new, digits=1), f"{'down' if move < 0 else 'up'} {abs(move):.1f} points"])
    w = d.window
    return Section(
        "Drift since the reference",
        _in(f'<a href="#g-drift_verdict">Verdict</a>: <b>{html.escape(d.verdict)}</b>. New window {w["new_start"]} to '
            f"{w['new_end']} ({L.count(w['n_new'])} snapshots of {L.count(w['n_new_accounts'])} accounts) against the "
            f"reference {w['reference_start']} to {w['reference_end']}.")
        + f"<ul>{items}</ul>"
        + table_html(["variable", "PSI / CSI", "watch above", "recalibrate above", "mean then", "mean now", "change"],
                     rows)
        + img_tag(d.plot(ax=new_axes((7.0, 3.6))), "Population drift per variable"))


# -- adopt or keep ----------------------------------------------------------------------------------
def champion_section(result: RunResult, data: Accounts) -> Section | None:
    """The champion/challenger test on later data, in words."""
    c = result.champion
    if c is None:
        return None
    from calibrate.plots import new_axes

    g, a = c.log_loss_gain, c.auc_diff
    rows = [["log-loss per row, gain (current − new)", L.number(g[0], digits=4, signed=True),
             L.interval(g[1], g[2], L.number, digits=4, signed=True)],
            ["AUC, difference (new − current)", L.number(a[0], digits=4, signed=True),
             L.interval(a[1], a[2], L.number, digits=4, signed=True)]]
    why = "".join(f"<li>{html.escape(r)}</li>" for r in c.reasons)
    return Section(
        "Adopt or keep? Current vs new weights on later data",
        _in(f"Decision: <b>{html.escape(c.decision)}</b>, on {L.count(c.n_test)} held-out snapshots of "
            f"{L.count(c.n_accounts)} accounts (intervals resample whole accounts). The log-loss gain per row "
            f"adds up to {g[0] * c.n_test:+.1f} in log-likelihood over those snapshots "
            '(<a href="#g-log_loss">how to read it</a>).')
        + f"<ul>{why}</ul>" + table_html(["figure", "value", "95 % interval"], rows)
        + img_tag(c.plot(ax=new_axes((7.0, 3.2))), "Champion vs challenger differences"))


# -- methods leaderboard ----------------------------------------------------------------------------
def leaderboard_section(result: RunResult, data: Accounts) -> Section | None:
    """Every fitting method on the same held-out folds (out of time with snapshot dates, else grouped by account)."""
    b = result.leaderboard
    if b is None:
        return None
    from calibrate.plots import new_axes

    def cell(t: tuple[float, float, float], fmt: Any, **kw: Any) -> str:
        return f"{fmt(t[0], **kw)} ({L.interval(t[1], t[2], fmt, **kw)})"

    rows = [[L.METHOD_LABELS.get(m.method, m.method), cell(m.auc, L.number), cell(m.log_loss, L.number),
             cell(m.brier, L.number), cell(m.spread, L.points)] for m in b.methods]
    if b.has("additive"):  # issue 14: how much of the way to the best additive score the score goes
        gap = (f"The best any sum of sub-scores reaches here (the additive ceiling) is AUC "
               f"{L.number(b['additive'].auc[0], digits=3)}; the fitted score goes "
               f"{L.pct(b.share_of_additive('simplex'), digits=0)} of the way from chance to it, the same weights on "
               f"learned sub-scores {L.pct(b.share_of_additive('learned'), digits=0)}.")
        if max(b.share_of_additive("simplex"), b.share_of_additive("learned")) > 1:
            gap += " Above 100 %: on these held-out rows the score beats the ceiling's free shapes."
    else:
        gap = ("The rows that judge the sub-scores themselves (learned sub-scores, the additive ceiling) are not in "
               "this run: <code>calibrate run --learned-rows</code> or <code>calibrate compare</code> adds them.")
    timed = all(f.startswith("time:") for f in b.folds)
    split = "out-of-time split" if timed else f"{len(b.folds)} folds grouped by account"
    return Section(
        "Methods leaderboard",
        _in(f"Every fitting method on the same {split}: {L.count(b.n_test)} held-out snapshots of "
            f"{L.count(b.n_accounts)} accounts; 95 % intervals resample whole accounts.") + _in(gap)
        + table_html(["method", "AUC (95 % interval)", "log-loss per row (95 % interval)", "Brier score (95 % interval)",
                      "spread (95 % interval)"], rows)
        + img_tag(b.plot(ax=new_axes((7.0, 3.6))), "Methods leaderboard"))


# -- the red book -----------------------------------------------------------------------------------
def red_metrics_section(result: RunResult, data: Accounts) -> Section | None:
    """How well the red book catches the accounts that churn, every figure labelled."""
    rb = result.validation.red
    if rb is None:
        return None
    lo, hi = rb.red_multiple_ci
    bands = " + ".join(reversed(rb.red_bands))
    on = f" on {rb.book_date}" if rb.book_date else ""
    rows = [
        [f"accounts red ({bands}) at their latest snapshot",
         f"{L.pct(rb.share_accounts_red)} ({L.count(rb.accounts_red)} of {L.count(rb.n_accounts)})"],
        [f"snapshots red ({bands})", f"{L.pct(rb.share_snapshots_red)} ({L.count(rb.snapshots_red)} of "
                                     f"{L.count(rb.n_snapshots)})"],
        [f"accounts red in the book{on} (guideline: below 10 %)",
         f"{L.pct(rb.share_red_or_below)} of {L.count(rb.n_book)}"
         f" ({'within' if rb.within_guideline else 'above'} the guideline)"],
        [f"share of ARR red in the book{on}", L.pct(rb.arr_share_red_or_below)],
        ["churn rate of red snapshots vs all", f"{L.pct(rb.red_churn_rate)} vs {L.pct(rb.base_churn_rate)}"],
        ["red churn as a multiple of the base (95 % interval)",
         "n/a" if rb.red_multiple is None else f"{rb.red_multiple:.2f} times ({L.interval(lo, hi, L.number, digits=2)})"],
        [f"save rate: red snapshots back above red within {rb.save_window_days} days (guideline: above 50 %)",
         L.pct(rb.save_rate)],
        ["warning time before churn (median)",
         "n/a" if rb.lead_time_median_days is None else f"{rb.lead_time_median_days:.0f} days"],
        ["churners below green 60–90 days before renewal", L.pct(rb.share_churners_below_green_60_90)],
        ["churned ARR that was green at the last snapshot (missed churn)",
         f"{L.money(rb.missed_churn_arr)} ({L.pct(rb.missed_churn_share)} of churned ARR)"],
    ]
    notes = "".join(f'<p class="meta">{html.escape(n)}</p>' for n in rb.notes)
    return Section("The red book: does red catch churn?",
                   _in('How well the <a href="#g-red_book">red book</a> catches the accounts that churn.')
                   + table_html(["figure", "value"], rows) + notes)
