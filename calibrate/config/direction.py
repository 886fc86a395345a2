"""A dimension's direction and the one function that turns a sub-score the healthy way round.

A sub-score is either higher-is-healthier (adoption, NPS) or lower-is-healthier (open tickets,
complaints). Everything downstream of the config — the scorer, the fits, the estimator, the raw
transforms, drift — works on *healthy* values, where higher is always healthier: an inverted
dimension counts as ``100 − s`` (on the 0–100 scale; ``1 − s`` on 0–1). :func:`healthy` is that
rule; the SQL export (:func:`calibrate.publish.export.export_sql`) writes the same rule in SQL
(``(100 - s)`` for an inverted dimension), and tests/test_export.py checks the two agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

__all__ = ["HIGHER", "LOWER", "DIRECTIONS", "Direction", "healthy", "inverted", "opposite"]

HIGHER = "higher_is_healthier"
LOWER = "lower_is_healthier"
DIRECTIONS: tuple[str, str] = (HIGHER, LOWER)
Direction = Literal["higher_is_healthier", "lower_is_healthier"]


def inverted(directions: str | Sequence[str]) -> np.ndarray:
    """Which of ``directions`` count the other way round (``lower_is_healthier``), as a bool array."""
    return np.asarray(directions, dtype=object) == LOWER


def opposite(direction: str) -> str:
    """The other direction (a fit that finds a dimension pointing the wrong way turns it round)."""
    return HIGHER if direction == LOWER else LOWER


def healthy(
    values: np.ndarray, directions: str | Sequence[str], *, top: float = 100.0, inplace: bool = False
) -> np.ndarray:
    """Sub-scores the healthy way round: ``s`` where higher is healthier, ``top − s`` where lower is.

    Parameters
    ----------
    values : ndarray of shape (n, k), or (n,) with a single direction
        Sub-scores on ``0..top``, one column per entry of ``directions``; NaN stays NaN.
    directions : str or sequence of str
        ``"higher_is_healthier"`` / ``"lower_is_healthier"``: one per column, or one for a 1-D array.
    top : float, default 100.0
        The top of the scale: 100 for sub-scores in points, 1 for sub-scores divided by 100.
    inplace : bool, default False
        Flip the inverted columns of ``values`` (a float array) in place and return it.

    Returns
    -------
    ndarray
        A new array when a column is flipped (or ``values`` itself with ``inplace=True``);
        ``values`` unchanged, without a copy, when nothing is inverted.

    Notes
    -----
    The SQL export renders the same rule as ``(100 - s)``; a change here is a change there.

    Examples
    --------
    >>> healthy(np.array([[20.0, 30.0]]), ["higher_is_healthier", "lower_is_healthier"])
    array([[20., 70.]])
    """
    flip = inverted(directions)
    if flip.ndim == 0:
        if not flip:
            return values
        return np.subtract(top, values, out=values) if inplace else top - values
    if not flip.any():
        return values
    if not inplace:
        return np.where(flip, top - values, values)
    for j in np.flatnonzero(flip):  # one column at a time: no n × k temporary
        values[:, j] = top - values[:, j]
    return values
