"""Plots. Each function draws on the ``ax`` it is given (or a new one) and returns the Axes.

Nothing here calls ``show()`` or ``savefig()``; matplotlib is imported inside the functions so
that importing calibrate stays cheap. :func:`figure_png` turns an Axes' figure into PNG bytes
with fixed metadata, so the same figure gives the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from calibrate.config import WeightConfig
    from calibrate.drift import DriftReport
    from calibrate.validate import Validation

__all__ = [
    "plot_band_rates", "plot_score_distribution", "plot_weights", "plot_band_migration", "plot_drift_psi",
    "plot_drift_trend", "figure_png", "new_axes",
]


def _axes(ax: Axes | None, size: tuple[float, float] = (6.0, 3.6)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt  # a pyplot figure, so Jupyter shows it

    return plt.subplots(figsize=size, layout="constrained")[1]


def new_axes(size: tuple[float, float] = (6.0, 3.6)) -> Axes:
    """A fresh Axes on a figure that pyplot does not track (for reports and batch jobs)."""
    from matplotlib.figure import Figure

    return Figure(figsize=size, dpi=100, layout="constrained").add_subplot()


def plot_band_rates(validation: Validation, ax: Axes | None = None) -> Axes:
    """Renewal rate per band with its 95 % interval, in the band colours (lowest band left).

    Parameters
    ----------
    validation : Validation
    ax : matplotlib Axes, optional

    Returns
    -------
    Axes
    """
    ax = _axes(ax)
    bands = [b for b in validation.bands if b.renewal_rate is not None]
    x = np.arange(len(bands))
    rates = np.array([b.renewal_rate for b in bands])
    err = np.array([[r - b.ci_low for r, b in zip(rates, bands)], [b.ci_high - r for r, b in zip(rates, bands)]])
    ax.bar(x, rates, color=[b.color for b in bands], edgecolor="#333333", linewidth=0.5)
    ax.errorbar(x, rates, yerr=err, fmt="none", ecolor="#111111", capsize=4, linewidth=1)
    for xi, b in zip(x, bands):
        ax.annotate(f"{b.renewal_rate:.0%}\nn={b.n:,}", (xi, 0.02), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [b.name for b in bands])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("renewal rate")
    ax.set_title(f"Renewal rate by band (spread {validation.spread:+.0%})")
    return ax


def plot_score_distribution(
    score: np.ndarray, renewed: np.ndarray, config: WeightConfig, ax: Axes | None = None
) -> Axes:
    """Histograms of the score for renewed and churned accounts, over the band colours.

    Parameters
    ----------
    score : array of float
    renewed : array of 0/1
    config : WeightConfig
        Supplies the band edges and colours.
    ax : matplotlib Axes, optional

    Returns
    -------
    Axes
    """
    ax = _axes(ax)
    score = np.asarray(score, dtype=float)
    renewed = np.asarray(renewed, dtype=int)
    for band in config.bands:
        ax.axvspan(band.min, band.max, color=band.color, alpha=0.12, linewidth=0)
    bins = np.linspace(0, 100, 41)
    ax.hist(score[renewed == 1], bins=bins, density=True, histtype="stepfilled", alpha=0.55,
            color="#2563eb", label=f"renewed (n={int((renewed == 1).sum()):,})")
    ax.hist(score[renewed == 0], bins=bins, density=True, histtype="stepfilled", alpha=0.55,
            color="#dc2626", label=f"churned (n={int((renewed == 0).sum()):,})")
    ax.set_xlim(0, 100)
    ax.set_xlabel("health score")
    ax.set_ylabel("density")
    ax.set_title("Score by outcome")
    ax.legend(fontsize=8, loc="upper left")
    return ax


def plot_weights(
    weights: Mapping[str, Mapping[str, float]],
    ax: Axes | None = None,
    *,
    intervals: Mapping[str, Mapping[str, tuple[float, float]]] | None = None,
) -> Axes:
    """Grouped bars of one or more weight sets (e.g. current vs fitted), with optional intervals.

    Parameters
    ----------
    weights : mapping of label → (dimension → weight)
    ax : matplotlib Axes, optional
    intervals : mapping of label → (dimension → (low, high)), optional

    Returns
    -------
    Axes
    """
    ax = _axes(ax)
    labels = list(weights)
    dims = list(next(iter(weights.values())))
    width = 0.8 / max(len(labels), 1)
    x = np.arange(len(dims))
    palette = ["#94a3b8", "#2563eb", "#16a34a", "#9333ea"]
    for i, label in enumerate(labels):
        vals = np.array([weights[label].get(d, 0.0) for d in dims])
        pos = x - 0.4 + width * (i + 0.5)
        ax.bar(pos, vals, width=width, label=label, color=palette[i % len(palette)])
        if intervals and label in intervals:
            lo = np.array([intervals[label][d][0] for d in dims])
            hi = np.array([intervals[label][d][1] for d in dims])
            ax.errorbar(pos, vals, yerr=[vals - lo, hi - vals], fmt="none", ecolor="#111111", capsize=3)
    ax.set_xticks(x, dims)
    ax.set_ylabel("weight")
    ax.set_title("Dimension weights")
    ax.legend(fontsize=8)
    return ax


def figure_png(ax: Axes, *, dpi: int = 100) -> bytes:
    """PNG bytes of the figure holding ``ax`` (metadata fixed, so identical figures give identical bytes)."""
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def plot_band_migration(matrix: pd.DataFrame, ax: Axes | None = None, *, value: str = "accounts") -> Axes:
    """Heatmap of a band migration matrix (rows: old band, columns: new band), each cell annotated.

    Parameters
    ----------
    matrix : DataFrame
        Counts or ARR, old bands as the index (lowest first), new bands as the columns.
    ax : matplotlib Axes, optional
    value : str, default "accounts"
        What the cells hold (colour-bar label and title).

    Returns
    -------
    Axes
    """
    ax = _axes(ax, size=(5.2, 4.2))
    data = matrix.to_numpy(dtype=float)
    image = ax.imshow(data, cmap="Blues", aspect="auto")
    ax.figure.colorbar(image, ax=ax, label=value)
    top = data.max() if data.size else 0.0
    for (i, j), x in np.ndenumerate(data):
        ax.annotate(f"{x:,.0f}", (j, i), ha="center", va="center", fontsize=8,
                    color="white" if top and x > 0.6 * top else "#111111", fontweight="bold" if i == j else None)
    ax.set_xticks(range(data.shape[1]), [str(c) for c in matrix.columns])
    ax.set_yticks(range(data.shape[0]), [str(r) for r in matrix.index])
    ax.set_xlabel(f"new band ({matrix.columns.name or 'new'})")
    ax.set_ylabel(f"old band ({matrix.index.name or 'old'})")
    ax.set_title(f"Band migration ({value})")
    return ax


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
    ax = _axes(ax)
    pop = report.population
    x = np.arange(len(pop))
    colors = ["#dc2626" if v > r else "#eab308" if v > w else "#16a34a"
              for v, w, r in zip(pop["psi"], pop["threshold_watch"], pop["threshold_recalibrate"])]
    ax.bar(x, pop["psi"], color=colors, edgecolor="#333333", linewidth=0.5)
    ax.scatter(x, pop["threshold_watch"], marker="_", s=300, color="#a16207", label="watch threshold", zorder=3)
    ax.scatter(x, pop["threshold_recalibrate"], marker="_", s=300, color="#991b1b", label="recalibrate threshold",
               zorder=3)
    ax.set_xticks(x, list(pop["name"]), rotation=30 if len(pop) > 6 else 0)
    ax.set_ylabel("PSI / CSI")
    ax.set_title(f"Population drift (verdict: {report.verdict})")
    ax.legend(fontsize=8)
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
    ax = _axes(ax)
    per = report.periods
    x = np.arange(len(per))
    known = per["known"].to_numpy(dtype=bool) if len(per) else np.zeros(0, dtype=bool)
    if known.any():
        k = per[known]
        ax.errorbar(x[known], k["auc"], yerr=[k["auc"] - k["auc_ci_low"], k["auc_ci_high"] - k["auc"]],
                    fmt="o-", color="#2563eb", capsize=3, label="AUC")
        ax.errorbar(x[known], k["spread"], yerr=[k["spread"] - k["spread_ci_low"], k["spread_ci_high"] - k["spread"]],
                    fmt="s-", color="#16a34a", capsize=3, label="spread")
    if len(per):
        ax.plot(x, per["expected_auc"], "--", color="#64748b", label="expected AUC (label-free)")
        ax.set_xticks(x, list(per["period"]), rotation=30)
    ax.set_ylim(0, 1)
    ax.set_title("Performance per period")
    ax.legend(fontsize=8, loc="lower left")
    return ax
