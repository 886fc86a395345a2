"""Plots, one module per stage (bands, comparison, systems, drift, learned). Each function draws on the ``ax`` it is given (or a new one) and returns the Axes.

Nothing here calls ``show()`` or ``savefig()``; matplotlib is imported inside the functions so
that importing calibrate stays cheap. :func:`figure_png` turns an Axes' figure into PNG bytes
with fixed metadata, so the same figure gives the same bytes.
"""

from calibrate.plots._base import ensure_axes, figure_png, new_axes
from calibrate.plots.bands import (
    plot_band_rates,
    plot_score_distribution,
    plot_weights,
    plot_band_migration,
    plot_reliability,
    plot_gains,
    plot_checks,
    plot_roc,
    plot_reliability_curves,
    plot_validation_trend,
    plot_renewal_by_bins,
)
from calibrate.plots.comparison import (
    plot_odds_ratios,
    plot_leaderboard,
    plot_champion_challenger,
)
from calibrate.plots.systems import (
    plot_threshold_effects,
    plot_contribution_changes,
    plot_directions,
)
from calibrate.plots.drift import (
    plot_drift_psi,
    plot_drift_trend,
)
from calibrate.plots.learned import plot_points

__all__ = [
    "ensure_axes",
    "figure_png",
    "new_axes",
    "plot_band_rates",
    "plot_score_distribution",
    "plot_weights",
    "plot_band_migration",
    "plot_reliability",
    "plot_gains",
    "plot_checks",
    "plot_roc",
    "plot_reliability_curves",
    "plot_validation_trend",
    "plot_renewal_by_bins",
    "plot_odds_ratios",
    "plot_leaderboard",
    "plot_champion_challenger",
    "plot_threshold_effects",
    "plot_contribution_changes",
    "plot_directions",
    "plot_drift_psi",
    "plot_drift_trend",
    "plot_points",
]
