"""A learned (``binned``) transform laid out for a CS leader: bin names, the points table with each bin's renewal rate
and its Wilson interval (:func:`points_table`), and its text (:func:`points_text`, ``calibrate explain --points``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from calibrate.config.model import Transform
from calibrate.data.transforms import apply_transform

__all__ = ["bin_labels", "points_table", "points_text"]


def bin_labels(transform: Transform, *, decimals: int = 6) -> list[str]:
    """Readable bin names: ``< 4``, ``[4, 7)``, ``>= 7``; the category labels of each points level; ``missing``."""
    if transform.categories is not None:
        names = [", ".join(k for k, v in transform.categories.items() if v == p) for p in transform.values]
    else:
        fmt = lambda v: f"{round(v, decimals):g}"  # noqa: E731
        cuts = transform.knots
        if not cuts:
            names = ["all values"]
        else:
            names = [f"< {fmt(cuts[0])}"] + [f"[{fmt(a)}, {fmt(b)})" for a, b in zip(cuts, cuts[1:])] + \
                    [f">= {fmt(cuts[-1])}"]
    return names + (["missing"] if transform.missing is not None else [])


def points_table(transform: Transform, raw: np.ndarray | pd.Series | None = None,
                 renewed: np.ndarray | pd.Series | None = None) -> pd.DataFrame:
    """One row per bin: its name, points, accounts, renewal rate and 95 % Wilson interval.

    The counts are the training counts stored with the transform, or, given ``raw`` and ``renewed``, those of that
    data (each row put in its bin by :func:`~calibrate.data.transforms.apply_transform`).
    """
    from calibrate._stats import wilson_interval

    labels = bin_labels(transform)
    points = list(transform.values) + ([transform.missing] if transform.missing is not None else [])
    if raw is not None and renewed is not None:
        sub = apply_transform(np.asarray(raw, dtype=object if transform.categories is not None else float), transform)
        y = np.asarray(renewed, dtype=float)
        n = [int(np.sum((sub == p) & ~np.isnan(y))) for p in points]
        r = [int(np.sum((sub == p) & (y == 1))) for p in points]
    else:
        stored = transform.bins or {}
        n, r = list(stored.get("n", [0] * len(points))), list(stored.get("renewed", [0] * len(points)))
    rows = []
    for name, p, nn, rr in zip(labels, points, n, r):
        lo, hi = map(float, wilson_interval(rr, nn)) if nn else (float("nan"), float("nan"))
        rows.append({"bin": name, "points": p, "n": nn, "renewed": rr,
                     "renewal_rate": rr / nn if nn else float("nan"), "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def points_text(name: str, transform: Transform, *, weight: float | None = None, column: str = "",
                current: float | None = None) -> str:
    """A learned signal's points table as text (``calibrate explain``); ``current`` marks the bin scoring it."""
    table = points_table(transform)
    head = f"{name}" + (f" ({column})" if column and column != name else "") + f": {transform.shape}"
    head += f", weight {weight:.3f} (a bin adds weight x points to the score)" if weight is not None else ""
    width = max(8, *(len(b) for b in table["bin"]))
    lines = [head, f"  {'bin':<{width}}  points  accounts  renewal [95% CI]"]
    for row in table.itertuples():
        mark = "  <- this account" if current is not None and row.points == current else ""
        rate = f"{row.renewal_rate:.1%} [{row.ci_low:.1%}, {row.ci_high:.1%}]" if row.n else "n/a"
        lines.append(f"  {row.bin:<{width}}  {row.points:6.2f}  {row.n:8,}  {rate}{mark}")
    return "\n".join(lines)
