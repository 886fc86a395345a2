"""Metric trees: dimensions built from raw signals, sub-weights fitted hierarchically, owners per branch.

A metric tree (seed 003) decomposes the score into branches (the dimensions), each built from raw
signals. Each signal is mapped linearly onto 0–100 (``lo`` → 0 and ``hi`` → 100 when higher is
healthier, the reverse otherwise, clipped). The fit is hierarchical: within each branch the
sub-weights are the simplex maximum-likelihood weights of its signals
(:func:`calibrate.fit.weights.simplex_mle`), then the branch weights are fitted on the branch scores by
:func:`calibrate.fit.weights.fit_weights`. The score itself is :func:`calibrate.score.scorer.score_frame` of the
branch scores, so a signal's contribution is ``branch weight × sub-weight × signal score`` and
the contributions of an account add up to its score.

:func:`explain` says which branch and which signal moved between two snapshots of an account;
:func:`action_list` lists the accounts in red (or worse) with their weakest branch and its owner.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from calibrate.config.direction import healthy
from calibrate.config.model import Band, Calibration, Dimension, WeightConfig, default_bands
from calibrate.errors import DataError, FitError
from calibrate.data.load import Accounts
from calibrate.systems.rules import parse_document, read_document
from calibrate.score.scorer import score_frame

__all__ = ["Signal", "Branch", "MetricTree", "MetricTreeFit", "read_metric_tree", "fit_metric_tree",
           "Explanation", "explain", "ActionList", "action_list", "DEFAULT_OWNERS"]

DEFAULT_OWNERS = {"usage": "Customer Success", "engagement": "Customer Success", "support": "Support",
                  "commercial": "Finance"}
"""Seed 003's RACI: Customer Success owns usage and engagement, Support the ticket branch, Finance the commercial one."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Signal(_Frozen):
    """A raw signal mapped onto 0–100: ``lo`` → 0 and ``hi`` → 100 (reversed when lower is healthier)."""

    name: str
    column: str | None = None
    direction: Literal["higher_is_healthier", "lower_is_healthier"] = "higher_is_healthier"
    lo: float
    hi: float
    weight: float | None = Field(default=None, ge=0, le=1)

    @property
    def source(self) -> str:
        """The data column (defaults to the name)."""
        return self.column or self.name


