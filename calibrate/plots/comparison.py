"""Plots of fitting and comparison: odds ratios, the methods leaderboard, champion vs challenger."""

from __future__ import annotations

from typing import Any, TYPE_CHECKING

import numpy as np

from calibrate._labels import METHOD_LABELS
from calibrate.plots._base import ensure_axes, error_lengths

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from calibrate.compare.champion import ChampionChallenger
    from calibrate.compare.methods import Leaderboard

__all__ = ["plot_odds_ratios", "plot_leaderboard", "plot_champion_challenger"]


def plot_odds_ratios(table: Any, ax: Axes | None = None) -> Axes:
    """Forest plot of odds ratios per 10 points with their 95 % intervals (a :class:`~calibrate.fit.logit.LogitResult` table).

    Parameters
    ----------
    table : DataFrame
        Index = dimension; columns ``odds_ratio_10``, ``or_ci_low``, ``or_ci_high``.
    ax : matplotlib Axes, optional

    Returns
    -------
    Axes
    """
    ax = ensure_axes(ax)
    y = np.arange(len(table))
    est = table["odds_ratio_10"].to_numpy()
    lo, hi = table["or_ci_low"].to_numpy(), table["or_ci_high"].to_numpy()
    colors = ["#dc2626" if e < 1 else "#2563eb" for e in est]
    ax.errorbar(est, y, xerr=error_lengths(est, lo, hi), fmt="none", ecolor="#111111", capsize=3)
    ax.scatter(est, y, color=colors, zorder=3)
    ax.axvline(1.0, color="#94a3b8", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_yticks(y, list(table.index))
    ax.set_xlabel("odds ratio of renewal per 10 points")
    ax.set_title("Dimension effects (95% intervals)")
    return ax


def plot_leaderboard(board: Leaderboard, ax: Axes | None = None, *, metric: str = "auc") -> Axes:
    """One held-out metric per method with its 95 % interval (horizontal, best method on top).

    Parameters
    ----------
    board : Leaderboard
    ax : matplotlib Axes, optional
    metric : {"auc", "log_loss", "brier", "spread"}, default "auc"

    Returns
    -------
    Axes
    """
    ax = ensure_axes(ax)
    rows = [(m.method, *m.metric(metric)) for m in board.methods]
    y = np.arange(len(rows))
    values = np.array([r[1] for r in rows])
    err = error_lengths(values, [r[2] for r in rows], [r[3] for r in rows])
    colors = ["#9333ea" if r[0] == "ceiling" else "#2563eb" if r[0] == board.best else "#94a3b8" for r in rows]
    ax.barh(y, values, color=colors, alpha=0.8)
    ax.errorbar(values, y, xerr=err, fmt="none", ecolor="#111111", capsize=3)
    ax.set_yticks(y, [METHOD_LABELS.get(r[0], r[0]) for r in rows])
    ax.set_ylabel("method")
    ax.invert_yaxis()
    if metric == "auc":
        ax.set_xlim(max(0.0, float(np.nanmin(err[0] * -1 + values)) - 0.05), min(1.0, float(np.nanmax(values + err[1])) + 0.02))
    words = {"auc": "held-out AUC", "log_loss": "held-out log-loss", "brier": "held-out Brier score",
             "spread": "held-out spread (top - red)"}.get(metric, metric)
    ax.set_xlabel(words)
    ax.set_title(f"Methods leaderboard: {words}\n95 % intervals, whole accounts resampled")  # two lines: fits the figure
    return ax


def plot_champion_challenger(result: ChampionChallenger, ax: Axes | None = None) -> Axes:
    """Log-loss gain and AUC difference (new − current) with their intervals and thresholds.

    Parameters
    ----------
    result : ChampionChallenger
    ax : matplotlib Axes, optional

    Returns
    -------
    Axes
    """
    ax = ensure_axes(ax, size=(6.0, 2.6))
    figures = [("log-loss gain", result.log_loss_gain, result.min_gain),
               ("AUC difference", result.auc_diff, -result.max_auc_loss)]
    for i, (label, (v, lo, hi), threshold) in enumerate(figures):
        color = "#16a34a" if lo > threshold else "#dc2626"
        ax.errorbar([v], [i], xerr=error_lengths([v], [lo], [hi]), fmt="o", color=color, capsize=4)
        ax.plot([threshold, threshold], [i - 0.3, i + 0.3], color="#111111", linestyle=":", linewidth=1,
                label="decision threshold" if i == 0 else None)
    ax.axvline(0, color="#94a3b8", linewidth=0.8)
    ax.set_yticks(range(len(figures)), [f[0] for f in figures])
    ax.set_ylim(-0.6, len(figures) - 0.4)
    ax.legend(fontsize=8, loc="best")
    ax.set_xlabel("new minus current (positive favours the new weights)")
    ax.set_ylabel("figure")
    ax.set_title(f"Champion/challenger: {result.decision}")
    return ax
