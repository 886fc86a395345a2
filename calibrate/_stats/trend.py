"""Cochran–Armitage trend with an account-level bootstrap variance (from rows, or from an account × cell matrix), and
the band spread with it from the same draw."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from calibrate._stats._common import SpreadCI, ZTest, _binary, _check_n_boot, _groups, _z
from calibrate._stats._sampler import _CellDesign
from calibrate._stats.bootstrap import _design_counts, spread_from_counts


# Hand-written on purpose: statsmodels' trend test assumes independent rows; an account's snapshots are not.
def clustered_trend(
    groups: ArrayLike, index: ArrayLike, renewed: ArrayLike, n_classes: int, *, n_boot: int = 2000, seed=0
) -> ZTest:
    """Cochran–Armitage trend of renewal across ordered classes, with an account-level bootstrap variance.

    The statistic is the classical ``T = Σ s_j (k_j − n_j p̄)`` (scores ``s_j = j``); its standard
    error comes from resampling accounts (:func:`bootstrap_cell_counts` on class × outcome cells),
    not from the binomial variance, so an account's correlated snapshots are not counted as
    independent evidence. ``z = T / se``, one-sided p for an increasing trend.

    Parameters
    ----------
    groups : array_like
        Account of each row.
    index : array_like of int
        Class of each row (0 = least healthy; negative rows are left out).
    renewed : array_like of 0/1
    n_classes : int
    n_boot : int, default 2000
    seed : int, SeedSequence or Generator

    Returns
    -------
    ZTest
        ``(z, pvalue)``; ``nan`` when the bootstrap variance is zero.
    """
    idx = np.asarray(index, dtype=np.int64)
    y = _binary(renewed, "renewed").astype(np.int64)
    cells = np.where(idx >= 0, 2 * idx + y, -1)
    row_group, n_groups = _groups(groups)
    design = _CellDesign(row_group, n_groups, cells.astype(np.intp), 2 * n_classes, types=True)
    return _trend(design, n_classes, n_boot=_check_n_boot(n_boot), seed=seed)


def _trend(design: _CellDesign, n_classes: int, *, n_boot: int, seed) -> ZTest:
    return _trend_from_counts(design.cell_totals(), _design_counts(design, n_boot, seed), n_classes)


def _trend_from_counts(observed: np.ndarray, boot: np.ndarray, n_classes: int) -> ZTest:
    """The trend test from the observed (2·class + renewed) counts and their resamples (n_boot × cells)."""
    from scipy.stats import norm

    scores = np.arange(n_classes, dtype=float)

    def statistic(counts: np.ndarray) -> np.ndarray:
        k = counts[..., 1::2].astype(float)
        n = k + counts[..., 0::2]
        p = k.sum(axis=-1, keepdims=True) / n.sum(axis=-1, keepdims=True)
        return ((k - n * p) * scores).sum(axis=-1)

    se = float(statistic(boot).std(ddof=1))
    if not se > 0:
        return ZTest(math.nan, math.nan)
    z = float(statistic(observed)) / se
    return ZTest(z, float(norm.sf(z)))


# ----------------------------------------------------------------------------------------------
# the spread and the trend from one draw
# ----------------------------------------------------------------------------------------------
def spread_and_trend(groups: ArrayLike, index: ArrayLike, renewed: ArrayLike, n_classes: int, *, top: int, red: int,
                     n_boot: int = 2000, seed=0, confidence: float = 0.95) -> tuple[SpreadCI, ZTest]:
    """:func:`~calibrate._stats.bootstrap_spread` of bands ``top`` − ``red`` and :func:`clustered_trend`, from one
    account-level draw: both resample the same accounts, and the spread's four cells (top/red × renewed) are cells
    of the trend's class × renewed design, so one set of resampled cell counts serves both (a validation's two
    bootstrap intervals: one design and one draw instead of two).

    Parameters
    ----------
    groups : array_like
        Account of each row.
    index : array_like of int
        Class (band) of each row, 0 = least healthy; negative rows are left out.
    renewed : array_like of 0/1
    n_classes : int
    top, red : int
        The bands whose renewal rates the spread compares.
    n_boot : int, default 2000
    seed : int, SeedSequence or Generator
    confidence : float, default 0.95
        Of the spread's percentile interval.

    Returns
    -------
    (SpreadCI, ZTest)
        The trend is :func:`clustered_trend`'s for the same seed, to the bit (the same design and draws); the spread
        is :func:`~calibrate._stats.bootstrap_spread`'s value with an interval from another draw of the same law.
    """
    idx = np.asarray(index, dtype=np.int64)
    y = _binary(renewed, "renewed").astype(np.int64)
    if y.shape != idx.shape:
        raise ValueError("index and renewed must have the same length")
    if int(top) == int(red):
        raise ValueError("top and red must be different bands")
    cells = np.where(idx >= 0, 2 * idx + y, -1)
    row_group, n_groups = _groups(groups)
    design = _CellDesign(row_group, n_groups, cells.astype(np.intp), 2 * n_classes, types=True)
    return _spread_and_trend(design, n_classes, top=top, red=red, n_boot=n_boot, seed=seed, confidence=confidence)


def spread_and_trend_matrix(account_by_cell: ArrayLike, n_classes: int, *, top: int, red: int, n_rows: int,
                            biggest: int | None = None, n_boot: int = 2000, seed=0,
                            confidence: float = 0.95) -> tuple[SpreadCI, ZTest]:
    """:func:`spread_and_trend` from the accounts × (2·class + renewed) count matrix (an engine's aggregate): the
    same draws and figures as on the rows it counts."""
    acc = sp.csr_array(account_by_cell)
    biggest = int(biggest) if biggest is not None else int(acc.sum(axis=1).max()) if acc.shape[0] else 0
    design = _CellDesign.from_matrix(acc, n_rows=int(n_rows), biggest=biggest, types=True)
    return _spread_and_trend(design, n_classes, top=top, red=red, n_boot=n_boot, seed=seed, confidence=confidence)


def _spread_and_trend(design: _CellDesign, n_classes: int, *, top: int, red: int, n_boot: int, seed,
                      confidence: float) -> tuple[SpreadCI, ZTest]:
    n_boot = _check_n_boot(n_boot)
    _z(confidence)
    observed = design.cell_totals()
    boot = _design_counts(design, n_boot, seed)
    spread = spread_from_counts(observed.astype(np.float64), lambda: boot, (2 * top, 2 * top + 1, 2 * red, 2 * red + 1),
                                n_boot=n_boot, confidence=confidence)
    return spread, _trend_from_counts(observed, boot, n_classes)
