"""Plots of band validation: renewal rates, score distributions, weights, migration, calibration, ROC, gains, checks, trends."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from calibrate.plots._base import _PALETTE, ensure_axes, error_lengths, _unit_square

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from calibrate.config.model import WeightConfig
    from calibrate.validation.separation import Validation

__all__ = ["plot_band_rates", "plot_score_distribution", "plot_weights", "plot_band_migration", "plot_reliability", "plot_gains", "plot_checks", "plot_roc", "plot_reliability_curves", "plot_validation_trend", "plot_renewal_by_bins"]


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
    ax = ensure_axes(ax)
    bands = [b for b in validation.bands if b.renewal_rate is not None]
    x = np.arange(len(bands))
    rates = np.array([b.renewal_rate for b in bands])
    err = error_lengths(rates, [b.ci_low for b in bands], [b.ci_high for b in bands])
    ax.bar(x, rates, color=[b.color for b in bands], edgecolor="#333333", linewidth=0.5)
    ax.errorbar(x, rates, yerr=err, fmt="none", ecolor="#111111", capsize=4, linewidth=1)
    for xi, b, top in zip(x, bands, rates + err[1]):  # above the interval, never over it
        ax.annotate(f"{b.renewal_rate:.0%}\nn={b.n:,}", (xi, top + 0.02), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [b.name for b in bands])
    ax.set_ylim(0, 1.2)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_xlabel("band (n = snapshots)")
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
    ax = ensure_axes(ax)
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
    ax = ensure_axes(ax)
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
            ax.errorbar(pos, vals, yerr=error_lengths(vals, lo, hi), fmt="none", ecolor="#111111", capsize=3)
    crowded = len(dims) * max((len(d) for d in dims), default=0) > 70  # the names would overlap side by side
    ax.set_xticks(x, dims, rotation=45 if crowded else 0, ha="right" if crowded else "center",
                  rotation_mode="anchor", fontsize=8 if crowded else None)
    ax.set_xlabel("dimension")
    ax.set_ylabel("weight")
    ax.set_title("Dimension weights")
    ax.legend(fontsize=8, loc="best")
    return ax


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
    ax = ensure_axes(ax, size=(5.2, 4.2))
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


def plot_reliability(validation: Validation, ax: Axes | None = None) -> Axes:
    """Reliability curve: observed renewal rate against the mean predicted probability per bin.

    Parameters
    ----------
    validation : Validation
        With a calibrated probability (``validation.reliability`` not ``None``).
    ax : matplotlib Axes, optional

    Returns
    -------
    Axes
    """
    ax = _unit_square(ensure_axes(ax, (4.2, 4.0)), "perfect", x="predicted renewal probability",
                      y="observed renewal rate", title="Reliability")
    curve = validation.reliability
    if curve is not None:
        ax.plot(curve["mean_pred"], curve["frac_pos"], marker="o", color="#1f77b4",
                label=f"ECE {validation.ece:.3f}, slope {validation.cal_slope:.2f}")
    ax.legend(loc="upper left", fontsize=8)
    return ax


def plot_gains(validation: Validation, ax: Axes | None = None) -> Axes:
    """Cumulative gains of churn by score decile (riskiest first) against random targeting.

    Takes a :class:`~calibrate.validation.separation.Validation` (its ``lift`` table) and an optional Axes to
    draw on; returns the Axes.
    """
    ax = _unit_square(ensure_axes(ax, (4.2, 4.0)), "random", x="share of accounts, lowest score first",
                      y="share of churn captured", title="Churn gains")
    lift = validation.lift
    if lift is not None:
        share = np.concatenate([[0.0], lift["cum_count"] / lift["cum_count"].iloc[-1]])
        ax.plot(share, np.concatenate([[0.0], lift["gain"]]), marker="o", color="#d62728",
                label=f"score (AUC {validation.auc:.2f})")
    ax.legend(loc="lower right", fontsize=8)
    return ax


def plot_checks(result: object, ax: Axes | None = None) -> Axes:
    """Each gate check as a bar coloured by its status, labelled with value and threshold.

    Parameters
    ----------
    result : GateResult
    ax : matplotlib Axes, optional

    Returns
    -------
    Axes
    """
    ax = ensure_axes(ax)
    colours = {"pass": "#22c55e", "fail": "#ef4444", "inconclusive": "#eab308", "warn": "#f97316"}
    checks = list(result.checks)  # type: ignore[attr-defined]
    y = np.arange(len(checks))
    ax.barh(y, [1] * len(checks), color=[colours[c.status] for c in checks])
    for yi, c in zip(y, checks):
        ax.annotate(f"{c.status}: value {c.value if c.value is None else format(c.value, '.3g')}, "
                    f"threshold {c.threshold}", (0.02, yi), va="center", fontsize=8)
    ax.set_yticks(y, [c.name for c in checks])
    ax.set_xticks([])
    ax.invert_yaxis()
    ax.set_title("calibrate check")
    return ax


def plot_roc(scores: Mapping[str, tuple[np.ndarray, np.ndarray]], ax: Axes | None = None) -> Axes:
    """ROC curves of renewal against one or more scores, each labelled with its AUC.

    Parameters
    ----------
    scores : mapping of label → (renewed 0/1, score)
        Higher score = more likely to renew.
    ax : matplotlib Axes, optional

    Returns
    -------
    Axes
    """
    from sklearn.metrics import roc_curve

    from calibrate._stats import auc

    ax = _unit_square(ensure_axes(ax, (4.6, 4.2)), "chance (AUC 0.5)", title="ROC: score vs renewal",
                      x="false renewal rate (churned accounts scored above the cut)", y="true renewal rate")
    for i, (label, (y, s)) in enumerate(scores.items()):
        fpr, tpr, _ = roc_curve(np.asarray(y, dtype=int), np.asarray(s, dtype=float))
        ax.plot(fpr, tpr, color=_PALETTE[(i + 1) % len(_PALETTE)], linewidth=1.5,
                label=f"{label} (AUC {auc(y, s):.3f})")
    ax.legend(fontsize=8, loc="lower right")
    return ax


def plot_reliability_curves(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    ax: Axes | None = None,
    *,
    n_bins: int = 10,
) -> Axes:
    """Reliability diagram: observed renewal rate against the predicted probability, per equal-frequency bin.

    Parameters
    ----------
    curves : mapping of label → (renewed 0/1, predicted probability)
        One line per label (e.g. the new config's calibrated ``p_renew``, the current one's).
    ax : matplotlib Axes, optional
    n_bins : int, default 10
        Equal-frequency bins of the prediction (:func:`calibrate._stats.reliability_curve`).

    Returns
    -------
    Axes
    """
    from calibrate._stats import expected_calibration_error, reliability_curve

    ax = _unit_square(ensure_axes(ax, (4.6, 4.2)), "perfect calibration", x="predicted renewal probability",
                      y="observed renewal rate", title=f"Reliability ({n_bins} equal-count bins)")
    for i, (label, (y, p)) in enumerate(curves.items()):
        curve = reliability_curve(y, p, n_bins=n_bins)
        ece = expected_calibration_error(y, p, n_bins=n_bins)
        ax.plot(curve.mean_pred, curve.frac_pos, marker="o", markersize=4, color=_PALETTE[(i + 1) % len(_PALETTE)],
                label=f"{label} (ECE {ece:.3f})")
    ax.legend(fontsize=8, loc="upper left")
    return ax


def plot_validation_trend(validations: Mapping[str, Validation], ax: Axes | None = None) -> Axes:
    """Spread (with its bootstrap interval, left axis) and AUC (with its DeLong interval, right axis) per period.

    Parameters
    ----------
    validations : mapping of period label → Validation
        In time order, e.g. one :func:`calibrate.validation.separation` per quarter.
    ax : matplotlib Axes, optional

    Returns
    -------
    Axes
        The spread axis; the AUC axis is its twin (``ax.right_ax``).
    """
    ax = ensure_axes(ax, size=(7.0, 3.6))
    labels = list(validations)
    x = np.arange(len(labels))
    vals = list(validations.values())
    spread = np.array([v.spread for v in vals])
    lo, hi = np.array([v.spread_ci[0] for v in vals]), np.array([v.spread_ci[1] for v in vals])
    ax.fill_between(x, lo, hi, color="#2563eb", alpha=0.15, linewidth=0)
    ax.plot(x, spread, marker="o", color="#2563eb", label="spread (top − red band)")
    ax.axhline(0, color="#94a3b8", linewidth=0.8)
    ax.set_ylabel("spread (top − red renewal rate)", color="#2563eb")
    from matplotlib.ticker import PercentFormatter

    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    right = ax.twinx()
    a = np.array([v.auc for v in vals])
    a_err = error_lengths(a, [v.auc_ci[0] for v in vals], [v.auc_ci[1] for v in vals])
    right.errorbar(x, a, yerr=a_err, marker="s", color="#9333ea", capsize=3, label="AUC")
    right.set_ylabel("AUC", color="#9333ea")
    right.set_ylim(0.5, 1.0)
    ax.right_ax = right  # type: ignore[attr-defined]
    ax.set_xticks(x, labels, rotation=30, ha="right")
    ax.set_xlabel("snapshot period")
    ax.set_title("Does the score still separate renewals, period by period?")
    handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    # below the plot area (the figure's layout makes room), so it never covers a point
    ax.legend(handles, [h.get_label() for h in handles], fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.3),
              ncol=len(handles), frameon=False)
    return ax


def plot_renewal_by_bins(
    values: np.ndarray, renewed: np.ndarray, ax: Axes | None = None, *, bins: int | np.ndarray = 10, label: str = ""
) -> Axes:
    """Renewal rate (with 95 % Wilson intervals) per bin of one variable: how a dimension relates to renewal.

    Parameters
    ----------
    values : array of float
        E.g. one 0–100 sub-score.
    renewed : array of 0/1
    ax : matplotlib Axes, optional
    bins : int or array, default 10
        Number of equal-width bins on 0–100, or the bin edges.
    label : str
        Name of the variable (x-axis label).

    Returns
    -------
    Axes
    """
    from calibrate._stats import wilson_interval

    ax = ensure_axes(ax, size=(4.6, 3.4))
    values = np.asarray(values, dtype=float)
    renewed = np.asarray(renewed, dtype=int)
    edges = np.linspace(0, 100, bins + 1) if isinstance(bins, int) else np.asarray(bins, dtype=float)
    idx = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
    n = np.bincount(idx, minlength=len(edges) - 1)
    k = np.bincount(idx, weights=renewed, minlength=len(edges) - 1)
    keep = n > 0
    mid = ((edges[:-1] + edges[1:]) / 2)[keep]
    rate = k[keep] / n[keep]
    lo, hi = wilson_interval(k[keep], n[keep])
    ax.errorbar(mid, rate, yerr=error_lengths(rate, lo, hi), marker="o", color="#2563eb", capsize=3, linewidth=1.2)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(label or "value")
    ax.set_ylabel("renewal rate")
    ax.set_title(f"Renewal by {label}" if label else "Renewal by bin")
    return ax
