"""Plots of drift: PSI per variable and the per-period trend of AUC and spread."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from calibrate.plots._base import ensure_axes, error_lengths

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from calibrate.drift.detect import DriftReport

__all__ = ["plot_drift_psi", "plot_drift_trend"]


def plot_drift_psi(report: DriftReport, ax: Axes | None = None) -> Axes:
    """PSI of the score and CSI of each dimension, with the watch / recalibrate thresholds in force.

    Parameters
    ----------
    report : DriftReport
    ax : matplotlib Axes, optional

    Returns
    -------
    Axes
    """
    ax = ensure_axes(ax)
    pop = report.population
    x = np.arange(len(pop))
    colors = ["#dc2626" if v > r else "#eab308" if v > w else "#16a34a"
              for v, w, r in zip(pop["psi"], pop["threshold_watch"], pop["threshold_recalibrate"])]
    ax.bar(x, pop["psi"], color=colors, edgecolor="#333333", linewidth=0.5)
    ax.scatter(x, pop["threshold_watch"], marker="_", s=300, color="#a16207", label="watch threshold", zorder=3)
    ax.scatter(x, pop["threshold_recalibrate"], marker="_", s=300, color="#991b1b", label="recalibrate threshold",
               zorder=3)
    ax.set_xticks(x, list(pop["name"]), rotation=30 if len(pop) > 6 else 0)
    ax.set_xlabel("variable")
    ax.set_ylabel("PSI / CSI")
    ax.set_title(f"Population drift (verdict: {report.verdict})")
    ax.legend(fontsize=8, loc="best")
    return ax


def plot_drift_trend(report: DriftReport, ax: Axes | None = None) -> Axes:
    """AUC and spread per snapshot period with their intervals; label-free expected AUC dashed.

    Parameters
    ----------
    report : DriftReport
        Its ``periods`` table is drawn: periods without known outcomes show the estimate only.
    ax : matplotlib Axes, optional
        Drawn on when given, else a new figure.

    Returns
    -------
    Axes
        The y axis runs 0–1 (AUC and spread share it).
    """
    ax = ensure_axes(ax)
    per = report.periods
    x = np.arange(len(per))
    known = per["known"].to_numpy(dtype=bool) if len(per) else np.zeros(0, dtype=bool)
    if known.any():
        k = per[known]
        ax.errorbar(x[known], k["auc"], yerr=error_lengths(k["auc"], k["auc_ci_low"], k["auc_ci_high"]),
                    fmt="o-", color="#2563eb", capsize=3, label="AUC")
        ax.errorbar(x[known], k["spread"], yerr=error_lengths(k["spread"], k["spread_ci_low"], k["spread_ci_high"]),
                    fmt="s-", color="#16a34a", capsize=3, label="spread")
    if len(per):
        ax.plot(x, per["expected_auc"], "--", color="#64748b", label="expected AUC (label-free)")
        ax.set_xticks(x, list(per["period"]), rotation=30)
    ax.set_ylim(0, 1)
    ax.set_title("Performance per period")
    ax.legend(fontsize=8, loc="lower left")
    return ax
