"""The picture of a learned sub-score: raw value → points, with the renewal rate per bin and its interval."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from calibrate.plots._base import ensure_axes, error_lengths

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_points"]


def plot_points(table: pd.DataFrame, ax: Axes | None = None, *, title: str = "") -> Axes:
    """Points per bin (bars, left axis) and the renewal rate per bin with its 95 % interval (dots, right axis).

    Parameters
    ----------
    table : DataFrame
        :func:`calibrate.fit.learned.points_table`: ``bin``, ``points``, ``renewal_rate``, ``ci_low``, ``ci_high``.
    ax : Axes, optional
    title : str

    Returns
    -------
    Axes
    """
    ax = ensure_axes(ax, (6.0, 3.4))
    x = np.arange(len(table))
    ax.bar(x, table["points"], color="#93c5fd", label="points (0-100)")
    ax.set_ylim(0, 105)
    ax.set_ylabel("points")
    ax.set_xlabel("raw value (bin)")
    ax.set_xticks(x, table["bin"].tolist(), rotation=30 if len(table) > 4 else 0, ha="right" if len(table) > 4 else
                  "center", fontsize=7)
    rate = ax.twinx()
    rate.errorbar(x, table["renewal_rate"], yerr=error_lengths(table["renewal_rate"], table["ci_low"],
                                                                 table["ci_high"]),
                  fmt="o", color="#16a34a", capsize=3, label="renewal rate (95 % Wilson)")
    rate.set_ylim(0, 1.02)
    rate.set_ylabel("renewal rate")
    ax.set_title(title or "Learned points per bin")
    return ax
