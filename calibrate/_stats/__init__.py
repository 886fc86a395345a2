"""Pure, vectorised statistical primitives (numpy / scipy; statsmodels for the proportion tests).

Everything else in :mod:`calibrate` (band validation, the CI gate, drift detection) calls these.
Inputs are array-likes; outputs are floats, arrays, small frozen dataclasses or named tuples
(which unpack like plain tuples).

Conventions
-----------
* ``y`` / ``renewed`` are 0/1 (or boolean) outcomes; ``score`` is higher-is-healthier.
* AUC is P(score of a positive > score of a negative) + ½·P(tie); it is ``nan`` (never an
  exception) when one class is absent.
* Intervals are two-sided at ``confidence``.
* Account-level (cluster) bootstrap: a resample draws ``n_groups`` accounts with replacement, i.e.
  the vector of times each account is taken is Multinomial(n_groups, 1/n_groups each); every row of
  an account inherits its account's count. Draws are exact and reproducible for a given ``seed``.
  Where few distinct account profiles exist (band × outcome cells, integer scores with one row per
  account) the same multinomial is drawn over profiles instead — same law, much cheaper, but not the
  same draws as :func:`cluster_bootstrap_counts` for that seed (see :func:`bootstrap_cell_counts`).

Modules
-------
Every public name is re-exported here; import from ``calibrate._stats``, not from the modules.

* ``intervals`` — Wilson interval, two-proportion z test, Cochran–Armitage trend test (statsmodels).
* ``ranking`` — AUC, DeLong interval and paired test, KS distance.
* ``bootstrap`` — account numbering, account-level bootstrap counts/weights, cell counts, rate spread, AUC;
  ``trend`` — the clustered trend test, and the spread with it from one draw (``_sampler``: the exact multinomial
  draws behind them).
* ``calibration`` — Brier, reliability curve, ECE, calibration slope/intercept, lift table.
* ``drift`` — PSI, quantile bins and bin counts, PSI noise quantile, Wasserstein, trend of a per-period statistic.
* ``_common`` — result types, shared input checks and ``one_blas_thread`` (BLAS held at one thread).
"""

from calibrate._stats._common import (
    AucCI,
    CalibrationFit,
    PairedAucDiff,
    ReliabilityCurve,
    SpreadCI,
    Trend,
    ZTest,
    one_blas_thread,
)
from calibrate._stats.bootstrap import (
    account_codes,
    bootstrap_auc,
    bootstrap_aucs,
    bootstrap_cell_counts,
    bootstrap_matrix_counts,
    bootstrap_spread,
    cluster_bootstrap_chunks,
    cluster_bootstrap_counts,
    cluster_bootstrap_weights,
    grouped_auc,
)
from calibrate._stats.calibration import (
    brier,
    calibration_slope_intercept,
    ece_from_curve,
    expected_calibration_error,
    lift_from_bins,
    lift_table,
    reliability_curve,
    reliability_from_sums,
)
from calibrate._stats.drift import (
    bin_counts,
    bin_proportions,
    logistic_trend,
    psi,
    psi_noise_quantile,
    quantile_edges,
    wasserstein,
)
from calibrate._stats.trend import clustered_trend, spread_and_trend, spread_and_trend_matrix
from calibrate._stats.intervals import cochran_armitage, two_proportion_test, wilson_interval
from calibrate._stats.ranking import auc, delong, delong_from_sums, delong_paired, ks_statistic

__all__ = [
    "one_blas_thread",
    "AucCI",
    "SpreadCI",
    "PairedAucDiff",
    "ZTest",
    "ReliabilityCurve",
    "CalibrationFit",
    "Trend",
    "wilson_interval",
    "auc",
    "delong",
    "delong_paired",
    "delong_from_sums",
    "cluster_bootstrap_counts",
    "cluster_bootstrap_chunks",
    "account_codes",
    "cluster_bootstrap_weights",
    "bootstrap_cell_counts",
    "bootstrap_matrix_counts",
    "spread_and_trend",
    "spread_and_trend_matrix",
    "bootstrap_spread",
    "bootstrap_auc",
    "bootstrap_aucs",
    "grouped_auc",
    "two_proportion_test",
    "cochran_armitage",
    "clustered_trend",
    "ks_statistic",
    "brier",
    "expected_calibration_error",
    "reliability_curve",
    "reliability_from_sums",
    "ece_from_curve",
    "calibration_slope_intercept",
    "psi",
    "bin_counts",
    "bin_proportions",
    "quantile_edges",
    "psi_noise_quantile",
    "wasserstein",
    "lift_table",
    "lift_from_bins",
    "logistic_trend",
]