class Branch(_Frozen):
    """A dimension of the score: its signals, owner team and (fitted) weight."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    owner: str = "unassigned"
    signals: list[Signal] = Field(min_length=1)
    weight: float | None = Field(default=None, ge=0, le=1)


class MetricTree(_Frozen):
    """Branches of raw signals (seed 003)."""

    kind: Literal["metric_tree"] = "metric_tree"
    name: str
    source: str = ""
    branches: list[Branch] = Field(min_length=2)

    @property
    def signals(self) -> list[tuple[Branch, Signal]]:
        """Every (branch, signal) pair in tree order."""
        return [(b, s) for b in self.branches for s in b.signals]


def read_metric_tree(source: str | os.PathLike[str] | dict[str, Any] | MetricTree = "metric_book") -> MetricTree:
    """Read a metric tree file, built-in name (default ``"metric_book"``) or dict."""
    if isinstance(source, MetricTree):
        return source
    doc, where = read_document(source, "metric tree")
    return parse_document(MetricTree, doc, where)


def signal_scores(frame: pd.DataFrame, tree: MetricTree) -> np.ndarray:
    """Every signal of the tree on 0–100 (rows × signals, tree order)."""
    cols = []
    for b, s in tree.signals:
        if s.source not in frame.columns:
            raise DataError(f"metric tree {tree.name!r}: branch {b.name!r} needs column {s.source!r}, which is "
                            "not in the data; add it or edit the signal's column")
        x = frame[s.source].to_numpy(dtype=float, na_value=np.nan)
        if np.isnan(x).any():
            rows = ", ".join(str(i + 1) for i in np.flatnonzero(np.isnan(x))[:5])
            raise DataError(f"column {s.source!r}: missing values (rows {rows}); fill them before scoring the metric tree")
        t = (x - s.lo) / (s.hi - s.lo)
        cols.append(100.0 * np.clip(healthy(t, s.direction, top=1.0), 0.0, 1.0))
    return np.column_stack(cols)


def _branch_slices(tree: MetricTree) -> list[slice]:
    out, start = [], 0
    for b in tree.branches:
        out.append(slice(start, start + len(b.signals)))
        start += len(b.signals)
    return out


@dataclass(frozen=True)
class MetricTreeFit:
    """A metric tree with its sub-weights and branch weights, and the score config over the branches.

    Attributes
    ----------
    tree : MetricTree
        Every signal and branch weight filled in.
    config : WeightConfig
        Dimensions = branches (column = branch name); bands and calibration for the score.
    n, n_events : int
        Training rows and churns (0 when built from a config).
    """

    tree: MetricTree
    config: WeightConfig
    n: int = 0
    n_events: int = 0

    @classmethod
    def from_config(cls, config: WeightConfig, *, owners: dict[str, str] | None = None) -> MetricTreeFit:
        """The one-signal-per-dimension tree of a weight config (so a config can be explained the same way)."""
        owners = {**DEFAULT_OWNERS, **(owners or {})}
        branches = [Branch(name=d.name, owner=owners.get(d.name, "unassigned"), weight=d.weight,
                           signals=[Signal(name=d.column, direction=d.direction, lo=0, hi=100, weight=1.0)])
                    for d in config.dimensions]
        tree = MetricTree(name=config.name, source="weight config", branches=branches)
        dims = [Dimension(name=d.name, column=d.name, weight=d.weight) for d in config.dimensions]
        return cls(tree=tree, config=config.model_copy(update={"dimensions": dims}))

    @property
    def owners(self) -> dict[str, str]:
        """Branch → owner team."""
        return {b.name: b.owner for b in self.tree.branches}

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score every row: score, band, each branch score and each signal's contribution.

        Returns
        -------
        DataFrame
            ``score``, ``band``, ``band_index``, ``p_renew``, ``branch_<b>`` (0–100),
            ``contribution_<b>`` (points) and ``signal_<s>`` (points) per signal; the signal
            columns of a row add up to its score.
        """
        s = signal_scores(frame, self.tree)
        sub = np.array([sig.weight for _, sig in self.tree.signals])
        branch = np.column_stack([(s[:, sl] * sub[sl]).sum(axis=1) for sl in _branch_slices(self.tree)])
        names = [b.name for b in self.tree.branches]
        out = score_frame(pd.DataFrame(branch, columns=names, index=frame.index), self.config)
        bw = np.array([b.weight for b in self.tree.branches])
        for j, name in enumerate(names):
            out[f"branch_{name}"] = branch[:, j]
        owner_w = np.concatenate([np.full(len(b.signals), b.weight) for b in self.tree.branches])
        for j, (_, sig) in enumerate(self.tree.signals):
            out[f"signal_{sig.name}"] = owner_w[j] * sub[j] * s[:, j]
        out.attrs["branch_weights"] = dict(zip(names, bw))
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per signal: branch, owner, branch weight, sub-weight and overall weight."""
        return pd.DataFrame([{"branch": b.name, "owner": b.owner, "branch_weight": b.weight, "signal": s.name,
                              "column": s.source, "direction": s.direction, "sub_weight": s.weight,
                              "weight": b.weight * s.weight} for b, s in self.tree.signals])

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the fitted tree and the score's calibration."""
        cal = self.config.calibration
        return {"tree": self.tree.model_dump(mode="json"), "n": self.n, "n_events": self.n_events,
                "calibration": None if cal is None else cal.model_dump(mode="json")}

    def summary(self) -> str:
        """The weights as an indented tree."""
        lines = [f"metric tree {self.tree.name}" + (f" fitted on {self.n:,} rows ({self.n_events:,} churned)"
                                                    if self.n else "")]
        for b in self.tree.branches:
            lines.append(f"  {b.name:<24}{b.weight:6.3f}   owner: {b.owner}")
            lines += [f"    {s.name:<22}{s.weight:6.3f}  ({b.weight * s.weight:.3f} of the score)" for s in b.signals]
        return "\n".join(lines)

    def plot(self, ax: Any = None) -> Any:
        """Overall weight of each signal, coloured by branch; returns the Axes."""
        from calibrate.plots import plot_weights

        t = self.to_frame()
        return plot_weights({"fitted": dict(zip(t["signal"], t["weight"]))}, ax=ax)

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False, float_format=lambda v: f"{v:.3f}")

    def __repr__(self) -> str:
        w = ", ".join(f"{b.name}={b.weight:.3f}" for b in self.tree.branches)
        return f"<MetricTreeFit {self.tree.name}: {w}>"


