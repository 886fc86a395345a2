"""Plots of the other scoring systems: rule thresholds, contribution changes, signal directions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from calibrate.plots._base import ensure_axes, error_lengths, _signed_barh

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["plot_threshold_effects", "plot_contribution_changes", "plot_directions"]


def plot_threshold_effects(table: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Each tuned threshold's out-of-time effect on the spread (``TreeTuning.thresholds``); returns the Axes."""
    labels = [f"{r.threshold} {r.signal} {r.op} {r.seed_value:g}→{r.tuned_value:g}" for r in table.itertuples()]
    return _signed_barh(ensure_axes(ax), labels, table["effect"].to_numpy(dtype=float) * 100,
                        "test spread change, points (this threshold tuned alone)")


def plot_contribution_changes(signals: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Change in score points per signal between two snapshots (``Explanation.signals``); returns the Axes."""
    labels = [f"{r.branch}/{r.signal}" for r in signals.itertuples()]
    ax = _signed_barh(ensure_axes(ax), labels, signals["change"].to_numpy(dtype=float), "change in score points")
    ax.invert_yaxis()
    return ax


def plot_directions(table: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """AUC of each signal for renewal with its interval (``DirectionReport.table``); wrong-way signals in red."""
    ax = ensure_axes(ax)
    y = np.arange(len(table))
    auc = table["auc"].to_numpy(dtype=float)
    err = error_lengths(auc, table["ci_low"].to_numpy(dtype=float), table["ci_high"].to_numpy(dtype=float))
    colors = {"wrong way": "#ef4444", "no evidence": "#94a3b8", "agrees": "#22c55e"}
    for i, r in enumerate(table.itertuples()):
        ax.errorbar(auc[i], y[i], xerr=err[:, i:i + 1], fmt="o", color=colors.get(r.status, "#333333"), capsize=3)
    ax.set_yticks(y, table["signal"].tolist(), fontsize=7)
    ax.axvline(0.5, color="#333333", linewidth=0.8, linestyle="--")
    ax.set_xlabel("AUC of the raw value for renewal (> 0.5: higher is healthier)")
    return ax
