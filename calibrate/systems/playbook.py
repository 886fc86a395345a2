"""The red-account protocol (seed 000): the playbook list, red-account metrics and the post-mortem.

- :func:`red_playbook` — accounts that *entered* red (the config's red band or worse) since the
  previous snapshot, with their weakest branch and its owner, ARR first; plus the seed's red
  metrics: red volume (share of the book in red; healthy < 10 %) and save rate (red accounts at
  the previous snapshot that are back above red at this one; strong > 50 %), with Wilson intervals.
- :func:`post_mortem` — every churned account that was red when it churned: when it went red
  (start of its last red run), and for each warning flag (the answers a rule tree marks as
  ``warning``) whether it was present at the snapshot before it went red and how many days
  earlier that run of the flag began. The flags' presence is compared with the red episodes that
  did not end in churn (two-proportion test), so a flag that is everywhere does not look early.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from calibrate.config.model import WeightConfig
from calibrate.errors import DataError
from calibrate.systems.metric_tree import MetricTreeFit, _as_fit, red_or_worse, weakest
from calibrate.systems.rules import Check, RuleTree, check_lines, read_tree

__all__ = ["Playbook", "red_playbook", "PostMortem", "post_mortem", "warning_flags"]


def _dated(frame: pd.DataFrame) -> pd.DataFrame:
    if "snapshot_date" not in frame:
        raise DataError("the red-account playbook needs a snapshot_date column; map it in the data spec")
    return frame


@dataclass(frozen=True)
class Playbook:
    """Accounts that entered red since the previous snapshot, and the red-account metrics (seed 000)."""

    snapshot: str
    previous: str
    accounts: pd.DataFrame
    red_share: tuple[float, float, float]
    save_rate: tuple[float, float, float]
    n_red_previous: int

    @property
    def checks(self) -> tuple[Check, ...]:
        """The seed's benchmarks: red volume under 10 % of the book, save rate above 50 %."""
        return (Check("red_volume", bool(self.red_share[0] < 0.10), self.red_share[0], 0.10,
                      f"{self.red_share[0]:.1%} of the book is red (benchmark < 10%)"),
                Check("save_rate", bool(self.save_rate[0] > 0.50), self.save_rate[0], 0.50,
                      f"{self.save_rate[0]:.1%} of the red accounts at {self.previous} left red (benchmark > 50%)"))

    @property
    def passed(self) -> bool:
        """Both benchmarks hold."""
        return all(c.passed for c in self.checks)

    def to_frame(self) -> pd.DataFrame:
        """One row per account that entered red, ARR first."""
        return self.accounts.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (``calibrate playbook --json``)."""
        return {"snapshot": self.snapshot, "previous": self.previous,
                "red_share": dict(zip(("value", "ci_low", "ci_high"), self.red_share)),
                "save_rate": dict(zip(("value", "ci_low", "ci_high"), self.save_rate)),
                "n_red_previous": self.n_red_previous, "entered_red": len(self.accounts),
                "accounts": self.accounts.astype(object).to_dict(orient="records"),
                "passed": self.passed, "checks": [c.__dict__ for c in self.checks]}

    def summary(self) -> str:
        """The escalation list and the metrics as text."""
        r, s = self.red_share, self.save_rate
        lines = [f"{len(self.accounts):,} accounts entered red between {self.previous} and {self.snapshot}",
                 self.accounts.head(20).to_string(index=False, float_format=lambda v: f"{v:.1f}")
                 if len(self.accounts) else "(none)",
                 f"red volume {r[0]:.1%} [{r[1]:.1%}, {r[2]:.1%}]; save rate {s[0]:.1%} [{s[1]:.1%}, {s[2]:.1%}] "
                 f"of {self.n_red_previous:,} red at {self.previous}"]
        lines += check_lines(self.checks)
        return "\n".join(lines)

    def plot(self, ax: Any = None) -> Any:
        """Entered-red accounts per owner; returns the Axes."""
        from calibrate.plots import ensure_axes

        ax = ensure_axes(ax)
        t = self.accounts.groupby("owner").size().sort_values()
        ax.barh(t.index, t.to_numpy(), color="#ef4444")
        ax.set_xlabel(f"accounts that entered red by {self.snapshot}")
        return ax

    def _repr_html_(self) -> str:
        return self.accounts.to_html(index=False, float_format=lambda v: f"{v:.1f}")

    def __repr__(self) -> str:
        return f"<Playbook {self.snapshot}: {len(self.accounts):,} entered red, red volume {self.red_share[0]:.1%}>"


def _wilson(k: int, n: int) -> tuple[float, float, float]:
    from calibrate import _stats

    lo, hi = _stats.wilson_interval(np.array([k]), np.array([n]))
    return (k / n if n else float("nan"), float(lo[0]), float(hi[0]))


def red_playbook(
    model: MetricTreeFit | WeightConfig,
    frame: pd.DataFrame,
    *,
    snapshot: str | None = None,
    previous: str | None = None,
) -> Playbook:
    """The accounts that entered red since the previous snapshot, for escalation.

    Parameters
    ----------
    model : MetricTreeFit or WeightConfig
        What scores the accounts (a config explains per dimension, a metric tree down to the signal).
    frame : DataFrame
        Snapshots with ``account_id`` and ``snapshot_date``.
    snapshot, previous : str, optional
        The two snapshot dates (default: the latest and the one before).

    Returns
    -------
    Playbook
    """
    fit = _as_fit(model)
    frame = _dated(frame)
    dates = np.sort(frame["snapshot_date"].unique())
    now = pd.Timestamp(snapshot) if snapshot else pd.Timestamp(dates[-1])
    before = dates[dates < np.datetime64(now)]
    if previous is None and len(before) == 0:
        raise DataError(f"no snapshot before {now.date()}; the playbook compares two snapshot dates")
    prev = pd.Timestamp(previous) if previous else pd.Timestamp(before[-1])
    red = red_or_worse(fit.config)
    cur_rows, prev_rows = frame.loc[frame["snapshot_date"] == now], frame.loc[frame["snapshot_date"] == prev]
    cur, old = fit.score(cur_rows), fit.score(prev_rows)
    cur_red = pd.Series(cur["band_index"].to_numpy() <= red, index=cur_rows["account_id"].to_numpy())
    old_red = pd.Series(old["band_index"].to_numpy() <= red, index=prev_rows["account_id"].to_numpy())
    old_score = pd.Series(old["score"].to_numpy(), index=old_red.index)
    old_band = pd.Series(old["band"].to_numpy(), index=old_red.index)
    ids = cur_rows["account_id"].to_numpy()
    entered = cur_red.to_numpy() & old_red.reindex(ids).eq(False).to_numpy()
    w = weakest(fit, cur.loc[entered])
    keep = [c for c in ("account_id", "segment", "arr") if c in cur_rows.columns]
    out = cur_rows.loc[entered, keep].copy()
    out["score_before"] = old_score.reindex(ids[entered]).to_numpy()
    out["band_before"] = old_band.reindex(ids[entered]).to_numpy()
    out["score"] = cur.loc[entered, "score"].to_numpy()
    out["band"] = cur.loc[entered, "band"].to_numpy()
    out = pd.concat([out, w], axis=1)
    out = out.sort_values("arr" if "arr" in out else "score", ascending="arr" not in out, kind="stable")
    # save rate: red at the previous snapshot, seen again now and above red
    was_red = old_red[old_red].index
    seen = cur_red.reindex(was_red).dropna()
    saved = int((~seen.astype(bool)).sum())
    return Playbook(snapshot=str(now.date()), previous=str(prev.date()), accounts=out.reset_index(drop=True),
                    red_share=_wilson(int(cur_red.sum()), len(cur_red)), save_rate=_wilson(saved, len(was_red)),
                    n_red_previous=len(was_red))


def warning_flags(frame: pd.DataFrame, tree: RuleTree) -> pd.DataFrame:
    """One boolean column per question with a ``warning`` answer: the row gives that answer (asked or not).

    Columns are named ``"<question> <warning answer>: <conditions>"``, e.g. ``"Q1 no: adoption_pct > 60"``.
    """
    from calibrate.systems.rules import _answers

    ans = _answers(frame, tree)
    join = {"any": " or ", "all": " and "}
    flags = {f"{qid} {q.warning}: " + join[q.combine].join(str(c) for c in q.conditions):
             (ans[qid] if q.warning == "yes" else ~ans[qid])
             for qid, q in tree.questions.items() if q.warning is not None}
    if not flags:
        raise DataError(f"rule tree {tree.name!r} marks no question with a 'warning' answer; the post-mortem needs some")
    return pd.DataFrame(flags, index=frame.index)


@dataclass(frozen=True)
class PostMortem:
    """Churned red accounts: which warning signals were present before they went red, and how early.

    ``accounts``: one row per churned red account (went red on, snapshots in red, and per flag
    the lead in days — NaN when the flag was absent at the snapshot before going red, or no such
    snapshot exists). ``flags``: per flag, the share of churned red accounts (with a snapshot
    before red) where it was present, Wilson interval, median lead days, the same share in red
    episodes that did not end in churn, and a one-sided two-proportion p-value.
    """

    accounts: pd.DataFrame
    flags: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """The flag table."""
        return self.flags.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe."""
        acc = self.accounts.astype(object).where(self.accounts.notna(), None)
        return {"n_churned_red": len(self.accounts), "flags": self.flags.to_dict(orient="records"),
                "accounts": acc.to_dict(orient="records")}

    def summary(self) -> str:
        """The flag table as text."""
        return (f"post-mortem of {len(self.accounts):,} churned red accounts\n"
                + self.flags.to_string(index=False, float_format=lambda v: f"{v:.3g}"))

    def plot(self, ax: Any = None) -> Any:
        """Share of churned vs other red episodes with each flag before red; returns the Axes."""
        from calibrate.plots import ensure_axes

        ax = ensure_axes(ax)
        y = np.arange(len(self.flags))
        ax.barh(y - 0.2, self.flags["share_churned"], height=0.4, color="#ef4444", label="churned red")
        ax.barh(y + 0.2, self.flags["share_other_red"], height=0.4, color="#94a3b8", label="other red episodes")
        ax.set_yticks(y, self.flags["flag"].tolist(), fontsize=7)
        ax.set_xlabel("share with the flag at the snapshot before going red")
        ax.legend(fontsize=7)
        return ax

    def _repr_html_(self) -> str:
        return self.flags.to_html(index=False, float_format=lambda v: f"{v:.3f}")

    def __repr__(self) -> str:
        return f"<PostMortem {len(self.accounts):,} churned red accounts, {len(self.flags)} flags>"