def fit_metric_tree(
    data: Accounts,
    tree: MetricTree | str | os.PathLike[str] = "metric_book",
    *,
    train_until: str | None = None,
    bands: list[Band] | None = None,
) -> MetricTreeFit:
    """Fit a metric tree hierarchically: sub-weights within each branch, then the branch weights.

    Parameters
    ----------
    data : Accounts
        Snapshots with every signal column and ``renewed``.
    tree : MetricTree, path or built-in name, default ``"metric_book"``
    train_until : str, optional
        Fit on snapshots dated on or before this ISO date only.
    bands : list of Band, optional
        Bands of the score (default: the seeds' four bands).

    Returns
    -------
    MetricTreeFit

    Raises
    ------
    FitError
        No signal of a branch is associated with renewal, or the branch-level fit fails.
    """
    from calibrate.fit.weights import fit_weights, simplex_mle

    tree = read_metric_tree(tree)
    frame = data.frame
    if train_until is not None:
        frame = frame.loc[frame["snapshot_date"] <= pd.Timestamp(train_until)]
    s = signal_scores(frame, tree)
    y = frame["renewed"].to_numpy(dtype=float)
    branches, branch_cols = [], {}
    for b, sl in zip(tree.branches, _branch_slices(tree)):
        if len(b.signals) == 1:
            sub = np.array([1.0])
        else:
            v, _, _ = simplex_mle(s[:, sl] / 100.0, y)
            if v.sum() <= 0:
                raise FitError(f"branch {b.name!r}: none of its signals {[x.name for x in b.signals]} is positively "
                               "associated with renewal; check each signal's direction")
            sub = v / v.sum()
        branch_cols[b.name] = s[:, sl] @ sub
        branches.append(b.model_copy(update={"signals": [x.model_copy(update={"weight": float(w)})
                                                         for x, w in zip(b.signals, sub)]}))
    keep = [c for c in ("account_id", "snapshot_date", "renewed") if c in frame.columns]
    branch_frame = pd.concat([frame[keep].reset_index(drop=True), pd.DataFrame(branch_cols)], axis=1)
    names = tuple(b.name for b in tree.branches)
    fit = fit_weights(replace(data, frame=branch_frame, dimensions=names))
    branches = [b.model_copy(update={"weight": fit.weights[b.name]}) for b in branches]
    config = WeightConfig(
        name=tree.name.replace("_", "-").lower(),
        dimensions=[Dimension(name=n, column=n, weight=fit.weights[n]) for n in names],
        bands=bands or default_bands(), calibration=Calibration(intercept=fit.intercept, slope=fit.slope),
    )
    return MetricTreeFit(tree=tree.model_copy(update={"branches": branches}), config=config, n=fit.n,
                         n_events=fit.n_events)


def _as_fit(model: MetricTreeFit | WeightConfig) -> MetricTreeFit:
    return model if isinstance(model, MetricTreeFit) else MetricTreeFit.from_config(model)


