"""The text of a validation for the terminal: counts said as snapshots, figures for people."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from calibrate.validation.separation import Validation

__all__ = ["validation_text"]


def validation_text(val: Validation, *, classes: str = "band", red_book: bool = True) -> str:
    """The band table (counts are snapshots) and headline figures of ``val``; see :meth:`Validation.summary`."""
    from calibrate._labels import number, pct, points, pvalue

    lines = []
    if val.n_pending:
        lines.append(f"{val.n_pending:,} pending snapshots (renewal not decided"
                     f"{' by ' + val.as_of if val.as_of else ''}) left out of the outcome figures")
    lines.append(f"{classes:<10}{'snapshots':>10}{'renewed':>9}{'rate':>9}  95 % interval    share  ARR rate  ARR share")
    for b in reversed(val.bands):
        rate = "     n/a" if b.renewal_rate is None else f"{pct(b.renewal_rate):>8}"
        ci = "" if b.ci_low is None else f"{pct(b.ci_low)} – {pct(b.ci_high)}"
        arr = "" if b.arr_renewal_rate is None else f"{pct(b.arr_renewal_rate):>9}"
        arr_share = "" if b.arr_share is None else f"{pct(b.arr_share):>10}"
        lines.append(f"{b.name:<10}{b.n:>10,}{b.renewed:>9,}{rate:>9}  {ci:<17}{pct(b.share):>6}{arr:>10}{arr_share:>11}")
    lines.append(
        f"spread {val.top_band} − {val.red_band}: {points(val.spread)} "
        f"(95 % interval {points(val.spread_ci[0])} to {points(val.spread_ci[1])}; one-sided p {pvalue(val.spread_p)})   "
        f"ordered trend p {pvalue(val.trend_p)} (accounts resampled: {pvalue(val.trend_p_accounts)})   "
        f"in order: {'yes' if val.monotone else 'NO ' + str(list(val.violations))}"
    )
    lines.append(  # classes (tiers, rule outcomes) carry no probability: no calibration figures
        f"AUC {number(val.auc)} (95 % interval {number(val.auc_ci[0])}–{number(val.auc_ci[1])})  "
        f"Gini {number(val.gini)}  KS {number(val.ks)}"
        + ("" if np.isnan(val.brier) else f"   Brier {number(val.brier, digits=4)}  calibration error (ECE) "
           f"{number(val.ece, digits=4)}  calibration slope {number(val.cal_slope, digits=2)} intercept "
           f"{number(val.cal_intercept, digits=2, signed=True)}"))
    if val.red is not None and red_book:
        lines.append(val.red.summary())
    if val.csm is not None:
        lines.append(val.csm.summary())
    for g, v in val.groups:
        lines.append(f"-- {val.by} {g}: {v.n:,} snapshots, spread {points(v.spread)} "
                     f"({points(v.spread_ci[0])} to {points(v.spread_ci[1])}), AUC {number(v.auc)} "
                     f"({number(v.auc_ci[0])}–{number(v.auc_ci[1])}), in order {'yes' if v.monotone else 'NO'}")
    return "\n".join(lines)
