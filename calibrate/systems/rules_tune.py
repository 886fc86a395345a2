"""Tune a rule tree's thresholds against renewals, out of time.

:func:`tune_tree` splits the snapshots by date (train before ``test_from``, test from it on),
searches each threshold over a grid of the signal's training quantiles by coordinate ascent on
the training spread (healthiest class minus the red class, both classes holding at least
``min_share`` of the rows so a tiny extreme class cannot win), then reports on the test
snapshots only: the seed's spread and the tuned spread, the gain with a paired account-level
bootstrap interval, the AUC of the class order for both (paired DeLong), and each threshold's
effect on its own (that threshold tuned, every other at the seed's value).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from calibrate.errors import DataError
from calibrate.data.load import Accounts
from calibrate.systems.rules import RuleTree, RuleValidation, classify, read_tree, validate_tree

__all__ = ["TreeTuning", "tune_tree", "default_test_from", "paired_spread_gain", "SpreadGain"]


def default_test_from(frame: pd.DataFrame) -> pd.Timestamp:
    """The snapshot date from which the last quarter of the distinct snapshot dates starts (at least one)."""
    if "snapshot_date" not in frame:
        raise DataError("out-of-time tuning needs a snapshot_date column; map it in the data spec")
    dates = np.sort(frame["snapshot_date"].dropna().unique())
    if len(dates) < 2:
        raise DataError(f"out-of-time tuning needs at least 2 snapshot dates; the data has {len(dates)}")
    return pd.Timestamp(dates[min(len(dates) - 1, math.ceil(0.75 * len(dates)))])


def _spread(idx: np.ndarray, y: np.ndarray, top: int, red: int) -> tuple[float, float, float]:
    """Spread and the shares of the top and red classes."""
    t, r = idx == top, idx == red
    if not t.any() or not r.any():
        return math.nan, float(t.mean()), float(r.mean())
    return float(y[t].mean() - y[r].mean()), float(t.mean()), float(r.mean())


def _top_reached(idx: np.ndarray) -> int:
    return int(idx.max())


@dataclass(frozen=True)
class SpreadGain:
    """Spread of classification b minus that of a, on the same rows, with a paired account bootstrap interval."""

    spread_a: float
    spread_b: float
    gain: float
    ci_low: float
    ci_high: float
    n_boot: int


def paired_spread_gain(
    groups: np.ndarray, y: np.ndarray, a: tuple[np.ndarray, int, int], b: tuple[np.ndarray, int, int], *,
    n_boot: int, seed: int,
) -> SpreadGain:
    """Spread gain of classification ``b`` over ``a`` (each ``(index, top, red)``), resampling accounts.

    Each row falls in one of 5 cells per classification (top & churned, top & renewed, red &
    churned, red & renewed, other); the joint 25 cells are resampled with
    :func:`calibrate._stats.bootstrap_cell_counts`, so both spreads move with the same accounts.
    """
    from calibrate import _stats

    def cells(idx: np.ndarray, top: int, red: int) -> np.ndarray:
        return np.where(idx == top, y, np.where(idx == red, 2 + y, 4)).astype(np.intp)

    joint = 5 * cells(*a) + cells(*b)
    counts = _stats.bootstrap_cell_counts(groups, joint, 25, n_boot=n_boot, seed=seed).reshape(-1, 5, 5)

    def spreads(c: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return c[:, 1] / (c[:, 0] + c[:, 1]) - c[:, 3] / (c[:, 2] + c[:, 3])

    diff = spreads(counts.sum(axis=1).astype(float)) - spreads(counts.sum(axis=2).astype(float))
    diff = diff[np.isfinite(diff)]
    sa = _spread(a[0], y, a[1], a[2])[0]
    sb = _spread(b[0], y, b[1], b[2])[0]
    lo, hi = (np.quantile(diff, [0.025, 0.975]) if diff.size else (math.nan, math.nan))
    return SpreadGain(sa, sb, sb - sa, float(lo), float(hi), n_boot)


@dataclass(frozen=True)
class TreeTuning:
    """A rule tree tuned on earlier snapshots and judged on later ones.

    Attributes
    ----------
    default, tuned : RuleTree
    test_from : str
        First snapshot date of the test period (ISO).
    gain : SpreadGain
        Test spread of the tuned tree minus the seed's, paired account bootstrap interval.
    auc_default, auc_tuned, auc_diff_p : float
        Test AUC of the class order and the paired DeLong p-value of their difference.
    thresholds : DataFrame
        Per threshold: signal, comparison, seed value, tuned value, test spread with only that
        threshold tuned, and its effect (that spread minus the seed's).
    validation_default, validation_tuned : RuleValidation
        Both trees validated on the test snapshots.
    """

    default: RuleTree
    tuned: RuleTree
    test_from: str
    n_train: int
    n_test: int
    min_share: float
    gain: SpreadGain
    auc_default: float
    auc_tuned: float
    auc_diff_p: float
    thresholds: pd.DataFrame
    validation_default: RuleValidation
    validation_tuned: RuleValidation

    @property
    def passed(self) -> bool:
        """The tuned tree's test spread beats the seed's (gain interval above zero)."""
        return bool(np.isfinite(self.gain.ci_low) and self.gain.ci_low > 0)

    @property
    def checks(self) -> tuple[Any, ...]:
        """One check: the out-of-time gain's lower bound is above zero."""
        from calibrate.systems.rules import Check

        g = self.gain
        return (Check("out_of_time_gain", self.passed, g.ci_low if np.isfinite(g.ci_low) else None, 0.0,
                      f"test spread gain {g.gain:+.1%} [{g.ci_low:+.1%}, {g.ci_high:+.1%}]"),)

    def to_frame(self) -> pd.DataFrame:
        """The threshold table."""
        return self.thresholds.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe figures (``calibrate tree tune --json``)."""
        g = self.gain
        return {
            "tree": self.default.name, "test_from": self.test_from, "n_train": self.n_train, "n_test": self.n_test,
            "min_share": self.min_share,
            "spread_default": g.spread_a, "spread_tuned": g.spread_b,
            "gain": {"value": g.gain, "ci_low": g.ci_low, "ci_high": g.ci_high, "n_boot": g.n_boot},
            "auc_default": self.auc_default, "auc_tuned": self.auc_tuned, "auc_diff_pvalue": self.auc_diff_p,
            "thresholds": self.thresholds.to_dict(orient="records"),
            "tuned_thresholds": self.tuned.thresholds, "passed": self.passed,
            "checks": [c.__dict__ for c in self.checks],
        }

    def summary(self) -> str:
        """Threshold table and the out-of-time comparison as text."""
        g = self.gain
        lines = [f"rule tree {self.default.name}: tuned on {self.n_train:,} rows before {self.test_from}, "
                 f"judged on {self.n_test:,} rows from it on",
                 f"{'threshold':<8}{'condition':<30}{'seed':>8}{'tuned':>8}{'alone':>9}{'effect':>9}"]
        for r in self.thresholds.itertuples():
            lines.append(f"{r.threshold:<8}{r.signal + ' ' + r.op:<30}{r.seed_value:>8g}{r.tuned_value:>8g}"
                         f"{r.test_spread_alone:>+9.1%}{r.effect:>+9.1%}")
        lines.append(f"test spread: seed {g.spread_a:+.1%} ({self.validation_default.validation.top_band} - "
                     f"{self.validation_default.validation.red_band}), tuned {g.spread_b:+.1%} "
                     f"({self.validation_tuned.validation.top_band} - {self.validation_tuned.validation.red_band})")
        lines.append(f"gain {g.gain:+.1%} [{g.ci_low:+.1%}, {g.ci_high:+.1%}] (paired account bootstrap, "
                     f"B={g.n_boot}); AUC {self.auc_default:.3f} -> {self.auc_tuned:.3f} (DeLong p = {self.auc_diff_p:.2g})")
        return "\n".join(lines)

    def plot(self, ax: Any = None) -> Any:
        """Each threshold's out-of-time effect on the spread; returns the Axes."""
        from calibrate.plots import plot_threshold_effects

        return plot_threshold_effects(self.thresholds, ax=ax)

    def _repr_html_(self) -> str:
        return self.thresholds.to_html(index=False, float_format=lambda v: f"{v:.3f}")

    def __repr__(self) -> str:
        g = self.gain
        return f"<TreeTuning {self.default.name}: test spread gain {g.gain:+.1%} [{g.ci_low:+.1%}, {g.ci_high:+.1%}]>"


def _candidates(x: np.ndarray, seed_value: float, grid: int) -> np.ndarray:
    x = x[np.isfinite(x)]
    qs = np.quantile(x, np.linspace(0.02, 0.98, grid)) if x.size else np.array([])
    if x.size and np.all(x == np.round(x)):
        qs = np.round(qs)
    return np.unique(np.concatenate([[seed_value], qs]))


def tune_tree(
    data: Accounts,
    tree: RuleTree | str | os.PathLike[str],
    *,
    test_from: str | None = None,
    min_share: float = 0.05,
    grid: int = 25,
    passes: int = 2,
    n_boot: int = 2000,
    seed: int = 0,
) -> TreeTuning:
    """Tune every threshold of a rule tree on earlier snapshots; judge it against the seed's on later ones.

    Parameters
    ----------
    data : Accounts
        Snapshots with ``snapshot_date`` and the tree's signals.
    tree : RuleTree, path or built-in name
    test_from : str, optional
        First test snapshot date (default: the last quarter of the distinct snapshot dates).
    min_share : float, default 0.05
        The top and the red class must each hold at least this share of the training rows.
    grid : int, default 25
        Quantiles of each signal tried as thresholds (plus the seed's value).
    passes : int, default 2
        Coordinate-ascent passes over the thresholds.
    n_boot, seed : int
        Account-level bootstrap of the test figures.

    Returns
    -------
    TreeTuning
    """
    from calibrate import _stats

    tree = read_tree(tree)
    frame = data.frame
    cut = pd.Timestamp(test_from) if test_from else default_test_from(frame)
    is_test = (frame["snapshot_date"] >= cut).to_numpy()
    if is_test.all() or not is_test.any():
        raise DataError(f"test_from {cut.date()} leaves no training or no test snapshots; pick a date inside the data")
    train, test = frame.loc[~is_test], frame.loc[is_test]
    y_train = train["renewed"].to_numpy(dtype=int)
    n_classes, red = len(tree.outcomes), [o.name for o in tree.outcomes].index(tree.red_outcome)

    def objective(t: RuleTree) -> float:
        idx = classify(train, t)["class_index"].to_numpy()
        value, share_top, share_red = _spread(idx, y_train, n_classes - 1, red)
        if share_top < min_share or share_red < min_share or not np.isfinite(value):
            return -math.inf
        return value

    current = dict(tree.thresholds)
    cond = {f"{qid}.{i}": c for qid, q in tree.questions.items() for i, c in enumerate(q.conditions)}
    grids = {k: _candidates(train[c.signal].to_numpy(dtype=float, na_value=np.nan), c.threshold, grid)
             for k, c in cond.items()}
    best = objective(tree)
    for _ in range(passes):
        moved = False
        for key, values in grids.items():
            for v in values:
                trial = objective(tree.with_thresholds({**current, key: v}))
                if trial > best + 1e-12:
                    best, current[key], moved = trial, float(v), True
        if not moved:
            break
    tuned = tree.with_thresholds(current).model_copy(update={"source": f"{tree.source} | thresholds tuned on "
                                                            f"snapshots before {cut.date()}"})
    y = test["renewed"].to_numpy(dtype=int)
    groups = pd.factorize(test["account_id"])[0]

    def test_index(t: RuleTree) -> tuple[np.ndarray, int, int]:
        idx = classify(test, t)["class_index"].to_numpy()
        return idx, _top_reached(idx), red

    a, b = test_index(tree), test_index(tuned)
    gain = paired_spread_gain(groups, y, a, b, n_boot=n_boot, seed=seed)
    paired = _stats.delong_paired(y, b[0].astype(float), a[0].astype(float))
    rows = []
    for key, c in cond.items():
        alone = test_index(tree.with_thresholds({key: current[key]}))
        s_alone = _spread(alone[0], y, alone[1], red)[0]
        rows.append({"threshold": key, "signal": c.signal, "op": c.op, "seed_value": c.threshold,
                     "tuned_value": current[key], "test_spread_alone": s_alone, "effect": s_alone - gain.spread_a})
    sub = data.subset(is_test)
    return TreeTuning(
        default=tree, tuned=tuned, test_from=str(cut.date()), n_train=int((~is_test).sum()), n_test=int(is_test.sum()),
        min_share=min_share, gain=gain, auc_default=_stats.auc(y, a[0]), auc_tuned=_stats.auc(y, b[0]),
        auc_diff_p=float(paired.pvalue), thresholds=pd.DataFrame(rows),
        validation_default=validate_tree(sub, tree, n_boot=n_boot, seed=seed),
        validation_tuned=validate_tree(sub, tuned, n_boot=n_boot, seed=seed),
    )
