"""Red accounts and CSM judgment: the figures a CS leader reviews every quarter (issue 4, seeds).

:func:`red_book` measures the red book — share of the book in red (and critical) against the
under-10 % guideline, churn of red accounts and its multiple of the base churn rate, the save rate
(red accounts back to amber or green within 90 days), lead time before churn and missed churn.
:func:`csm_judgment` asks whether a CSM's red flag (``csm_red``) adds information beyond the score.

"Red" means the band named red **and every band below it** (critical). Both functions are called
by :func:`calibrate.validation.separation.validate_classes`; they are public for notebooks.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from calibrate._html import ResultHtml

__all__ = ["RED_SHARE_GUIDELINE", "SAVE_RATE_GUIDELINE", "RedBook", "CsmJudgment", "red_book", "red_book_shares",
           "csm_judgment"]

RED_SHARE_GUIDELINE = 0.10  # seeds: "less than 10 % of the book in red at any time"
SAVE_RATE_GUIDELINE = 0.50  # seeds: "save rates above 50 %"
_DAY = np.timedelta64(1, "D")


def _f(x: Any) -> float | None:
    """JSON-safe float: ``None`` for NaN/None."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


@dataclass(frozen=True)
class RedBook(ResultHtml):
    """Red-account metrics of one book (see the module docstring for "red").

    Attributes
    ----------
    red_bands : tuple of str
        The bands counted as red (the red band and those below it).
    book_date : str or None
        The snapshot date the share of book is measured at (the latest), ``None`` without dates.
    share_red, share_critical, share_red_or_below, arr_share_red_or_below : float
        Of the accounts in the book at ``book_date`` (all rows without dates).
    red_churn_rate, base_churn_rate : float
        Churn rate of decided rows that were red, and of all decided rows.
    red_multiple, red_multiple_ci : float, tuple
        ``red_churn_rate / base_churn_rate`` with an account-level bootstrap interval.
    save_rate : float or None
        Of the red snapshots followed by an observation within ``save_window_days`` (+ grace), the
        share back above red in that window (a churn in the window counts as not saved).
        ``None`` without snapshot history (``notes`` says why).
    lead_time_median_days : float or None
        For churn events, days from the first red snapshot (within ``lookback_days``) to the renewal.
    share_churners_below_green_60_90 : float or None
        Of the churn events with a snapshot 60–90 days before renewal, the share below the top band then.
    missed_churn_arr, missed_churn_share : float or None
        Churned ARR (rows without ARR count 1) that was in the top band at the last snapshot before
        renewal, and its share of all churned ARR.
    accounts_red, n_accounts, snapshots_red, n_snapshots : int
        The red book as :func:`red_book_shares` counts it: accounts red at their latest snapshot (each
        account once) and snapshots red (every scored row).
    """

    red_bands: tuple[str, ...]
    book_date: str | None
    n_book: int
    share_red: float
    share_critical: float
    share_red_or_below: float
    arr_share_red_or_below: float | None
    red_n: int
    red_churn_rate: float | None
    base_churn_rate: float | None
    red_multiple: float | None
    red_multiple_ci: tuple[float | None, float | None]
    save_rate: float | None = None
    save_n: int = 0
    save_unobserved: int = 0
    churn_events: int = 0
    lead_time_median_days: float | None = None
    lead_time_n: int = 0
    share_churners_below_green_60_90: float | None = None
    early_n: int = 0
    missed_churn_arr: float | None = None
    missed_churn_share: float | None = None
    missed_churn_n: int = 0
    save_window_days: int = 90
    accounts_red: int = 0
    n_accounts: int = 0
    snapshots_red: int = 0
    n_snapshots: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def share_accounts_red(self) -> float | None:
        """Share of accounts red (or below) at their latest snapshot."""
        return self.accounts_red / self.n_accounts if self.n_accounts else None

    @property
    def share_snapshots_red(self) -> float | None:
        """Share of snapshots red (or below)."""
        return self.snapshots_red / self.n_snapshots if self.n_snapshots else None

    @property
    def within_guideline(self) -> bool:
        """Red (and critical) hold less than 10 % of the book."""
        return self.share_red_or_below < RED_SHARE_GUIDELINE

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe figures."""
        d = {k: (_f(v) if isinstance(v, float) else v) for k, v in asdict(self).items()}
        d["red_bands"] = list(self.red_bands)
        d["red_multiple_ci"] = [_f(v) for v in self.red_multiple_ci]
        d["notes"] = list(self.notes)
        d["within_guideline"] = self.within_guideline
        d["guideline_red_share"] = RED_SHARE_GUIDELINE
        d["guideline_save_rate"] = SAVE_RATE_GUIDELINE
        return d

    def to_frame(self) -> pd.DataFrame:
        """One row per metric: ``metric``, ``value``."""
        d = self.to_dict()
        keys = ["share_red_or_below", "share_red", "share_critical", "arr_share_red_or_below", "red_churn_rate",
                "base_churn_rate", "red_multiple", "save_rate", "lead_time_median_days",
                "share_churners_below_green_60_90", "missed_churn_arr", "missed_churn_share"]
        return pd.DataFrame({"metric": keys, "value": [d[k] for k in keys]})

    def summary(self) -> str:
        """The red book in a few lines."""
        from calibrate._labels import pct

        lo, hi = self.red_multiple_ci
        lines = [
            f"red book ({' + '.join(self.red_bands)}): {pct(self.share_accounts_red)} of {self.n_accounts:,} accounts "
            f"at their latest snapshot; {pct(self.share_snapshots_red)} of {self.n_snapshots:,} snapshots",
            f"  in the book{' on ' + self.book_date if self.book_date else ''}: {pct(self.share_red_or_below)} of "
            f"{self.n_book:,} accounts ({'within' if self.within_guideline else 'ABOVE'} the < 10 % guideline), "
            f"{pct(self.arr_share_red_or_below)} of ARR",
            f"red snapshots churn {pct(self.red_churn_rate)} vs {pct(self.base_churn_rate)} overall: "
            + ("n/a" if self.red_multiple is None else f"{self.red_multiple:.2f} times")
            + ("" if lo is None else f" (95 % interval {lo:.2f}–{hi:.2f})"),
            f"save rate ({self.save_window_days} days): {pct(self.save_rate)} of {self.save_n:,} red snapshots "
            f"(guideline > 50 %); warning time before churn, median "
            + ("n/a" if self.lead_time_median_days is None else f"{self.lead_time_median_days:.0f} days")
            + f"; churners below green 60–90 days out: {pct(self.share_churners_below_green_60_90)}",
            "missed churn (green at the last snapshot): "
            + ("n/a" if self.missed_churn_arr is None else
               f"${self.missed_churn_arr:,.0f} ARR = {pct(self.missed_churn_share)} of churned ARR"),
        ]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        m = "n/a" if self.red_multiple is None else f"{self.red_multiple:.2f}x"
        return f"<RedBook {self.share_red_or_below:.1%} red, red churn {m} base>"


def red_book_shares(frame: pd.DataFrame, index: np.ndarray, red: int, *,
                    groups: np.ndarray | None = None) -> dict[str, int]:
    """The red book, one definition for validation, diff and the report's migration section.

    Parameters
    ----------
    frame : DataFrame
        Scored rows with ``account_id`` (and ``snapshot_date`` when there is history).
    index : ndarray of int
        Band of each row, 0 = lowest.
    red : int
        Index of the red band; it and every band below it are the red book.
    groups : ndarray of int, optional
        ``pd.factorize(frame["account_id"])[0]`` when the caller has it.

    Returns
    -------
    dict
        ``accounts_red`` of ``n_accounts`` (each account at its latest snapshot) and ``snapshots_red``
        of ``n_snapshots`` (every row).
    """
    acc = pd.factorize(frame["account_id"])[0] if groups is None else np.asarray(groups)
    is_red = np.asarray(index) <= red
    n = len(acc)
    if "snapshot_date" in frame and n:
        order = np.lexsort((frame["snapshot_date"].to_numpy(), acc))
    else:
        order = np.lexsort((np.arange(n), acc))
    last = order[np.r_[acc[order][1:] != acc[order][:-1], True]] if n else order
    return {"accounts_red": int(is_red[last].sum()), "n_accounts": int(last.size),
            "snapshots_red": int(is_red.sum()), "n_snapshots": int(n)}


def red_book(
    frame: pd.DataFrame,
    index: np.ndarray,
    band_names: list[str],
    *,
    red_band: str,
    decided: np.ndarray,
    n_boot: int = 2000,
    seed: int = 0,
    save_window_days: int = 90,
    grace_days: int = 3,
    lookback_days: int = 365,
    groups: np.ndarray | None = None,
) -> RedBook:
    """Red-account metrics of a scored book.

    Parameters
    ----------
    frame : DataFrame
        All rows (decided or not) with ``account_id``, ``renewed`` and, when present,
        ``snapshot_date``, ``renewal_date``, ``arr``.
    index : ndarray of int
        Band of each row, 0 = lowest.
    band_names : list of str
        Lowest band first.
    red_band : str
    decided : ndarray of bool
        Rows whose outcome is known and mature (the others count for the share of book only).
    n_boot, seed : int
        Account-level bootstrap of the red multiple.
    save_window_days, grace_days : int
        A red snapshot is saved when the account is above red at a snapshot within
        ``save_window_days + grace_days`` (quarterly snapshots land 90–92 days apart).
    lookback_days : int
        How far before a churned renewal the lead time looks for the first red snapshot.
    groups : ndarray of int, optional
        ``pd.factorize(frame["account_id"])[0]`` when the caller has it (saves sorting strings).

    Returns
    -------
    RedBook
    """
    from calibrate import _stats

    red = band_names.index(red_band)
    top = len(band_names) - 1
    acc = pd.factorize(frame["account_id"])[0] if groups is None else np.asarray(groups)
    is_red = index <= red
    notes: list[str] = []
    has_dates = "snapshot_date" in frame
    arr = frame["arr"].to_numpy(dtype=float) if "arr" in frame else None

    # share of the book: the latest snapshot (the book as it stands today)
    if has_dates:
        dates = frame["snapshot_date"].to_numpy()
        book = dates == dates.max()
        book_date = pd.Timestamp(dates.max()).date().isoformat()
    else:
        book, book_date = np.ones(len(frame), dtype=bool), None
        notes.append("no snapshot_date: share of book measured over all rows")
    n_book = int(book.sum())
    share = lambda m: float(m[book].mean()) if n_book else math.nan  # noqa: E731
    arr_share = None
    if arr is not None and arr[book].sum() > 0:
        arr_share = float(arr[book & is_red].sum() / arr[book].sum())

    # churn of red accounts and its multiple of the base rate (decided rows)
    y = frame["renewed"].to_numpy(dtype=float)
    churn = decided & (y == 0)
    n_dec, n_red = int(decided.sum()), int((decided & is_red).sum())
    base = churn.sum() / n_dec if n_dec else math.nan
    red_rate = (churn & is_red).sum() / n_red if n_red else math.nan
    multiple = red_rate / base if base > 0 else math.nan
    ci: tuple[float | None, float | None] = (None, None)
    if n_red and base > 0:
        cells = np.where(decided, np.where(is_red, 0, 2) + (y == 1), -1).astype(np.intp)
        c = _stats.bootstrap_cell_counts(acc, cells, 4, n_boot=n_boot, seed=seed)
        c = c.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = (c[:, 0] / (c[:, 0] + c[:, 1])) / ((c[:, 0] + c[:, 2]) / c.sum(axis=1))
        m = m[np.isfinite(m)]
        if m.size:
            ci = (_f(np.quantile(m, 0.025)), _f(np.quantile(m, 0.975)))

    out = dict(
        red_bands=tuple(band_names[: red + 1]), book_date=book_date, n_book=n_book,
        share_red=share(index == red), share_critical=share(index < red), share_red_or_below=share(is_red),
        arr_share_red_or_below=arr_share, red_n=n_red, red_churn_rate=_f(red_rate), base_churn_rate=_f(base),
        red_multiple=_f(multiple), red_multiple_ci=ci, save_window_days=save_window_days,
        **red_book_shares(frame, index, red, groups=acc),
    )
    if not has_dates or np.bincount(acc).max() < 2:
        notes.append("no snapshot history (one snapshot per account): save rate needs several snapshots per account")
    else:
        out |= _save_rate(frame, acc, index, red, y, decided, save_window_days + grace_days)
    if has_dates and "renewal_date" in frame:
        out |= _churn_timing(frame, acc, index, red, top, churn, arr, lookback_days)
    else:
        notes.append("no snapshot_date/renewal_date: lead time and missed churn need both dates")
    return RedBook(**out, notes=tuple(notes))


def _save_rate(frame: pd.DataFrame, acc: np.ndarray, index: np.ndarray, red: int, y: np.ndarray,
               decided: np.ndarray, window: int) -> dict[str, Any]:
    """Red snapshots back above red within ``window`` days (a churn inside the window is a loss)."""
    d = pd.DataFrame({"a": acc, "t": frame["snapshot_date"].to_numpy(),
                      "red": index <= red, "churn": decided & (y == 0)})
    d["r"] = frame["renewal_date"].to_numpy() if "renewal_date" in frame else pd.NaT
    d = d.sort_values(["a", "t"], kind="stable")
    g = d.groupby("a", sort=False)
    nxt = g["t"].shift(-1)
    healthy = d["t"].where(~d["red"])
    next_healthy = healthy.groupby(d["a"], sort=False).shift(-1)
    next_healthy = next_healthy.groupby(d["a"], sort=False).bfill()
    limit = d["t"] + pd.Timedelta(days=window)
    saved = d["red"] & (next_healthy <= limit)
    lost = d["red"] & d["churn"] & (d["r"] <= limit) & ~saved
    observed = saved | lost | (d["red"] & (nxt <= limit))
    n = int(observed.sum())
    return {"save_rate": _f(saved.sum() / n) if n else None, "save_n": n,
            "save_unobserved": int((d["red"] & ~observed).sum())}


def _churn_timing(frame: pd.DataFrame, acc: np.ndarray, index: np.ndarray, red: int, top: int,
                  churn: np.ndarray, arr: np.ndarray | None, lookback_days: int) -> dict[str, Any]:
    """Lead time, below-green 60–90 days out, and missed churn, per churn event (account, renewal)."""
    ev = pd.DataFrame({"a": acc[churn], "r": frame["renewal_date"].to_numpy()[churn],
                       "arr": (arr[churn] if arr is not None else np.ones(int(churn.sum())))})
    ev = ev.dropna(subset=["r"]).drop_duplicates(["a", "r"]).reset_index(drop=True)
    ev["e"] = np.arange(len(ev))
    if ev.empty:
        return {"churn_events": 0}
    keep = np.zeros(int(acc.max()) + 1, dtype=bool)
    keep[ev["a"].to_numpy()] = True
    keep = keep[acc]
    snaps = pd.DataFrame({"a": acc[keep], "t": frame["snapshot_date"].to_numpy()[keep], "band": index[keep]})
    pairs = ev.merge(snaps, on="a")
    days = (pairs["r"] - pairs["t"]).to_numpy() / _DAY
    pairs = pairs[(days > 0) & (days <= lookback_days)].assign(days=days[(days > 0) & (days <= lookback_days)])
    first_red = pairs[pairs["band"] <= red].groupby("e")["days"].max()
    window = pairs[(pairs["days"] >= 60) & (pairs["days"] <= 90)]
    below = window.groupby("e")["band"].min() < top
    last = pairs.loc[pairs.groupby("e")["days"].idxmin()]
    missed = last[last["band"] == top]
    total_arr = float(ev["arr"].sum())
    missed_arr = float(missed["arr"].sum())
    return {
        "churn_events": len(ev),
        "lead_time_median_days": _f(first_red.median()) if len(first_red) else None,
        "lead_time_n": len(first_red),
        "share_churners_below_green_60_90": _f(below.mean()) if len(below) else None,
        "early_n": len(below),
        "missed_churn_arr": missed_arr,
        "missed_churn_share": _f(missed_arr / total_arr) if total_arr > 0 else None,
        "missed_churn_n": len(missed),
    }


@dataclass(frozen=True)
class CsmJudgment(ResultHtml):
    """Does the CSM's red flag add information beyond the score?

    Attributes
    ----------
    by_band : DataFrame
        Per band: ``n_flagged``, ``rate_flagged``, ``n_unflagged``, ``rate_unflagged``.
    lr_stat, pvalue : float
        Likelihood-ratio test of ``csm_red`` as an extra term in ``logit P(renew) = a + b·score/10``
        (chi-square, 1 df).
    odds_ratio : float
        ``exp`` of the flag's coefficient (below 1: flagged accounts renew less at equal score).
    """

    by_band: pd.DataFrame
    lr_stat: float
    pvalue: float
    odds_ratio: float
    n_flagged: int
    n: int

    @property
    def adds_information(self) -> bool:
        """The flag is significant at 5 %."""
        return bool(self.pvalue < 0.05)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe figures."""
        rows = [{k: (_f(v) if isinstance(v, float) else v) for k, v in r.items()}
                for r in self.by_band.to_dict(orient="records")]
        return {"by_band": rows, "lr_stat": _f(self.lr_stat), "pvalue": _f(self.pvalue),
                "odds_ratio": _f(self.odds_ratio), "n_flagged": self.n_flagged, "n": self.n,
                "adds_information": self.adds_information}

    def to_frame(self) -> pd.DataFrame:
        """The per-band table."""
        return self.by_band.copy()

    def summary(self) -> str:
        """The per-band table and the test in a few lines."""
        lines = [f"CSM red flag: {self.n_flagged:,} of {self.n:,} rows flagged; LR test vs score alone "
                 f"chi2={self.lr_stat:.2f}, p={self.pvalue:.3g}, odds ratio {self.odds_ratio:.2f} "
                 f"({'adds information' if self.adds_information else 'adds nothing detectable'})"]
        for r in self.by_band.itertuples():
            f = "n/a" if np.isnan(r.rate_flagged) else f"{r.rate_flagged:.1%}"
            u = "n/a" if np.isnan(r.rate_unflagged) else f"{r.rate_unflagged:.1%}"
            lines.append(f"  {r.band:<10} flagged {f} (n={r.n_flagged:,})  unflagged {u} (n={r.n_unflagged:,})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<CsmJudgment LR p={self.pvalue:.3g}, odds ratio {self.odds_ratio:.2f}>"


def _loglik(xt: np.ndarray, y: np.ndarray, beta: np.ndarray) -> tuple[float, np.ndarray]:
    """Maximum log-likelihood of a logistic regression by Newton (IRLS) from ``beta`` (a warm start).

    ``xt`` is the design matrix transposed (one contiguous row per term): every pass is a
    matrix-vector product or a small (terms × terms) product.
    """
    from scipy.special import expit

    ll_old = -np.inf
    for _ in range(50):
        eta = beta @ xt
        ll = float(np.dot(y, eta) - np.logaddexp(0.0, eta).sum())
        if abs(ll - ll_old) < 1e-10 * max(1.0, abs(ll)):
            break
        mu = expit(eta)
        beta = beta + np.linalg.solve((xt * (mu * (1.0 - mu))) @ xt.T, xt @ (y - mu))
        ll_old = ll
    return ll, beta


def csm_judgment(y: np.ndarray, score: np.ndarray, flag: np.ndarray, index: np.ndarray,
                 band_names: list[str]) -> CsmJudgment:
    """Renewal of flagged vs unflagged accounts per band, and a likelihood-ratio test of the flag.

    Parameters
    ----------
    y : ndarray of 0/1
        Decided outcomes.
    score : ndarray
        Health score of the same rows.
    flag : ndarray of 0/1
        The ``csm_red`` column.
    index : ndarray of int
        Band of each row.
    band_names : list of str

    Returns
    -------
    CsmJudgment
    """
    from scipy import stats

    y = np.asarray(y, dtype=float)
    flag = np.asarray(flag, dtype=float)
    k = len(band_names)
    nf = np.bincount(index, weights=flag, minlength=k)
    kf = np.bincount(index, weights=flag * y, minlength=k)
    nu = np.bincount(index, weights=1 - flag, minlength=k)
    ku = np.bincount(index, weights=(1 - flag) * y, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        table = pd.DataFrame({"band": band_names, "n_flagged": nf.astype(int), "rate_flagged": kf / nf,
                              "n_unflagged": nu.astype(int), "rate_unflagged": ku / nu})
    ones = np.ones(len(y))
    s = np.asarray(score, dtype=float) / 10.0
    if flag.min() == flag.max() or y.min() == y.max():
        return CsmJudgment(table, math.nan, math.nan, math.nan, int(flag.sum()), len(y))
    xt = np.vstack([ones, s, flag])
    ll0, b0 = _loglik(xt[:2], y, np.zeros(2))
    ll1, beta = _loglik(xt, y, np.append(b0, 0.0))
    lr = max(2.0 * (ll1 - ll0), 0.0)
    return CsmJudgment(table, lr, float(stats.chi2.sf(lr, 1)), float(np.exp(beta[2])), int(flag.sum()), len(y))