@dataclass(frozen=True)
class Explanation:
    """Why an account's score moved between two snapshots, down to the signal.

    ``signals`` has one row per signal (branch, owner, value and contribution before and after,
    change in points), largest fall first; ``branches`` the same per branch. The changes add up
    to ``score_after - score_before``.
    """

    account_id: str
    before: str
    after: str
    score_before: float
    score_after: float
    band_before: str
    band_after: str
    branches: pd.DataFrame
    signals: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """The signal table."""
        return self.signals.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (``calibrate explain --json``)."""
        return {"account_id": self.account_id, "before": self.before, "after": self.after,
                "score_before": self.score_before, "score_after": self.score_after, "band_before": self.band_before,
                "band_after": self.band_after, "branches": self.branches.to_dict(orient="records"),
                "signals": self.signals.to_dict(orient="records")}

    def summary(self) -> str:
        """One sentence and the two tables."""
        top_b = self.branches.iloc[0]
        in_branch = self.signals[self.signals["branch"] == top_b.branch] if "branch" in self.signals else self.signals
        top_s = (in_branch if len(in_branch) else self.signals).iloc[0]
        verb = "fell" if self.score_after < self.score_before else "rose"
        lines = [f"{self.account_id} {verb} from {self.score_before:.1f} ({self.band_before}) to {self.score_after:.1f} "
                 f"({self.band_after}) between {self.before} and {self.after}: branch {top_b.branch} "
                 f"{top_b.change:+.1f} points (owner {top_b.owner}), most of all its signal {top_s.signal} "
                 f"{top_s.change:+.1f} points ({top_s.value_before:g} -> {top_s.value_after:g})"]
        lines.append(self.branches.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        lines.append(self.signals.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        return "\n".join(lines)

    def plot(self, ax: Any = None) -> Any:
        """Change in points per signal; returns the Axes."""
        from calibrate.plots import plot_contribution_changes

        return plot_contribution_changes(self.signals, ax=ax)

    def _repr_html_(self) -> str:
        return self.signals.to_html(index=False, float_format=lambda v: f"{v:.2f}")

    def __repr__(self) -> str:
        return (f"<Explanation {self.account_id}: {self.score_before:.1f} -> {self.score_after:.1f}, "
                f"mostly {self.branches.iloc[0].branch}>")


def explain(
    model: MetricTreeFit | WeightConfig,
    frame: pd.DataFrame,
    account_id: str,
    *,
    before: str | None = None,
    after: str | None = None,
) -> Explanation:
    """Which branch and which signal moved an account's score between two snapshots.

    Parameters
    ----------
    model : MetricTreeFit or WeightConfig
        A config is explained per dimension (one signal per branch).
    frame : DataFrame
        Snapshots with ``account_id``, ``snapshot_date`` and the signals.
    account_id : str
    before, after : str, optional
        Snapshot dates (default: the account's last two snapshots).

    Returns
    -------
    Explanation
    """
    fit = _as_fit(model)
    rows = frame.loc[frame["account_id"].astype(str) == str(account_id)].sort_values("snapshot_date")
    if len(rows) < 2:
        raise DataError(f"account {account_id!r} has {len(rows)} snapshot(s); explaining a change needs two")
    dates = rows["snapshot_date"]

    def pick(date: str | None, default: int) -> int:
        if date is None:
            return rows.index[default]
        hit = rows.index[dates == pd.Timestamp(date)]
        if len(hit) == 0:
            have = ", ".join(d.date().isoformat() for d in dates)
            raise DataError(f"account {account_id!r} has no snapshot on {date}; it has {have}")
        return hit[0]

    i0, i1 = pick(before, -2), pick(after, -1)
    scored = fit.score(rows.loc[[i0, i1]])
    sig_rows = []
    for b, s in fit.tree.signals:
        c0, c1 = scored.at[i0, f"signal_{s.name}"], scored.at[i1, f"signal_{s.name}"]
        sig_rows.append({"branch": b.name, "owner": b.owner, "signal": s.name,
                         "value_before": float(rows.at[i0, s.source]), "value_after": float(rows.at[i1, s.source]),
                         "contribution_before": c0, "contribution_after": c1, "change": c1 - c0})
    signals = pd.DataFrame(sig_rows).sort_values("change", kind="stable").reset_index(drop=True)
    branches = (signals.groupby(["branch", "owner"], sort=False)[["contribution_before", "contribution_after", "change"]]
                .sum().reset_index().sort_values("change", kind="stable").reset_index(drop=True))
    return Explanation(
        account_id=str(account_id), before=str(rows.at[i0, "snapshot_date"].date()),
        after=str(rows.at[i1, "snapshot_date"].date()), score_before=float(scored.at[i0, "score"]),
        score_after=float(scored.at[i1, "score"]), band_before=str(scored.at[i0, "band"]),
        band_after=str(scored.at[i1, "band"]), branches=branches, signals=signals,
    )


def weakest(fit: MetricTreeFit, scored: pd.DataFrame) -> pd.DataFrame:
    """Per row: the branch that loses the most points (weight × (100 − branch score)), its owner and weakest signal."""
    names = [b.name for b in fit.tree.branches]
    bw = np.array([b.weight for b in fit.tree.branches])
    lost = bw * (100.0 - scored[[f"branch_{n}" for n in names]].to_numpy())
    j = lost.argmax(axis=1)
    sig_lost = np.column_stack([b.weight * s.weight * 100.0 - scored[f"signal_{s.name}"].to_numpy()
                                for b, s in fit.tree.signals])
    branch_of = np.array([i for i, b in enumerate(fit.tree.branches) for _ in b.signals])
    masked = np.where(branch_of[None, :] == j[:, None], sig_lost, -np.inf)
    sig_names = np.array([s.name for _, s in fit.tree.signals], dtype=object)
    return pd.DataFrame({"weakest_branch": np.array(names, dtype=object)[j],
                         "owner": np.array([b.owner for b in fit.tree.branches], dtype=object)[j],
                         "points_lost": lost[np.arange(len(j)), j],
                         "weakest_signal": sig_names[masked.argmax(axis=1)]}, index=scored.index)


def red_or_worse(config: WeightConfig) -> int:
    """Index of the config's red band: band indices up to it are 'red or worse'."""
    return config.band_names.index(config.red_band)


@dataclass(frozen=True)
class ActionList:
    """Accounts in red or worse at one snapshot, with weakest branch and owner, grouped by owner."""

    snapshot: str
    accounts: pd.DataFrame

    def by_owner(self) -> pd.DataFrame:
        """Accounts and ARR needing action per owner team."""
        g = self.accounts.groupby("owner")
        out = g.size().rename("accounts").to_frame()
        if "arr" in self.accounts:
            out["arr"] = g["arr"].sum()
        return out.sort_values("accounts", ascending=False).reset_index()

    def to_frame(self) -> pd.DataFrame:
        """One row per account."""
        return self.accounts.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe."""
        return {"snapshot": self.snapshot, "by_owner": self.by_owner().to_dict(orient="records"),
                "accounts": self.accounts.astype(object).to_dict(orient="records")}

    def summary(self) -> str:
        """Per owner: the accounts to act on, weakest first."""
        lines = [f"{len(self.accounts):,} accounts need action at {self.snapshot}"]
        for owner, grp in self.accounts.groupby("owner"):
            lines.append(f"  {owner}: {len(grp):,} accounts (e.g. " + ", ".join(
                f"{r.account_id} {r.weakest_branch}/{r.weakest_signal}" for r in grp.head(3).itertuples()) + ")")
        return "\n".join(lines)

    def plot(self, ax: Any = None) -> Any:
        """Accounts per owner; returns the Axes."""
        from calibrate.plots import ensure_axes

        ax = ensure_axes(ax)
        t = self.by_owner()
        ax.barh(t["owner"], t["accounts"], color="#ef4444")
        ax.set_xlabel("accounts in red or worse")
        return ax

    def _repr_html_(self) -> str:
        return self.by_owner().to_html(index=False)

    def __repr__(self) -> str:
        return f"<ActionList {self.snapshot}: {len(self.accounts):,} accounts, {self.accounts['owner'].nunique()} owners>"


def action_list(model: MetricTreeFit | WeightConfig, frame: pd.DataFrame, *, snapshot: str | None = None) -> ActionList:
    """The accounts in red or worse at ``snapshot`` (default: the latest), with weakest branch and owner."""
    fit = _as_fit(model)
    date = pd.Timestamp(snapshot) if snapshot else frame["snapshot_date"].max()
    rows = frame.loc[frame["snapshot_date"] == date]
    scored = fit.score(rows)
    need = scored["band_index"].to_numpy() <= red_or_worse(fit.config)
    w = weakest(fit, scored.loc[need])
    keep = [c for c in ("account_id", "segment", "arr") if c in rows.columns]
    out = pd.concat([rows.loc[need, keep], scored.loc[need, ["score", "band"]], w], axis=1)
    out = out.sort_values(["owner", "score"], kind="stable").reset_index(drop=True)
    return ActionList(snapshot=str(date.date()), accounts=out)
