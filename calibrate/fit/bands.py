"""Optional tuning of the band cut-points (the default keeps the configured bands).

:func:`tune_bands` searches every set of interior cut-points on a grid (``step`` score points) and
keeps, among the cuts that satisfy

* every band holds at least ``min_share`` of the rows,
* the bands at or below the red band together hold at most ``max_red_share`` of the rows (the
  seeds' guideline: a CS team can work under 10 % of the book as red/critical),
* renewal rates strictly increase from each band to the next (``monotone=True``),

the one that separates renewals best: the largest likelihood-ratio statistic G² of the band ×
outcome table (the deviance explained by the bands; :func:`band_separation`). It returns new
:class:`~calibrate.config.model.Band` lists with the names, colours and codes of the configured bands.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from calibrate._params import Interval, Options, check_params, validate_params
from calibrate.config.model import Band
from calibrate.errors import FitError

__all__ = ["tune_bands", "band_separation", "MAX_CANDIDATES"]

MAX_CANDIDATES = 5_000_000
"""Most cut-point sets searched at once; use a larger ``step`` beyond it."""


def _g2(n: np.ndarray, k: np.ndarray) -> np.ndarray:
    """G² of (bands × outcome) tables given band sizes ``n`` and renewals ``k`` along the last axis."""
    total_n = n.sum(axis=-1, keepdims=True)
    total_k = k.sum(axis=-1, keepdims=True)
    p0 = total_k / total_n

    def term(obs: np.ndarray, exp: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(obs > 0, obs * np.log(obs / exp), 0.0)

    return 2 * (term(k, n * p0) + term(n - k, n * (1 - p0))).sum(axis=-1)


def band_separation(score: np.ndarray, renewed: np.ndarray, bands: Sequence[Band]) -> float:
    """Likelihood-ratio statistic G² of the band × renewed table (higher separates better)."""
    idx = np.searchsorted([b.min for b in bands[1:]], np.asarray(score, dtype=float), side="right")
    y = np.asarray(renewed, dtype=float)
    n = np.bincount(idx, minlength=len(bands)).astype(float)
    k = np.bincount(idx, weights=y, minlength=len(bands))
    return float(_g2(n, k))


@validate_params({"min_share": [Interval(float, 0, 1)], "max_red_share": [Interval(float, 0, 1)],
                  "step": [Interval(float, 0, 100, closed="right")]})
def tune_bands(
    score: np.ndarray,
    renewed: np.ndarray,
    bands: Sequence[Band],
    *,
    red_band: str = "red",
    min_share: float = 0.02,
    max_red_share: float = 0.10,
    monotone: bool = True,
    step: float = 1.0,
) -> list[Band]:
    """Cut-points that best separate renewals under share and monotonicity constraints.

    Parameters
    ----------
    score : array of float
        Scores on 0–100 (of the training rows).
    renewed : array of 0/1
    bands : sequence of Band
        The configured bands (lowest first): their names, colours and codes are kept.
    red_band : str, default "red"
        The bands up to and including this one count against ``max_red_share``.
    min_share : float, default 0.02
        (with two bands at or below red and ``max_red_share`` 0.10, each can hold 2–8 %)
    max_red_share : float, default 0.10
    monotone : bool, default True
        Require strictly increasing renewal rates from band to band.
    step : float, default 1.0
        Grid of candidate cut-points (score points); must divide 100.

    Returns
    -------
    list of Band
        Same names, colours and codes, new ``min``/``max``.

    Raises
    ------
    FitError
        No cut-points satisfy the constraints (the message says which to relax), or the grid is too large.
    ParameterError
        ``red_band`` is not one of the bands, or a share or the step is out of range.
    """
    score = np.asarray(score, dtype=float)
    y = np.asarray(renewed, dtype=float)
    names = [b.name for b in bands]
    check_params("tune_bands", {"red_band": red_band}, {"red_band": [Options(*names)]})
    grid = np.arange(step, 100.0, step)
    n_cuts = len(bands) - 1
    cell = np.searchsorted(grid, np.round(score, 9), side="right")  # cell j holds [grid[j-1], grid[j])
    n_cell = np.bincount(cell, minlength=len(grid) + 1).astype(float)
    k_cell = np.bincount(cell, weights=y, minlength=len(grid) + 1)
    cum_n = np.concatenate(([0.0], np.cumsum(n_cell)))
    cum_k = np.concatenate(([0.0], np.cumsum(k_cell)))
    from math import comb

    if comb(len(grid), n_cuts) > MAX_CANDIDATES:
        raise FitError(f"{comb(len(grid), n_cuts):,} cut-point sets to search; use a larger step (now {step:g})")
    cuts = np.array(list(itertools.combinations(range(1, len(grid) + 1), n_cuts)), dtype=np.intp)
    edges = np.concatenate([np.zeros((len(cuts), 1), np.intp), cuts, np.full((len(cuts), 1), len(grid) + 1)], axis=1)
    n = np.diff(cum_n[edges], axis=1)
    k = np.diff(cum_k[edges], axis=1)
    total = len(score)
    red = names.index(red_band)
    ok = (n / total >= min_share).all(axis=1)
    ok &= n[:, : red + 1].sum(axis=1) / total <= max_red_share + 1e-12
    if monotone:
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = k / n
        ok &= (np.diff(rate, axis=1) > 0).all(axis=1)
    if not ok.any():
        raise FitError(
            f"no cut-points give every band >= {min_share:.0%} of rows, at most {max_red_share:.0%} at or below "
            f"{red_band!r}{' and rising renewal rates' if monotone else ''}; relax min_share or max_red_share"
        )
    g2 = np.where(ok, _g2(n, k), -np.inf)
    best = cuts[int(np.argmax(g2))]
    points = [0.0] + [float(grid[j - 1]) for j in best] + [100.0]
    return [b.model_copy(update={"min": lo, "max": hi}) for b, lo, hi in zip(bands, points, points[1:])]