def _run_start(frame: pd.DataFrame, on: np.ndarray) -> np.ndarray:
    """Per row (frame sorted by account, date): the date its run of ``on`` began (NaT where off)."""
    acc = frame["account_id"].to_numpy()
    new_run = np.r_[True, (acc[1:] != acc[:-1]) | (on[1:] != on[:-1])]
    run_id = np.cumsum(new_run)
    start = pd.Series(frame["snapshot_date"].to_numpy()).groupby(run_id).transform("first").to_numpy()
    return np.where(on, start, np.datetime64("NaT"))


def post_mortem(
    model: MetricTreeFit | WeightConfig,
    frame: pd.DataFrame,
    *,
    tree: RuleTree | str | os.PathLike[str] = "seed_001",
) -> PostMortem:
    """Which warning signals were present before churned accounts went red, and how early.

    Parameters
    ----------
    model : MetricTreeFit or WeightConfig
        What decides "red" (its red band or worse).
    frame : DataFrame
        Snapshots with ``account_id``, ``snapshot_date``, ``renewed`` and the tree's signals.
    tree : RuleTree, path or built-in name, default ``"seed_001"``
        Its questions' ``warning`` answers are the flags.

    Returns
    -------
    PostMortem
    """
    from calibrate import _stats

    fit, tree = _as_fit(model), read_tree(tree)
    f = _dated(frame).sort_values(["account_id", "snapshot_date"], kind="stable").reset_index(drop=True)
    red = fit.score(f)["band_index"].to_numpy() <= red_or_worse(fit.config)
    flags = warning_flags(f, tree)
    acc = f["account_id"].to_numpy()
    red_start = _run_start(f, red)
    first_red = red & np.r_[True, (acc[1:] != acc[:-1]) | ~red[:-1]]       # a row where a red run begins
    has_prev = first_red & np.r_[False, acc[1:] == acc[:-1]]
    run_id = np.cumsum(np.r_[True, (acc[1:] != acc[:-1]) | (red[1:] != red[:-1])])
    churn_run = pd.Series((f["renewed"].to_numpy() == 0) & red).groupby(run_id).transform("any").to_numpy()
    episodes = np.flatnonzero(first_red)
    rows_out, table = [], []
    for name in flags.columns:
        on = flags[name].to_numpy()
        start = _run_start(f, on)
        prev_on = np.r_[False, on[:-1]] & has_prev
        lead = np.where(prev_on, (red_start - np.r_[start[:1], start[:-1]]) / np.timedelta64(1, "D"), np.nan)
        ev_c = episodes[churn_run[episodes] & has_prev[episodes]]
        ev_o = episodes[~churn_run[episodes] & has_prev[episodes]]
        k1, n1, k2, n2 = int(prev_on[ev_c].sum()), len(ev_c), int(prev_on[ev_o].sum()), len(ev_o)
        share, lo, hi = _wilson(k1, n1)
        test = _stats.two_proportion_test(k1, n1, k2, n2, alternative="larger")
        table.append({"flag": name, "churned_with_prior": n1, "present": k1, "share_churned": share, "ci_low": lo,
                      "ci_high": hi, "median_lead_days": float(np.nanmedian(lead[ev_c])) if k1 else float("nan"),
                      "share_other_red": k2 / n2 if n2 else float("nan"), "pvalue": float(test.pvalue)})
        rows_out.append(pd.Series(lead, name=name))
    churned_eps = episodes[churn_run[episodes]]
    accounts = pd.DataFrame({"account_id": acc[churned_eps], "went_red": f["snapshot_date"].to_numpy()[churned_eps],
                             "snapshot_before_red": has_prev[churned_eps]})
    accounts["snapshots_red"] = pd.Series(red).groupby(run_id).transform("sum").to_numpy()[churned_eps]
    for s in rows_out:
        accounts[f"lead_days:{s.name.split(':')[0]}"] = s.to_numpy()[churned_eps]
    return PostMortem(accounts=accounts, flags=pd.DataFrame(table))
